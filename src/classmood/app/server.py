"""The ASGI app served by ``classmood app``: host/origin guard, security headers, login gate, then Streamlit.

``streamlit run server.py`` finds ``app`` (a ``streamlit.App``) and serves it with uvicorn.
A foreign Host or Origin is refused first (``guard``). Every request except ``/health`` and the
login page needs the signed session cookie: pages redirect to ``/login``, other HTTP requests get
401 and WebSockets are closed, so nothing of the class view (not even Streamlit's script stream) is
reachable without the password; an open WebSocket is closed when its cookie is signed out.
The first password can be chosen only from this computer, or with the one-time setup code
printed on the server's console. Password guesses are throttled (``throttle``).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl, quote

from html import escape

import anyio
import jinja2
import streamlit as st
from starlette.middleware import Middleware
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

from classmood import __version__
from classmood.app import auth, live_overlay
from classmood.templating import template_env
from classmood.app.config import AppSettings
from classmood.app.display_capture import DisplayCaptureInjector
from classmood.app.guard import BIND_ENV, HostOriginGuard, header, is_local_visit
from classmood.app.ice import bind_ice_to
from classmood.app.nodelay import NoDelay
from classmood.app.rtp_frames import hand_on_complete_frames
from classmood.app.headers import REPORT_PATH, REPORT_POLICY, SecurityHeaders
from classmood.app.sockets import SocketRegistry
from classmood.app.throttle import LoginThrottle
from classmood.errors import ClassmoodError
from classmood.logs import log_to_stderr

HERE = Path(__file__).parent
WEBRTC_LOG_ENV = "CLASSMOOD_APP_LOG_WEBRTC"  # set: log the video connection's steps (troubleshooting)
PUBLIC_PATHS = frozenset({"/health", "/login", "/logout"})
LOGIN_BODY_LIMIT = 16 * 1024
THROTTLE = LoginThrottle.from_environment()
HASHING = anyio.CapacityLimiter(max(1, (os.cpu_count() or 2) // 2))
SOCKETS = SocketRegistry()

_templates = template_env(jinja2.FileSystemLoader(HERE / "templates"))


def _safe_next(path: str | None) -> str:
    """Only local paths may be redirected to after login (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or path.startswith("/login"):
        return "/"
    return path


def _is_local(request: Request) -> bool:
    return is_local_visit(request.client.host if request.client else "", request.headers.get("host", ""))


def _login_page(request: Request, error: str = "", next_path: str = "/", status: int = 200,
                headers: dict | None = None) -> HTMLResponse:
    html = _templates.get_template("login.html").render(
        first_run=not auth.password_is_set(),
        needs_setup_code=not auth.password_is_set() and not _is_local(request),
        min_length=auth.MIN_PASSWORD_LENGTH,
        error=error,
        next_path=_safe_next(next_path),
    )
    return HTMLResponse(html, status_code=status, headers=headers)


async def login_get(request: Request) -> HTMLResponse:
    return _login_page(request, next_path=request.query_params.get("next", "/"))


async def _small_form(request: Request) -> dict[str, str] | None:
    """The login form's fields, or None when the body is larger than any login form (``LOGIN_BODY_LIMIT``)."""
    if int(request.headers.get("content-length") or 0) > LOGIN_BODY_LIMIT:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > LOGIN_BODY_LIMIT:
            return None
    return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=10))


async def login_post(request: Request):
    client = request.client.host if request.client else ""
    try:
        form = await _small_form(request)
    except ValueError:  # more fields than a login form has
        form = None
    if form is None:
        return PlainTextResponse("Request too large.", status_code=413)
    next_path = _safe_next(str(form.get("next", "/")))
    wait_s = THROTTLE.retry_after_s(client)
    if wait_s > 0:
        return _login_page(request, f"Too many attempts: wait {math.ceil(wait_s)} s, then try again.", next_path,
                           429, {"Retry-After": str(math.ceil(wait_s))})
    THROTTLE.attempt(client)
    error = await _first_password(request, form) if not auth.password_is_set() else await _check(form)
    if error:
        return _login_page(request, error[1], next_path, error[0])
    THROTTLE.succeeded(client)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        auth.COOKIE_NAME,
        auth.issue_token(),
        max_age=auth.SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def _hash_off_loop(function, *args):
    """Run an argon2 hash or check in a worker thread, a few at a time: the event loop stays free and
    parallel guessers cannot take every core (argon2 costs ~0.1 s of CPU and 64 MiB each)."""
    return await anyio.to_thread.run_sync(function, *args, limiter=HASHING)


async def _check(form) -> tuple[int, str] | None:
    """None for the right password."""
    if await _hash_off_loop(auth.check_password, str(form.get("password", ""))):
        return None
    return 401, "Wrong password."


async def _first_password(request: Request, form) -> tuple[int, str] | None:
    """Set the first password: from this computer, or with the setup code from the server's console."""
    password = str(form.get("password", ""))
    if not _is_local(request) and not auth.setup_code_matches(str(form.get("setup_code", ""))):
        return 403, ("Wrong setup code. The first password can be chosen on the computer running classmood, "
                     "or here with the setup code it printed when it started.")
    if password != str(form.get("confirm", "")):
        return 400, "The two passwords differ."
    try:
        await _hash_off_loop(auth.set_password, password)
    except auth.PasswordError as exc:
        return 400, str(exc)
    return None


async def logout(request: Request) -> RedirectResponse:
    token = _cookie(request.scope, auth.COOKIE_NAME)
    auth.revoke_token(token)
    SOCKETS.close_cookie(auth.token_id(token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE_NAME)
    return response


async def health(request: Request) -> JSONResponse:
    """Liveness for Docker and monitors: no secrets, no class data."""
    settings = AppSettings.load()
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "model": settings.analysis.model,
            "password_set": auth.password_is_set(),
        }
    )


class LoginGate:
    """ASGI middleware: lets through public paths and requests with a valid session cookie."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, auth.COOKIE_NAME)
        if auth.token_is_valid(token):
            if scope["type"] == "websocket":
                await SOCKETS.serve(self.app, scope, receive, send, auth.token_id(token),
                                    lambda: auth.token_is_valid(token))
            else:
                await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        wants_page = scope["method"] == "GET" and b"text/html" in header(scope, b"accept")
        if wants_page:
            target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
            response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        else:
            response = PlainTextResponse("Sign in first.", status_code=401)
        await response(scope, receive, send)


def _cookie(scope, name: str) -> str | None:
    """Our cookie from the Cookie header, read pair by pair: another app's odd cookie does not hide it."""
    return cookie_parser(header(scope, b"cookie").decode("latin-1")).get(name)


async def session_report(request: Request) -> HTMLResponse:
    """A session's HTML report for the frame on the History and Recorded pages, under ``REPORT_POLICY``."""
    from classmood.app.views.session_view import report_html

    name = request.query_params.get("name", "")
    try:
        html = await run_in_threadpool(report_html, name)
    except ClassmoodError as exc:
        return HTMLResponse(f"<p>{escape(exc.message)}</p>", status_code=404,
                            headers={"Content-Security-Policy": REPORT_POLICY})
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_POLICY})


def _log_live_classes() -> None:
    """The app's own events (a live class starting, ending, its video stalling) go to the server's
    standard error beside Streamlit's, so the person running ``classmood app`` sees them; with
    ``$CLASSMOOD_APP_LOG_WEBRTC`` set, so do the video connection's steps (offer, ICE candidates and
    checks, DTLS and connection states, tracks), to find out why a connection does not come up."""
    log_to_stderr("classmood.app", "%(asctime)s classmood %(levelname)s %(message)s", logging.INFO)
    if os.environ.get(WEBRTC_LOG_ENV):  # the debug records of these are lifecycle and state changes, not packets
        for name, level in (("streamlit_webrtc", logging.DEBUG), ("aioice", logging.INFO),
                            ("aiortc.rtcpeerconnection", logging.DEBUG), ("aiortc.rtcdtlstransport", logging.DEBUG)):
            log_to_stderr(name, f"%(asctime)s {name} %(levelname)s %(message)s", level)
        logging.getLogger("aiortc.rtcpeerconnection").addFilter(_first_line_only)


def _first_line_only(record: logging.LogRecord) -> bool:
    """aiortc logs each session description whole (40 lines): keep the line that names the step."""
    message = record.getMessage()
    if "\n" in message:
        record.msg, record.args = message.split("\n", 1)[0], ()
    return True


def _prepare_password() -> None:
    """Hash ``$CLASSMOOD_APP_PASSWORD`` (and forget it), or print the one-time setup code."""
    try:
        auth.apply_password_from_env()
    except auth.PasswordError as exc:
        print(f"error: {auth.PASSWORD_ENV}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not auth.password_is_set():
        print("classmood: no password yet. Choose it in a browser on this computer, or from another computer "
              f"with this one-time setup code: {auth.new_setup_code()}", file=sys.stderr, flush=True)


_prepare_password()
_log_live_classes()
bind_ice_to(os.environ.get(BIND_ENV, "127.0.0.1"))
hand_on_complete_frames()

app = st.App(
    HERE / "main.py",
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
        Route(REPORT_PATH, session_report, methods=["GET"]),
        Route(live_overlay.PATH, live_overlay.live_faces, methods=["GET"]),
    ],
    middleware=[Middleware(NoDelay), Middleware(SecurityHeaders), Middleware(HostOriginGuard), Middleware(LoginGate),
                Middleware(DisplayCaptureInjector)],
)
