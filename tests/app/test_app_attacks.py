"""The attack suite: a real ``classmood app`` on 127.0.0.1, attacked as issue 19 found it could be.

Each test is one kind of attack (``ATTACKS`` counts the individual attempts); every one must be refused.
Hostile strings are rendered in Debian's Chromium, and a payload that ran would set ``window.__pwned``
or call the loopback listener ``Canary``. See docs/security.md, "Web app attack suite".
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.server
import re
import sqlite3
import statistics
import struct
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

import cv2
import pytest

pytest.importorskip("streamlit_webrtc", reason="the web app needs the app extra: pip install -e '.[app]'")
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")
websockets_client = pytest.importorskip("websockets.sync.client", reason="the attack suite needs websockets")
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from fixtures.app_harness import (  # noqa: E402
    PASSWORD, AppServer, app_server, chromium_path, face_canvas, fer_faces, free_port, go_to, launch_chromium,
    login, open_expander, press_start, press_stop, signed_in_page, write_y4m,
)

if chromium_path() is None:
    pytest.fail("Debian's chromium is needed for the app tests: apt-get install -y chromium", pytrace=False)

UI_TIMEOUT_MS = 90_000
FOREIGN_ORIGINS = ["http://127.0.0.1:9999", "http://localhost:3000", "http://evil.example", "null"]
FOREIGN_HOSTS = ["evil.example", "attacker.test:8501", "192.0.2.77", "localhost.evil.example"]


class Canary:
    """A loopback HTTP listener that records every request: a payload that phones home, or a proxy
    that sees Streamlit look up this machine's external IP."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(f"{self.command} {self.path}")
                self.send_response(204)
                self.end_headers()

            do_POST = do_CONNECT = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def canary():
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, canary):
    # every outgoing HTTP(S) request of the server would go through the canary (requests honours these)
    proxy = {name: canary.url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env = {**proxy, "NO_PROXY": "", "no_proxy": "", "CLASSMOOD_APP_ABSENT_AFTER_S": "1"}
    with app_server(tmp_path_factory.mktemp("attacks"), env=env, args=["--max-upload-mb", "1"]) as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright):
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()


def request(server: AppServer, path: str, *, method: str = "GET", headers: dict | None = None,
            data: bytes | None = None) -> tuple[int, dict, bytes]:
    """Raw HTTP to the server (any Host header, no redirects followed): status, headers, body."""
    import http.client

    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = dict(headers or {})
        connection.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        for key, value in headers.items():
            connection.putheader(key, value)
        if data is not None:
            connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign_in(server: AppServer) -> str:
    """A fresh session cookie value, by the login form (same-origin, like the browser)."""
    status, headers, _ = request(server, "/login", method="POST", headers={**FORM, "Origin": server.url},
                                 data=form(password=PASSWORD, next="/"))
    assert status == 303, status
    return re.search(r"classmood_session=([^;]+)", headers["set-cookie"]).group(1)


def stream_url(server: AppServer) -> str:
    return server.url.replace("http://", "ws://") + "/_stcore/stream"


def open_stream(server: AppServer, cookie: str, origin: str | None = None):
    """A raw WebSocket to Streamlit's stream, as a second tab would hold it."""
    headers = {"Cookie": f"classmood_session={cookie}", "Origin": origin or server.url}
    return websockets_client.connect(stream_url(server), additional_headers=headers, subprotocols=["streamlit"],
                                     open_timeout=15)


def refused_handshake(server: AppServer, cookie: str, origin: str, host: str | None = None) -> bool:
    headers = {"Cookie": f"classmood_session={cookie}", "Origin": origin}
    if host:
        headers["Host"] = host
    try:
        with websockets_client.connect(stream_url(server), additional_headers=headers, subprotocols=["streamlit"],
                                       open_timeout=15):
            return False
    except InvalidStatus as refused:
        return refused.response.status_code in (400, 403)


def closed_within(connection, seconds: float) -> int | None:
    """The close code if the server closes ``connection`` within ``seconds`` (whatever it sent before)."""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                connection.recv(timeout=max(0.05, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1
    return None


# --- hosts and origins ---------------------------------------------------------------------------

@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_host_header_is_refused_everywhere(server, host):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1."""
    cookie = sign_in(server)
    for path in ("/", "/health", "/login", "/_stcore/health", "/_stcore/host-config", "/history"):
        status, _, _ = request(server, path, headers={"Host": host, "Cookie": f"classmood_session={cookie}"})
        assert status == 400, (host, path, status)
    status, _, _ = request(server, "/login", method="POST", headers={**FORM, "Host": host},
                           data=form(password=PASSWORD))
    assert status == 400
    assert refused_handshake(server, cookie, f"http://{host}", host=host)


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_other_origins_cannot_sign_in(server, origin):
    """A page on another port or site posting the (known or guessed) password gets no cookie."""
    status, headers, _ = request(server, "/login", method="POST", headers={**FORM, "Origin": origin},
                                 data=form(password=PASSWORD, next="/"))
    assert status == 403 and "set-cookie" not in headers


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_other_origins_cannot_open_the_websocket(server, canary, origin):
    """Cross-site WebSocket hijacking with the teacher's cookie; and no external-IP lookup on the internet."""
    cookie = sign_in(server)
    before = len(canary.hits)
    assert refused_handshake(server, cookie, origin)
    time.sleep(1.5)  # Streamlit's lookup would go through the proxy within its 1 s timeout
    assert canary.hits[before:] == [], "the server contacted the internet (checkip) for a cross-origin socket"


def test_own_origin_websocket_still_opens(server):
    with open_stream(server, sign_in(server)) as connection:
        assert closed_within(connection, 1.0) is None


# --- password guessing -------------------------------------------------------------------------------

def test_brute_force_is_throttled(tmp_path):
    """Guessing gets 429 with Retry-After after a few failures, and even the right password waits."""
    with app_server(tmp_path / "brute") as fresh:
        statuses, retry = [], None
        for guess in range(12):
            status, headers, _ = request(fresh, "/login", method="POST", headers=FORM,
                                         data=form(password=f"guess-{guess}"))
            statuses.append(status)
            retry = headers.get("retry-after", retry)
        assert statuses[:5] == [401] * 5
        assert set(statuses[5:]) == {429} and retry is not None and int(retry) >= 1
        status, headers, _ = request(fresh, "/login", method="POST", headers=FORM, data=form(password=PASSWORD))
        assert status == 429 and "set-cookie" not in headers
        time.sleep(int(headers["retry-after"]) + 0.2)
        assert request(fresh, "/login", method="POST", headers=FORM, data=form(password=PASSWORD))[0] == 303


def test_health_stays_fast_while_32_clients_guess(tmp_path):
    """argon2 runs off the event loop: /health answers quickly while 32 clients hash guesses."""
    env = {"CLASSMOOD_APP_LOGIN_FREE_FAILURES": "1000000"}  # measure hashing, not the throttle
    with app_server(tmp_path / "guessers", env=env) as fresh:
        stop = threading.Event()
        guesses = []

        def guess(worker: int) -> None:
            while not stop.is_set():
                guesses.append(request(fresh, "/login", method="POST", headers=FORM,
                                       data=form(password=f"wrong-{worker}"))[0])

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            for worker in range(32):
                pool.submit(guess, worker)
            time.sleep(2.0)
            latencies = []
            for _ in range(20):
                started = time.monotonic()
                assert request(fresh, "/health")[0] == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.1)
            stop.set()
        assert guesses and set(guesses) == {401}
        print(f"/health under 32 guessers: median {statistics.median(latencies) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms, {len(guesses)} guesses")
        assert statistics.median(latencies) < 0.25 and max(latencies) < 1.0


# --- first visitor ---------------------------------------------------------------------------------

def test_first_password_only_from_this_computer_or_with_the_setup_code(tmp_path):
    env = {"CLASSMOOD_APP_PASSWORD": ""}
    with app_server(tmp_path / "first", env=env, args=["--allowed-host", "classroom.test"]) as fresh:
        assert fresh.health()["password_set"] is False
        port = fresh.url.rsplit(":", 1)[1]
        lan = {"Host": f"classroom.test:{port}"}
        # a visitor by another name (the LAN, or DNS rebinding to an allowed name) sees how to do it
        status, _, body = request(fresh, "/login", headers=lan)
        assert status == 200 and b"setup code" in body and b'name="setup_code"' in body
        attempts = [
            ({"Host": "evil.example"}, {}),  # foreign Host
            ({"Origin": "http://localhost:3000"}, {}),  # another local origin
            ({"Host": f"127.0.0.1:{port}", "Origin": "http://127.0.0.1:9999"}, {}),
            (lan, {}),  # another computer, no code
            (lan, {"setup_code": "guessed-code"}),  # another computer, wrong code
        ]
        for headers, extra in attempts:
            status, answer, _ = request(fresh, "/login", method="POST", headers={**FORM, **headers},
                                        data=form(password="attacker-pass", confirm="attacker-pass", **extra))
            assert status in (400, 403) and "set-cookie" not in answer, (headers, extra, status)
        assert fresh.health()["password_set"] is False
        code = re.search(r"one-time setup code: (\S+)", fresh.log.read_text()).group(1)
        status, answer, _ = request(fresh, "/login", method="POST", headers={**FORM, **lan},
                                    data=form(password="teacher-pass", confirm="teacher-pass", setup_code=code))
        assert status == 303 and "classmood_session=" in answer["set-cookie"]
        assert fresh.health()["password_set"] is True


def test_short_password_in_the_environment_is_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, CLASSMOOD_APP_HOME=str(tmp_path), CLASSMOOD_APP_PASSWORD="short")
    done = subprocess.run([sys.executable, "-c", "from classmood.cli import main; main()", "app",
                           "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["error: CLASSMOOD_APP_PASSWORD: The password needs at least "
                                                "8 characters."]


# --- cookies ------------------------------------------------------------------------------------------

def test_foreign_cookies_do_not_lock_the_teacher_out(server, browser):
    cookie = sign_in(server)
    for jar in (f'prefs={{"theme":"dark"}}; classmood_session={cookie}',
                f'a="unterminated; classmood_session={cookie}; b=x=y; ; =novalue'):
        status, _, _ = request(server, "/history", headers={"Cookie": jar, "Accept": "text/html"})
        assert status == 200, jar
    context = browser.new_context()
    host = urllib.parse.urlsplit(server.url).hostname
    context.add_cookies([{"name": "prefs", "value": '{"theme":"dark"}', "domain": host, "path": "/"}])
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    login(page, server)
    page.get_by_role("heading", name="Live class").wait_for()
    context.close()


def test_forged_and_tampered_cookies_open_nothing(server):
    cookie = sign_in(server)
    for value in ("forged.value", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), "", "a" * 4000):
        assert request(server, "/history", headers={"Cookie": f"classmood_session={value}",
                                                    "Accept": "text/html"})[0] == 303


# --- sign-out and password change end open connections -------------------------------------------------

def test_live_faces_need_the_login_and_the_tabs_own_token(server):
    """The faces of a live class (``/live-faces``) are named by an unguessable token of the teacher's
    tab: guessed or malformed tokens find nothing, and nothing answers without the cookie."""
    cookie = sign_in(server)
    for token in ("", "x", "A" * 24, "../../health", "%00", "<script>alert(1)</script>"):
        path = "/live-faces?" + urllib.parse.urlencode({"feed": token, "after": "0"})
        assert request(server, path)[0] == 401, token
        status, _, body = request(server, path, headers={"Cookie": f"classmood_session={cookie}"})
        assert status == 404 and b"No such live class." in body and b"<script>" not in body, token


def test_websocket_is_closed_at_sign_out(server):
    cookie = sign_in(server)
    other = sign_in(server)
    with open_stream(server, cookie) as tab, open_stream(server, other) as other_tab:
        assert closed_within(tab, 0.5) is None
        assert request(server, "/logout", headers={"Cookie": f"classmood_session={cookie}"})[0] == 303
        assert closed_within(tab, 5.0) == 1008  # the tab signed out stops receiving at once
        assert closed_within(other_tab, 0.5) is None  # another login is not affected
    assert refused_handshake(server, cookie, server.url)  # the revoked cookie cannot open another


def test_websocket_is_closed_when_the_password_changes(tmp_path, monkeypatch):
    with app_server(tmp_path / "change") as fresh, open_stream(fresh, sign_in(fresh)) as tab:
        assert closed_within(tab, 0.5) is None
        monkeypatch.setenv("CLASSMOOD_APP_HOME", str(fresh.home))
        from classmood.app import auth

        auth.set_password("a brand new password")
        assert closed_within(tab, 8.0) == 1008


# --- bodies and uploads ------------------------------------------------------------------------------

def test_oversized_login_body_is_refused(server):
    status, headers, _ = request(server, "/login", method="POST", headers=FORM,
                                 data=form(password="x" * (2 * 1024 * 1024)))
    assert status == 413 and "set-cookie" not in headers


def test_security_headers_on_every_response(server):
    cookie = {"Cookie": f"classmood_session={sign_in(server)}"}
    for path, headers in [("/health", {}), ("/login", {}), ("/", {"Accept": "text/html"}), ("/nothing", {}),
                          ("/", cookie), ("/_stcore/health", cookie), ("/static/index.html", cookie),
                          ("/component/streamlit_webrtc.component.webrtc_streamer/index.html", cookie)]:
        status, answer, _ = request(server, path, headers=headers)
        assert "script-src 'self'" in answer.get("content-security-policy", ""), (path, status)
        assert "frame-ancestors 'self'" in answer["content-security-policy"]
        assert answer["x-frame-options"] == "SAMEORIGIN" and answer["x-content-type-options"] == "nosniff"
        assert answer["referrer-policy"] == "same-origin"
    assert request(server, "/", headers={"Host": "evil.example"})[1]["x-content-type-options"] == "nosniff"


def bomb_png(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A tiny PNG whose header claims 400 megapixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


# --- hostile strings in the real browser ---------------------------------------------------------------

def payload(canary: Canary, tag: str) -> str:
    beacon = f"window.__pwned='{tag}';fetch('{canary.url}/{tag}')"
    return f"<img src=x onerror={beacon}><script>{beacon}</script>"


def pwned(page) -> list[str]:
    """Tags set by any payload, in the page and in every frame it holds."""
    found = []
    for frame in page.frames:
        with contextlib.suppress(Exception):
            value = frame.evaluate("() => window.__pwned || (window.top && window.top.__pwned) || null")
            if value:
                found.append(value)
    return found


def upload_file(page, path: Path) -> None:
    go_to(page, "Recorded", ready="input[type=file]")
    page.locator("input[type=file]").set_input_files(str(path))


def test_uploads_with_hostile_names_bombs_and_long_names(server, browser, canary, tmp_path):
    """File names become messages and session names; a bomb or an overlong name gets one clear line."""
    context, page = signed_in_page(browser, server)
    try:
        go_to(page, "Recorded", ready="input[type=file]")
        page.get_by_text("up to 1 MB").wait_for()  # the real --max-upload-mb, not the saved setting
        folder = tmp_path / "uploads"
        folder.mkdir()
        bad = folder / f"{payload(canary, 'filename').replace('/', '_')}.mp4"
        bad.write_bytes(b"not a video\n" * 10)
        upload_file(page, bad)
        page.get_by_text("Cannot analyse <img", exact=False).wait_for()
        bomb = bomb_png(folder / "bomb.png")
        upload_file(page, bomb)
        page.get_by_text("Cannot analyse bomb.png", exact=False).wait_for()
        assert page.get_by_text("Traceback").count() == 0 and page.get_by_text("DecompressionBomb").count() == 0
        long_video = folder / ("lesson-" + "x" * 229 + ".mp4")  # 240 bytes: + ".annotated.mp4" > 255
        write_video(long_video, 10)
        upload_file(page, long_video)
        page.get_by_text("Done: 10 frames").wait_for()
        rows = query(server, "select status from sessions where source = ?", f"upload:{long_video.name}")
        assert rows == [("finished",)]
        assert pwned(page) == [] and not [h for h in canary.hits if "filename" in h]
    finally:
        context.close()


def write_video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(frames):
        writer.write(face_canvas(fer_faces(1), 320, 240))
    writer.release()


def query(server: AppServer, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(server.database) as db:
        return db.execute(sql, args).fetchall()


def test_hostile_session_student_and_alert_strings_run_no_script(server, browser, canary, tmp_path):
    """Session name, student name and alert text, shown in History's tables and its report frame."""
    video = tmp_path / f"{payload(canary, 'session').replace('/', '_')}.mp4"
    write_video(video, 20)
    context, page = signed_in_page(browser, server)
    try:
        upload_file(page, video)
        page.get_by_text("Done: 20 frames").wait_for()
        session_id, name = query(server, "select id, name from sessions order by id desc limit 1")[0]
        assert "<img" in name
        with sqlite3.connect(server.database) as db:  # what `sessions rename` and the alert text could hold
            db.execute("update students set name = ?, name_source = 'teacher' where session_id = ?",
                       (payload(canary, "student"), session_id))
            student = db.execute("select id from students where session_id = ?", (session_id,)).fetchone()[0]
            db.execute("insert into alerts (session_id, student_id, kind, started_at, ended_at, detail) "
                       "values (?, ?, 'absent', 0, 1, ?)", (session_id, student, payload(canary, "alert")))
        go_to(page, "History")
        page.get_by_role("combobox").first.click()
        page.get_by_role("option", name=name).click()
        open_expander(page, "Show the report")
        report = page.frame_locator("iframe").last
        report.get_by_text(name).first.wait_for()  # the hostile strings are shown as text
        report.get_by_text(payload(canary, "student"), exact=False).first.wait_for()
        page.wait_for_timeout(2000)
        assert pwned(page) == []
        assert not [h for h in canary.hits if any(tag in h for tag in ("session", "student", "alert"))]
    finally:
        context.close()


def test_report_frame_cannot_reach_the_app(server):
    """The report is served under a sandbox policy: no script, an opaque origin."""
    cookie = {"Cookie": f"classmood_session={sign_in(server)}"}
    name = query(server, "select name from sessions order by id desc limit 1")
    path = "/session-report?" + urllib.parse.urlencode({"name": name[0][0] if name else "none"})
    status, headers, body = request(server, path, headers=cookie)
    assert status == 200 and b"<script" not in body.lower()
    policy = headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "allow-same-origin" not in policy and "allow-scripts" not in policy
    assert request(server, path)[0] == 401  # and behind the login like everything else


def test_plain_password_never_reaches_the_server_or_its_analysis_process(server):
    import psutil

    server_process = psutil.Process(server.process.pid)
    assert PASSWORD.encode() not in Path(f"/proc/{server.process.pid}/environ").read_bytes()
    children = server_process.children(recursive=True)
    assert children, "run after an upload: the analysis process should be running"
    for child in children:
        assert "CLASSMOOD_APP_PASSWORD" not in child.environ()


# --- WebRTC ----------------------------------------------------------------------------------------------

def test_webrtc_listens_only_on_the_http_address(server, playwright, tmp_path):
    """During a live class, the server's UDP sockets (ICE host candidates) are on 127.0.0.1 only."""
    import psutil

    camera = write_y4m(tmp_path / "camera.y4m", [face_canvas(fer_faces(1))] * 30, fps=10)
    chromium = launch_chromium(playwright, camera)
    try:
        context, page = signed_in_page(chromium, server, UI_TIMEOUT_MS)
        press_start(page, server=server)
        page.get_by_text("S01", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
        udp = [c.laddr for c in psutil.Process(server.process.pid).net_connections(kind="udp")]
        press_stop(page)
        context.close()
    finally:
        chromium.close()
    assert udp, "no UDP socket during a live class"
    assert {address.ip for address in udp} == {"127.0.0.1"}, udp
