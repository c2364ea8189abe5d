"""Test harness for the web app: a real ``classmood app`` server, Debian's Chromium with a fake
camera fed by real FER-2013 faces, and a logged-in page.

Used by ``tests/test_app.py`` and ``benchmarks/app_latency.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
FER = REPO.parent / "shared" / "datasets" / "fer2013"
PASSWORD = "test-password-123"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def fer_faces(count: int, emotion: str = "happy", split: str = "publictest") -> list[np.ndarray]:
    """``count`` real 48x48 grayscale faces from the FER-2013 folder (sorted, so the same each run)."""
    files = sorted((FER / split / emotion).glob("*.jpg"))[:count]
    if len(files) < count:
        raise FileNotFoundError(f"need {count} FER-2013 faces under {FER / split / emotion}")
    return [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]


def face_canvas(faces: list[np.ndarray], width: int = 640, height: int = 480, tile: int | None = None,
                background: int = 128) -> np.ndarray:
    """A BGR frame with the faces upscaled on a grid (one face: centred, 200 px)."""
    canvas = np.full((height, width), background, np.uint8)
    cols = int(np.ceil(np.sqrt(len(faces)))) if faces else 1
    rows = int(np.ceil(len(faces) / cols)) if faces else 1
    cell_w, cell_h = width // cols, height // rows
    size = tile or int(min(cell_w, cell_h) * 0.8)
    for i, face in enumerate(faces):
        r, c = divmod(i, cols)
        x = c * cell_w + (cell_w - size) // 2
        y = r * cell_h + (cell_h - size) // 2
        canvas[y:y + size, x:x + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """A Y4M (4:2:0) file that Chromium's fake camera plays in a loop."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class AppServer:
    """A running ``classmood app`` on localhost."""

    url: str
    home: Path
    database: Path
    process: subprocess.Popen
    log: Path

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        """An HTTP GET that does not follow redirects: status, headers, body."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        import ssl

        unverified = ssl.create_default_context()
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE  # our self-signed test cert
        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=unverified))
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def health(self) -> dict:
        status, _, body = self.get("/health")
        assert status == 200, body
        return json.loads(body)


@contextlib.contextmanager
def app_server(tmp: Path, env: dict[str, str] | None = None, args: list[str] | None = None,
               timeout_s: float = 60.0, scheme: str = "http") -> Iterator[AppServer]:
    """Start ``classmood app`` with its own home folder and SQLite database; stop it afterwards."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    home, database, log = tmp / "home", tmp / "sessions.db", tmp / "server.log"
    full_env = dict(os.environ, CLASSMOOD_APP_HOME=str(home), CLASSMOOD_DATABASE_URL=f"sqlite:///{database}",
                    CLASSMOOD_APP_PASSWORD=PASSWORD)
    full_env.update(env or {})  # an empty CLASSMOOD_APP_PASSWORD means: none, ask on first run
    command = [sys.executable, "-c", "from classmood.cli import main; main()", "app", "--port", str(port),
               *(args or [])]
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=full_env, stdout=log_file, stderr=subprocess.STDOUT)
    server = AppServer(f"{scheme}://127.0.0.1:{port}", home, database, process, log)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"classmood app exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                if server.get("/health")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"classmood app did not answer in {timeout_s} s: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, camera_file: Path | None = None, allow_media: bool = True):
    """Debian's Chromium (never a downloaded browser), with a fake camera playing ``camera_file``."""
    args = list(CHROMIUM_FLAGS)
    if camera_file is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera_file}"]
    if allow_media:
        args.append("--use-fake-ui-for-media-stream")
    return playwright.chromium.launch(executable_path=chromium_path(), args=args, headless=True)


def login(page, server: AppServer, password: str = PASSWORD) -> None:
    page.goto(server.url + "/")
    page.fill("#password", password)
    page.click("button[type=submit]")


def signed_in_page(browser, server: AppServer, timeout_ms: float = 90_000):
    """A new browser context and its page, signed in and showing the Live page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    login(page, server)
    page.get_by_role("heading", name="Live class").wait_for()
    return context, page


def webrtc_frame(page):
    return page.frame_locator("iframe[title*='webrtc_streamer']").first


def press_start(page, timeout_s: float = 30.0) -> None:
    """Press the WebRTC component's Start button once it is enabled."""
    button = webrtc_frame(page).get_by_role("button", name="START")
    button.wait_for(timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while not button.is_enabled():
        if time.monotonic() > deadline:
            raise TimeoutError("the Start button stayed disabled")
        page.wait_for_timeout(200)
    button.click()


def open_expander(page, label: str) -> None:
    """Open a collapsed expander the way a person does: scroll to it, let the page settle, click it.

    Playwright's own scroll-and-click on an expander far below the view (History, under a 900-px report
    frame) was lost in every full run of test_app.py on this machine, never in isolation: the expander
    stayed shut although the click reached its summary. Scrolling first and waiting 300 ms fixed it in
    every run tried; the retry keeps a slow machine from failing on one lost click.
    """
    expander = page.locator("details", has=page.get_by_text(label, exact=True))
    for attempt in range(3):
        expander.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        expander.locator("summary").click()
        try:
            page.wait_for_function("d => d.open", arg=expander.element_handle(), timeout=5_000)
            return
        except Exception:  # playwright's TimeoutError: the click was lost
            if attempt == 2:
                raise


def press_stop(page) -> None:
    webrtc_frame(page).get_by_role("button", name="STOP").click()
