"""The ASGI app served by ``classmood app``: login gate, health endpoint, then Streamlit.

``streamlit run server.py`` finds ``app`` (a ``streamlit.App``) and serves it with uvicorn.
Every request except ``/health`` and the login page needs the signed session cookie: pages
redirect to ``/login``, other HTTP requests get 401 and WebSockets are closed, so nothing of
the class view (not even Streamlit's script stream) is reachable without the password.
"""

from __future__ import annotations

import asyncio
import logging
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote

import jinja2
import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

from classmood import __version__
from classmood.app import auth
from classmood.app.config import AppSettings
from classmood.app.display_capture import DisplayCaptureInjector
from classmood.logs import log_to_stderr

HERE = Path(__file__).parent
PUBLIC_PATHS = frozenset({"/health", "/login", "/logout"})
FAILED_LOGIN_DELAY_S = 1.0

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
)


def _safe_next(path: str | None) -> str:
    """Only local paths may be redirected to after login (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or path.startswith("/login"):
        return "/"
    return path


def _login_page(error: str = "", next_path: str = "/", status: int = 200) -> HTMLResponse:
    html = _templates.get_template("login.html").render(
        first_run=not auth.password_is_set(),
        min_length=auth.MIN_PASSWORD_LENGTH,
        error=error,
        next_path=_safe_next(next_path),
    )
    return HTMLResponse(html, status_code=status)


async def login_get(request: Request) -> HTMLResponse:
    return _login_page(next_path=request.query_params.get("next", "/"))


async def login_post(request: Request):
    form = await request.form()
    password = str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "/")))
    if not auth.password_is_set():
        if password != str(form.get("confirm", "")):
            return _login_page("The two passwords differ.", next_path, 400)
        try:
            auth.set_password(password)
        except auth.PasswordError as exc:
            return _login_page(str(exc), next_path, 400)
    elif not auth.check_password(password):
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)  # slows guessing
        return _login_page("Wrong password.", next_path, 401)
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


async def logout(request: Request) -> RedirectResponse:
    auth.revoke_token(request.cookies.get(auth.COOKIE_NAME))
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
            "model": settings.model,
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
        if auth.token_is_valid(_cookie(scope, auth.COOKIE_NAME)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        wants_page = scope["method"] == "GET" and b"text/html" in _header(scope, b"accept")
        if wants_page:
            target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
            response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        else:
            response = PlainTextResponse("Sign in first.", status_code=401)
        await response(scope, receive, send)


def _header(scope, name: bytes) -> bytes:
    return b",".join(v for k, v in scope.get("headers", []) if k.lower() == name)


def _cookie(scope, name: str) -> str | None:
    raw = _header(scope, b"cookie").decode("latin-1")
    if not raw:
        return None
    cookies = SimpleCookie()
    try:
        cookies.load(raw)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is just "not logged in"
        return None
    return cookies[name].value if name in cookies else None


def _log_live_classes() -> None:
    """The app's own events (a live class starting, ending, its video stalling) go to the server's
    standard error beside Streamlit's, so the person running ``classmood app`` sees them."""
    log_to_stderr("classmood.app", "%(asctime)s classmood %(levelname)s %(message)s", logging.INFO)


auth.apply_password_from_env()
_log_live_classes()

app = st.App(
    HERE / "main.py",
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
    ],
    middleware=[Middleware(LoginGate), Middleware(DisplayCaptureInjector)],
)
