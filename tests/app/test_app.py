"""The teacher's web app in a real browser against a real ``classmood app`` server.

Debian's Chromium (driven by Playwright) gets a fake camera that plays real FER-2013 faces:
one face for 3 s, then nobody for 4 s, in a loop, so the face is seen, a student card fills,
and with a 1 s "away" threshold an alert is raised within seconds. The session lands in a
real SQLite database, which the tests read back.
"""

from __future__ import annotations

import json
import re
import sqlite3
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("streamlit_webrtc", reason="the web app needs the app extra: pip install -e '.[app]'")
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

from fixtures.app_harness import (
    BROWSER_CONSOLE, PASSWORD, app_server, chromium_path, component_frame, face_canvas, fer_faces, go_to, launch_chromium,
    live_page_settled, login, open_live, press_start, press_stop, open_expander, signed_in_page, wait_until,
    webrtc_frame, write_y4m,
)
from fixtures.media import cut_video, two_face_video

if chromium_path() is None:
    pytest.fail("Debian's chromium is needed for the app tests: apt-get install -y chromium", pytrace=False)

UI_TIMEOUT_MS = 90_000  # generous: CI shares 2 cores with the analysis and the browser


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def camera_file(workdir: Path) -> Path:
    face = face_canvas(fer_faces(1))
    empty = face_canvas([])
    return write_y4m(workdir / "camera.y4m", [face] * 30 + [empty] * 40, fps=10)


@pytest.fixture(scope="module")
def server(workdir: Path):
    env = {"CLASSMOOD_APP_ABSENT_AFTER_S": "1", "CLASSMOOD_APP_STALL_SECONDS": "6"}
    with app_server(workdir / "server", env=env, args=["--max-upload-mb", "1"]) as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright, camera_file: Path):
    chromium = launch_chromium(playwright, camera_file)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser, server):
    """A signed-in page; afterwards, checks that no request left this server (offline: no CDN)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    open_live(page, server, UI_TIMEOUT_MS)
    yield page
    context.close()
    outside = [url for url in requested if not url.startswith((server.url, "data:", "blob:", "about:"))]
    assert outside == [], f"the app made the browser fetch from outside: {outside[:5]}"


def db_rows(server, query: str, *args) -> list[tuple]:
    with sqlite3.connect(server.database) as db:
        return db.execute(query, args).fetchall()


# --- access -------------------------------------------------------------------------------------

def test_health_answers_without_password(server):
    health = server.health()
    assert health["status"] == "ok"
    assert health["password_set"] is True
    assert "password" not in str(health).replace("password_set", "")


def test_nothing_is_served_before_login(server):
    status, headers, _ = server.get("/", {"Accept": "text/html"})
    assert status == 303 and headers["location"].startswith("/login")
    for path in ("/_stcore/health", "/_stcore/host-config", "/static/index.html",
                 "/component/streamlit_webrtc.component.webrtc_streamer/index.html", "/live-faces?feed=x"):
        assert server.get(path)[0] == 401, path
    status, _, body = server.get("/login")
    assert status == 200 and b'name="password"' in body


def test_password_is_stored_hashed(server):
    stored = (server.home / "password.argon2").read_text()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_wrong_password_is_refused(browser, server):
    context = browser.new_context()
    page = context.new_page()
    login(page, server, password="not-the-password")
    page.get_by_text("Wrong password.").wait_for(timeout=UI_TIMEOUT_MS)
    assert "/login" in page.url
    assert server.get("/", {"Accept": "text/html", "Cookie": "classmood_session=forged.value"})[0] == 303
    context.close()


def test_server_binds_to_localhost_only(server):
    port = int(server.url.rsplit(":", 1)[1])
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    local = [line.split()[1] for line in listening if line.split()[3] == "0A"]  # LISTEN
    ours = [address for address in local if int(address.split(":")[1], 16) == port]
    assert ours == [f"0100007F:{port:04X}"]  # 127.0.0.1


def test_sign_out_ends_access(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    login(page, server)
    page.get_by_role("heading", name="Live class").wait_for()
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "classmood_session")
    page.get_by_role("link", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto(server.url + "/history")
    page.wait_for_url("**/login?next=/history")
    # a copy of the cookie taken before signing out no longer opens anything
    assert server.get("/history", {"Accept": "text/html", "Cookie": f"classmood_session={cookie}"})[0] == 303
    context.close()


# --- live class ----------------------------------------------------------------------------------

#: the faces layer over the live video has a set of faces drawn on it (a box and its label): its
#: picture (the worker's OffscreenCanvas, shown by the page's canvas) copied out has opaque pixels
FACES_DRAWN = """() => {
  const layer = document.querySelector('[data-testid=classmood-faces]');
  if (!layer || !layer.dataset.version || !layer.width) return false;
  const copy = document.createElement('canvas');
  copy.width = layer.width; copy.height = layer.height;
  const ctx = copy.getContext('2d');
  ctx.drawImage(layer, 0, 0);
  const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
  return false;
}"""


def test_live_webcam_class_is_annotated_recorded_and_reported(page, server):
    press_start(page, server=server)
    # a student card fills: name, emotion with confidence
    card = page.get_by_text("S01", exact=True)
    card.wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_text("engagement", exact=False).first.wait_for()
    # the page shows the camera itself, with the faces the server found drawn over it; no video comes back
    component = component_frame(page)
    component.wait_for_function("() => { const v = document.querySelector('#classmood-preview video');"
                                " return v && v.videoWidth > 0 && v.currentTime > 0; }")
    component.wait_for_function(FACES_DRAWN)
    assert component.evaluate("document.querySelectorAll('video').length") == 1
    # the alert: the face leaves the picture for 4 s with a 1 s threshold
    page.get_by_text("S01: away").first.wait_for(timeout=UI_TIMEOUT_MS)
    page.screenshot(path=str(server.home / "live.png"))
    # the teacher corrects the name on the card itself
    page.get_by_role("button", name="Rename").first.click()
    page.get_by_label("Name", exact=True).fill("Grace  Hopper")
    page.get_by_role("button", name="Save name").click()
    page.get_by_text("Grace Hopper", exact=True).first.wait_for(timeout=UI_TIMEOUT_MS)
    press_stop(page)
    page.get_by_text("saved:", exact=False).wait_for(timeout=UI_TIMEOUT_MS)
    component.wait_for_function("() => !document.getElementById('classmood-preview')")  # the camera is off

    sessions = db_rows(server, "select id, name, status, duration_s from sessions where source = 'app:webcam'")
    assert sessions, "the live class was not recorded"
    session_id, name, status, duration = sessions[-1]
    assert status == "finished" and duration >= 1
    seconds = db_rows(server, "select count(*), max(confidence) from student_seconds where session_id = ?",
                      session_id)[0]
    assert seconds[0] >= 1 and 0 < seconds[1] <= 1
    alerts = db_rows(server, "select kind from alerts where session_id = ?", session_id)
    assert ("absent",) in alerts
    assert db_rows(server, "select name, name_source from students where session_id = ?", session_id) == [
        ("Grace Hopper", "teacher")]
    # the person running the server sees the class start and end in its log
    wait_until(lambda: f"live class ended (finished): session {session_id}," in server.log.read_text(), timeout_s=10)
    assert f"live class started: session {session_id}, source webcam" in server.log.read_text()
    assert "streamlit_webrtc INFO Track video received" in server.log.read_text()  # CLASSMOOD_APP_LOG_WEBRTC
    timing = re.findall(r"live timing \(median ms\): (.*)", server.log.read_text())[-1]  # where a frame's time went
    assert all(f"{stage} " in timing for stage in ("to_pixels", "analysis", "faces_age"))
    assert "to_video" not in timing  # nothing was encoded back

    # the report of that session, downloaded from History
    go_to(page, "History")
    select_session(page, name)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download HTML report").click()
    report = Path(download.value.path()).read_text()
    assert name in report and "Grace Hopper" in report and "<svg" in report
    with page.expect_download() as download:
        page.get_by_role("button", name="Download per-second CSV").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("student,label,name,second,state") and "\n1,Grace Hopper,Grace Hopper,0,present," in csv_text


def select_session(page, name: str) -> None:
    box = page.get_by_role("combobox").first
    box.click()
    page.get_by_role("option", name=name).click()
    page.get_by_role("button", name="Download HTML report").wait_for()


def test_shared_screen_is_shown_and_recorded(browser, server):
    """Share a window or screen: the browser's display capture (Chromium's fake one here: a green
    test picture, no faces) is shown in the page as captured and its class is recorded."""
    context, page = signed_in_page(browser, server, UI_TIMEOUT_MS)
    try:
        page.get_by_text("Share a window or screen", exact=True).click()
        page.get_by_text("pick the meeting window", exact=False).wait_for()
        press_start(page, server=server)
        component = component_frame(page)
        size = component.evaluate("() => { const v = document.querySelector('#classmood-preview video');"
                                  " return v && [v.videoWidth, v.videoHeight, v.currentTime]; }")
        assert size and size[0] > size[1] > 0, size  # the screen's picture, not the camera's 640x480
        press_stop(page)
        page.get_by_text("saved:", exact=False).wait_for(timeout=UI_TIMEOUT_MS)
        assert db_rows(server, "select status from sessions where source = 'app:screen'")[-1] == ("finished",)
        assert "source screen" in server.log.read_text()
    finally:
        context.close()


def test_a_browser_without_offscreen_canvas_still_runs_the_class(browser, server):
    """The faces are drawn by a worker on an OffscreenCanvas; a browser without one shows the video
    and the students' cards, and says why in its console, instead of failing the Start."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script("delete HTMLCanvasElement.prototype.transferControlToOffscreen;")
    try:
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        open_live(page, server, UI_TIMEOUT_MS)
        press_start(page, server=server)
        page.get_by_text("S01", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
        component = component_frame(page)
        component.wait_for_function("() => { const v = document.querySelector('#classmood-preview video');"
                                    " return v && v.currentTime > 0; }")
        assert component.evaluate("document.querySelector('[data-testid=classmood-faces]').dataset.version") is None
        assert any("cannot draw the faces" in line for line in BROWSER_CONSOLE)
        press_stop(page)
        page.get_by_text("saved:", exact=False).wait_for(timeout=UI_TIMEOUT_MS)
    finally:
        context.close()


def test_dropped_connection_keeps_the_session(browser, server):
    context, page = signed_in_page(browser, server, UI_TIMEOUT_MS)
    before = {row[0] for row in db_rows(server, "select id from sessions")}
    press_start(page, server=server)
    page.get_by_text("S01", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    wait_until(lambda: db_rows(server, "select count(*) from student_seconds s join sessions x on x.id = s.session_id "
                                       "where x.status = 'running'")[0][0] > 0)
    context.close()  # the tab and its connection vanish mid-class
    new = wait_until(lambda: [row for row in db_rows(server, "select id, status from sessions")
                              if row[0] not in before and row[1] != "running"], timeout_s=30)
    session_id, status = new[0]
    assert status == "interrupted"
    wait_until(lambda: f"live class ended (interrupted): session {session_id}," in server.log.read_text(), timeout_s=10)
    assert "no video frame for 6 s" in server.log.read_text()
    assert db_rows(server, "select count(*) from student_seconds where session_id = ?", session_id)[0][0] >= 1


def test_refused_camera_gets_a_clear_message(playwright, server, camera_file):
    chromium = launch_chromium(playwright, camera_file, allow_media=False)
    try:
        page = chromium.new_context().new_page()  # camera permission not granted: the browser refuses
        page.set_default_timeout(UI_TIMEOUT_MS)
        login(page, server)
        page.get_by_role("heading", name="Live class").wait_for()
        press_start(page, until_recording=False)
        notice = webrtc_frame(page).locator("#classmood-media-error")
        notice.wait_for()
        assert "refused" in notice.inner_text()
    finally:
        chromium.close()


def test_stream_url_is_analysed_live(page, server, workdir):
    video = workdir / "stream.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for _ in range(100):
        writer.write(face_canvas(fer_faces(2)))
    writer.release()
    page.get_by_text("Stream URL", exact=True).click()
    page.get_by_label("Stream URL (rtsp", exact=False).fill(str(workdir / "missing.mp4"))
    page.keyboard.press("Enter")
    page.get_by_text("No video file at", exact=False).wait_for()
    page.get_by_label("Stream URL (rtsp", exact=False).fill(str(video))
    page.keyboard.press("Enter")
    press_start(page, server=server)
    page.get_by_text("S02", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    # the file ends after 10 s: the class ends by itself, is kept, and is told apart from a dropped connection
    page.get_by_text("saved:", exact=False).wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_text("The video ended.", exact=False).wait_for()
    assert db_rows(server, "select status from sessions where source = ?", f"app:{video}") == [("finished",)]


# --- recorded class ------------------------------------------------------------------------------

def upload(page, path: Path) -> None:
    """Open Recorded and choose ``path`` in its uploader."""
    go_to(page, "Recorded", ready="input[type=file]")
    page.locator("input[type=file]").set_input_files(str(path))


def test_photo_upload_is_annotated(page, workdir):
    photo = workdir / "class.jpg"
    cv2.imwrite(str(photo), face_canvas(fer_faces(4), 800, 600))
    upload(page, photo)
    page.get_by_text("4 faces found").wait_for()
    page.get_by_role("button", name="Download CSV").wait_for()


def test_video_upload_becomes_a_session(page, server, workdir):
    video = workdir / "lesson.mp4"
    faces = fer_faces(2)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for _ in range(30):
        writer.write(face_canvas(faces))
    writer.release()
    upload(page, video)
    page.get_by_text("Done: 30 frames").wait_for()
    page.get_by_role("button", name="Download HTML report").wait_for()
    rows = db_rows(server, "select name, status from sessions where source = 'upload:lesson.mp4'")
    assert rows and rows[-1][1] == "finished"
    assert page.locator("video").count() >= 1  # the annotated video, playable in the browser


def test_truncated_video_upload_is_marked_truncated_not_finished(page, server, workdir):
    cut = cut_video(two_face_video(workdir / "whole-lesson.mp4", n=40), workdir / "cutlesson.mp4")
    upload(page, cut)
    page.get_by_text("cutlesson.mp4 is truncated or corrupt", exact=False).wait_for(timeout=UI_TIMEOUT_MS)
    rows = db_rows(server, "select status, status_detail from sessions where source = 'upload:cutlesson.mp4'")
    assert rows and rows[-1][0] == "truncated", rows
    assert rows[-1][1].startswith("cutlesson.mp4: video ended at frame") and "of 40" in rows[-1][1]


@pytest.mark.parametrize("name, content, message", [
    ("notes.mp4", b"this is not a video at all\n" * 20, "Cannot analyse notes.mp4"),
    ("broken.mp4", None, "Cannot analyse broken.mp4"),
    ("empty.jpg", b"", "Cannot analyse empty.jpg"),
])
def test_bad_upload_gets_a_clear_message(page, workdir, name, content, message):
    path = workdir / name
    if content is None:  # a real mp4 cut short: header without the frames
        good = workdir / "good.mp4"
        writer = cv2.VideoWriter(str(good), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
        for _ in range(20):
            writer.write(np.full((240, 320, 3), 90, np.uint8))
        writer.release()
        content = good.read_bytes()[:600]
    path.write_bytes(content)
    upload(page, path)
    page.get_by_text(message).wait_for()
    assert page.get_by_text("Traceback").count() == 0


def test_too_large_and_wrong_type_uploads_are_refused(page, workdir):
    big = workdir / "huge.mp4"
    big.write_bytes(b"\0" * (2 * 1024 * 1024))  # the server allows 1 MB in this test
    upload(page, big)
    page.get_by_text("File must be 1.0MB or smaller").wait_for()
    text = workdir / "notes.txt"
    text.write_text("hello")
    page.locator("input[type=file]").set_input_files(str(text))
    page.get_by_text("file type is not allowed", exact=False).or_(
        page.get_by_text("not allowed", exact=False)).first.wait_for()


# --- history ---

def test_history_deletes_a_session(page, server, workdir):
    video = workdir / "to-delete.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(10):
        writer.write(face_canvas(fer_faces(1), 320, 240))
    writer.release()
    upload(page, video)
    page.get_by_text("Done: 10 frames").wait_for()
    name = db_rows(server, "select name from sessions where source = 'upload:to-delete.mp4'")[0][0]
    go_to(page, "History")
    select_session(page, name)
    open_expander(page, "Show the report")
    page.frame_locator("iframe").last.get_by_text(name).first.wait_for()  # the report, shown in the page
    open_expander(page, "Delete this session")
    page.get_by_role("button", name="Delete session").click()
    wait_until(lambda: not db_rows(server, "select id from sessions where name = ?", name), timeout_s=30)
    assert not db_rows(server, "select count(*) from student_seconds s left join sessions x on x.id = s.session_id "
                               "where x.id is null")[0][0]


# --- settings --------------------------------------------------------------------------------------

def test_school_page_shows_the_classes_of_every_teacher_and_machine(page, server):
    from classmood.store import SessionRecorder, Store
    from classmood.store.origin import SessionOrigin

    from fixtures.store import record_minute

    store = Store(f"sqlite:///{server.database}")
    recorder = SessionRecorder(store, "algebra 2A", flush_every_s=0.0, origin=SessionOrigin("Ms Rivera", "room-12"))
    record_minute(recorder, (1, 2, 3))
    recorder.flush()
    stop = threading.Event()
    beating = threading.Thread(target=_heartbeat, args=(recorder, stop))
    beating.start()  # another machine is recording it right now
    try:
        go_to(page, "School")
        row = page.locator("tr", has=page.get_by_text("algebra 2A", exact=True))
        row.wait_for(timeout=UI_TIMEOUT_MS)
        cells = row.inner_text()
        assert "Ms Rivera" in cells and "room-12" in cells and "running" in cells
        running = page.locator("[data-testid='stMetric']", has=page.get_by_text("Classes running now"))
        assert int(running.locator("[data-testid='stMetricValue']").inner_text()) >= 1
    finally:
        stop.set()
        beating.join()
        recorder.finish()
        store.close()


def _heartbeat(recorder, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        recorder.flush()


def test_settings_are_saved(page, server):
    go_to(page, "Settings")
    page.get_by_text("Store video frames", exact=False).wait_for()
    page.get_by_role("combobox", name="Emotion model").click()
    page.get_by_role("option", name="accurate").click()
    page.locator('input[aria-label^="Keep recorded sessions for"]').fill("7")
    notice = page.get_by_label("Notice shown before each class")
    notice.fill("Mood analysis on: ask me if you want it off.")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Settings saved.").wait_for()

    saved = json.loads((server.home / "settings.json").read_text())
    assert saved["consent_text"] == "Mood analysis on: ask me if you want it off."
    assert saved["store_frames"] is False and saved["ice_servers"] == [] and saved["model"] == "accurate"
    assert saved["retention_days"] == 7
    assert server.health()["model"] == "accurate"
    go_to(page, "Live")
    page.get_by_text("Mood analysis on: ask me if you want it off.").wait_for()


# --- HTTPS for the LAN ---

def self_signed(folder: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "classmood test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_https_with_a_certificate_and_a_secure_cookie(workdir):
    folder = workdir / "tls"
    folder.mkdir()
    cert, key = self_signed(folder)
    with app_server(folder / "server", args=["--ssl-cert", str(cert), "--ssl-key", str(key)], scheme="https") as tls:
        assert tls.url.startswith("https://") and tls.health()["status"] == "ok"
        body = urllib.parse.urlencode({"password": PASSWORD, "next": "/"}).encode()
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(Keep, urllib.request.HTTPSHandler(context=context))
        try:
            opener.open(urllib.request.Request(tls.url + "/login", data=body), timeout=10)
        except urllib.error.HTTPError as answer:
            assert answer.code == 303
            cookie = answer.headers["set-cookie"]
        assert "classmood_session=" in cookie and "secure" in cookie.lower() and "httponly" in cookie.lower()


# --- first run --------------------------------------------------------------------------------------

def test_first_run_asks_to_choose_a_password(playwright, workdir):
    with app_server(workdir / "first-run", env={"CLASSMOOD_APP_PASSWORD": ""}) as fresh:
        assert fresh.health()["password_set"] is False
        assert fresh.get("/", {"Accept": "text/html"})[0] == 303  # no password yet still serves nothing
        chromium = launch_chromium(playwright)
        try:
            page = chromium.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(fresh.url + "/")
            page.get_by_text("First run").wait_for()
            page.fill("#password", "a new password")
            page.fill("#confirm", "another password")
            page.click("button[type=submit]")
            page.get_by_text("The two passwords differ.").wait_for()
            page.fill("#password", "short")
            page.fill("#confirm", "short")
            page.click("button[type=submit]")
            page.get_by_text("at least 8 characters").first.wait_for()
            page.fill("#password", "a new password")
            page.fill("#confirm", "a new password")
            page.click("button[type=submit]")
            page.get_by_role("heading", name="Live class").wait_for()
        finally:
            chromium.close()
        assert fresh.health()["password_set"] is True
        assert (fresh.home / "password.argon2").read_text().startswith("$argon2id$")


def test_first_class_asks_the_deployer_to_confirm_the_use(playwright, workdir):
    home = workdir / "consent-home"
    with app_server(workdir / "consent", env={"CLASSMOOD_CONFIRMED_BY": "", "HOME": str(home)}) as fresh:
        chromium = launch_chromium(playwright)
        try:
            page = chromium.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            login(page, fresh)
            page.get_by_text("Before the first class").wait_for()
            page.get_by_text("Article 5(1)(f) of the EU AI Act", exact=False).wait_for()
            assert page.get_by_role("button", name="Start").count() == 0  # no class before the confirmation
            page.get_by_role("button", name="I confirm this use").click()
            page.get_by_text("say who confirms", exact=False).wait_for()
            page.get_by_label("Who confirms (your name or role)").fill("Ms Test, teacher")
            page.get_by_role("button", name="I confirm this use").click()
            page.get_by_text("Video source").wait_for()
            live_page_settled(page)
            go_to(page, "Recorded")
            page.get_by_text("Class video or photo").wait_for()  # confirmed once for every page
        finally:
            chromium.close()
    saved = json.loads((home / ".local" / "share" / "classmood" / "consent.json").read_text())
    assert saved["who"] == "Ms Test, teacher" and saved["via"] == "app"
