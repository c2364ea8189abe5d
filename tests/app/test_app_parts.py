"""The web app's parts without a browser: password, cookie, settings, ICE, the live engine."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import pytest

pytest.importorskip("argon2", reason="the web app needs the app extra: pip install -e '.[app]'")
pytest.importorskip("itsdangerous")

from fixtures.app_harness import face_canvas, fer_faces, wait_until


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSMOOD_APP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLASSMOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    for name in ("CLASSMOOD_APP_PASSWORD", "CLASSMOOD_APP_ABSENT_AFTER_S", "CLASSMOOD_APP_ICE_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def test_password_is_hashed_and_checked(home):
    from classmood.app import auth

    assert not auth.password_is_set() and not auth.check_password("anything")
    auth.set_password("a good password")
    stored = (home / "password.argon2").read_text()
    assert stored.startswith("$argon2id$") and "a good password" not in stored
    assert auth.check_password("a good password")
    assert not auth.check_password("a good passwort")
    with pytest.raises(auth.PasswordError):
        auth.set_password("short")


def test_password_from_environment_is_stored_hashed(home, monkeypatch):
    from classmood.app import auth

    monkeypatch.setenv("CLASSMOOD_APP_PASSWORD", "from the environment")
    auth.apply_password_from_env()
    assert auth.check_password("from the environment")
    first = (home / "password.argon2").read_text()
    auth.apply_password_from_env()  # unchanged password: the hash is not rewritten
    assert (home / "password.argon2").read_text() == first


def test_session_cookie_cannot_be_forged_or_kept_forever(home, monkeypatch):
    from classmood.app import auth

    token = auth.issue_token()
    assert auth.token_is_valid(token)
    assert not auth.token_is_valid(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert not auth.token_is_valid("")
    monkeypatch.setattr(auth, "SESSION_MAX_AGE_S", -1)
    assert not auth.token_is_valid(token)


def test_sign_out_and_a_new_password_revoke_cookies(home):
    from classmood.app import auth

    auth.set_password("a good password")
    kept, signed_out = auth.issue_token(), auth.issue_token()
    auth.revoke_token(signed_out)
    assert not auth.token_is_valid(signed_out) and auth.token_is_valid(kept)
    assert "a good password" not in (home / "revoked.json").read_text()
    auth.revoke_token("not.a.cookie")  # ignored, nothing breaks
    assert auth.token_is_valid(kept)
    auth.set_password("another good password")
    assert not auth.token_is_valid(kept)  # issued under the old password
    assert auth.token_is_valid(auth.issue_token())


def test_login_redirect_stays_on_this_server():
    from classmood.app.server import _safe_next

    assert _safe_next("/history") == "/history"
    for bad in ("https://evil.example/", "//evil.example/", "", None, "/login?next=/x"):
        assert _safe_next(bad) == "/"


def test_settings_round_trip_and_environment_overrides(home, monkeypatch):
    from classmood.app.config import AppSettings, rtc_configuration

    settings = AppSettings.load()
    assert settings.store_frames is False and settings.analysis.model == "realtime"
    assert rtc_configuration(settings) == {"iceServers": []}  # offline by default: no STUN/TURN
    settings.with_analysis(absent_after_s=12.5)
    settings.ice_servers = [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "c"}]
    settings.save()
    assert oct((home / "settings.json").stat().st_mode & 0o777) == "0o600"
    assert not [p for p in home.iterdir() if "partial" in p.name]
    loaded = AppSettings.load()
    assert loaded.analysis.absent_after_s == 12.5 and rtc_configuration(loaded)["iceServers"][0]["username"] == "u"
    monkeypatch.setenv("CLASSMOOD_APP_ABSENT_AFTER_S", "1")
    monkeypatch.setenv("CLASSMOOD_APP_STORE_FRAMES", "yes")
    loaded = AppSettings.load()
    assert loaded.analysis.absent_after_s == 1.0 and loaded.store_frames is True


def test_corrupt_settings_file_falls_back_to_defaults(home):
    from classmood.app.config import AppSettings

    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text("{ not json")
    assert AppSettings.load().analysis.model == "realtime"


def test_live_class_tracks_alerts_and_records(home):
    from classmood.app.config import AppSettings
    from classmood.class_session import ClassSession
    from classmood.pipeline import Pipeline
    from classmood.store import Store, queries
    from classmood.types import Frame

    settings = AppSettings.load()
    settings.with_analysis(absent_after_s=0.5)
    store = Store()
    live = ClassSession.open(store, "unit", Pipeline(), settings.analysis, source="app:webcam")
    present, away = face_canvas(fer_faces(1)), face_canvas([])
    for i in range(60):
        snapshot = live.analyse(Frame(present if i < 20 else away, i, i * 0.1))
        assert snapshot.faces == (1 if i < 20 else 0)
        if i < 20:
            assert snapshot.detections.student_ids.tolist() == [1] and snapshot.detections.names.tolist() == ["S01"]
    snapshot = live.snapshot()
    assert [card.student_id for card in snapshot.students] == [1]
    assert snapshot.frames == 60 and snapshot.error is None
    assert [a.kind for a in snapshot.alert_log] == ["absent"] and snapshot.alerts == snapshot.alert_log
    assert len(snapshot.timeline) >= 5
    assert [a.kind for a in live.finish()] == ["absent"]  # open alerts close with the class
    assert live.finish() == [] and live.snapshot().alerts == []  # ending twice changes nothing
    summary = queries.get_summary(store, "unit")
    assert summary.status == "finished" and summary.students == 1 and summary.alerts == 1
    assert not queries.seconds_frame(store, "unit").empty


def _live_stream(store, settings, name: str):
    """A LiveStream whose classes run the real pipeline and record into ``store``."""
    from classmood.app.stream import LiveRequest, LiveStream
    from classmood.class_session import ClassSession
    from classmood.pipeline import Pipeline

    def start(request: LiveRequest) -> ClassSession:
        return ClassSession.open(store, request.session_name, Pipeline(), request.settings.analysis)

    stream = LiveStream(start)
    stream.configure(LiveRequest(name, "webcam", settings))
    return stream


def _camera_frame(faces: int):
    """A webcam frame (av.VideoFrame) with ``faces`` real FER-2013 faces."""
    import av

    return av.VideoFrame.from_ndarray(face_canvas(fer_faces(faces) if faces else []), format="bgr24")


def test_stalled_stream_ends_the_class_as_interrupted(home, monkeypatch):
    from classmood.app.config import AppSettings
    from classmood.store import Store, queries

    store = Store()
    settings = AppSettings.load()
    settings.stall_seconds = 0.4
    stream = _live_stream(store, settings, "stalls")
    frame = _camera_frame(1)
    for _ in range(3):
        out = stream.on_frame(frame)
        assert out.width == frame.width
    assert stream.running
    deadline = time.monotonic() + 5
    while stream.finished is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not stream.running and stream.finished is not None
    summary = queries.get_summary(store, "stalls")
    assert summary.status == "interrupted" and "stopped arriving" in summary.detail  # the reason is stored
    stream.on_frame(frame)  # a late frame right after the stop does not start a new class
    assert not stream.running


def _wait_for_faces(stream, after: int = 0, timeout_s: float = 30.0):
    """The faces of an analysed frame newer than version ``after``."""
    def newer():
        latest = stream.latest_faces()
        return latest if latest is not None and latest.version not in (0, after) else None

    return wait_until(newer, timeout_s, interval_s=0.02)


def test_a_received_frame_is_analysed_and_its_faces_go_to_the_page(home):
    from fractions import Fraction

    from classmood.app.config import AppSettings
    from classmood.app.live_overlay import payload
    from classmood.store import Store

    stream = _live_stream(Store(), AppSettings.load(), "overlay")
    assert stream.latest_faces() is None
    assert payload(None) == {"live": False, "version": "", "faces": []}
    frame = _camera_frame(1)
    frame.pts, frame.time_base = 3000, Fraction(1, 90000)
    assert stream.receive(frame) is None  # nothing goes back: the page draws the faces itself
    latest = _wait_for_faces(stream)
    data = payload(latest)
    assert data["live"] and data["size"] == [640, 480] and data["frame_pts"] == 3000
    [face] = data["faces"]
    x, y, w, h = face["box"]
    assert 0 <= x < x + w <= 1 and 0 <= y < y + h <= 1 and w > 0.2  # shares of the frame: the face is 384 px
    assert face["label"].startswith("#1 ") and face["label"].endswith("%") and 0 < face["confidence"] <= 1
    assert face["color"].startswith("rgb(")
    stream.live.opt_out(1)  # a student who opted out: a grey box, no emotion
    stream.receive(frame)
    data = payload(_wait_for_faces(stream, latest.version))
    assert [(f["label"], f["confidence"]) for f in data["faces"]] == [("opted out", None)]
    stream.stop()
    assert stream.latest_faces() is None


@contextlib.contextmanager
def _uvicorn(asgi):
    """A real uvicorn server of ``asgi`` on a loopback socket bound as Streamlit binds its own (no
    protocol named); yields a keep-alive ``http.client`` connection to it."""
    import asyncio
    import http.client
    import socket
    import threading

    import uvicorn

    sock = socket.socket(family=socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi, lifespan="off", log_level="error", http="h11"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=10)
    try:
        yield connection
    finally:
        connection.close()
        server.should_exit = True
        thread.join(timeout=10)


def _get(connection, path: str) -> tuple[int, dict, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_live_faces_route_waits_for_newer_faces(home):
    import json
    import threading
    from urllib.parse import urlencode

    from starlette.applications import Starlette
    from starlette.routing import Route

    from classmood.app import live_overlay
    from classmood.app.config import AppSettings
    from classmood.store import Store

    stream = _live_stream(Store(), AppSettings.load(), "route")
    feed = live_overlay.register(stream)

    def faces(connection, **query) -> dict:
        status, headers, body = _get(connection, f"{live_overlay.PATH}?{urlencode({'feed': feed, **query})}")
        assert status == 200 and headers["cache-control"] == "no-store"
        return json.loads(body)

    with _uvicorn(Starlette(routes=[Route(live_overlay.PATH, live_overlay.live_faces)])) as connection:
        assert _get(connection, f"{live_overlay.PATH}?feed=not-a-feed")[0] == 404
        assert faces(connection)["live"] is False
        frame = _camera_frame(1)
        stream.receive(frame)
        first = str(_wait_for_faces(stream).version)
        assert faces(connection)["version"] == first
        started = time.monotonic()  # nothing newer: the answer waits, then says the same
        assert faces(connection, after=first)["version"] == first
        assert time.monotonic() - started >= live_overlay.WAIT_S * 0.9
        threading.Timer(0.3, stream.receive, (frame,)).start()  # a newer frame while the page waits
        started = time.monotonic()
        newer = faces(connection, after=first)
        assert newer["version"] != first and len(newer["faces"]) == 1
        assert 0.25 < time.monotonic() - started < live_overlay.WAIT_S + 0.5
    stream.stop()


def test_connections_send_small_responses_at_once():
    """Streamlit's listening socket names no protocol, so asyncio leaves Nagle's algorithm on (each
    response after the first on a connection waited ~40 ms); ``NoDelay`` switches it off."""
    import socket

    from classmood.app.nodelay import NoDelay, _connection_socket

    async def app(scope, receive, send):
        sock = _connection_socket(receive)
        body = str(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    for asgi, expected in ((app, b"False"), (NoDelay(app), b"True")):
        with _uvicorn(asgi) as connection:
            assert [_get(connection, "/")[2] for _ in range(2)] == [expected] * 2  # on a kept-alive connection


def test_a_video_frame_is_handed_on_when_its_marker_packet_arrives():
    """aiortc's buffer waited for the next frame's first packet (a frame interval late); the marker
    bit closes a VP8 or H.264 frame, so a complete frame goes on at once."""
    import aiortc.rtcrtpreceiver
    from aiortc.jitterbuffer import JitterBuffer
    from aiortc.rtp import RtpPacket

    from classmood.app.rtp_frames import MarkerJitterBuffer, hand_on_complete_frames

    def packet(sequence: int, timestamp: int, marker: bool) -> RtpPacket:
        made = RtpPacket(payload_type=96, marker=int(marker), sequence_number=sequence, timestamp=timestamp)
        made._data = b"%d," % sequence
        return made

    frames = [(0, 3000, False), (1, 3000, False), (2, 3000, True), (3, 6000, False), (4, 6000, True)]
    handed_on = {}
    for buffer in (JitterBuffer(capacity=128, is_video=True), MarkerJitterBuffer(capacity=128, is_video=True)):
        handed_on[type(buffer)] = [(seq, out.timestamp, out.data) for seq, ts, marker in frames
                                   if (out := buffer.add(packet(seq, ts, marker))[1]) is not None]
    assert handed_on[JitterBuffer] == [(3, 3000, b"0,1,2,")]  # only when the next frame began
    assert handed_on[MarkerJitterBuffer] == [(2, 3000, b"0,1,2,"), (4, 6000, b"3,4,")]
    gap = MarkerJitterBuffer(capacity=128, is_video=True)  # a packet missing: the frame is not complete
    assert [gap.add(packet(seq, 3000, seq == 2))[1] for seq in (0, 2)] == [None, None]
    audio = MarkerJitterBuffer(capacity=16, prefetch=4)  # audio keeps aiortc's rule
    assert audio.add(packet(0, 960, True))[1] is None
    hand_on_complete_frames()
    assert aiortc.rtcrtpreceiver.JitterBuffer is MarkerJitterBuffer


def test_streamlit_webrtc_counts_only_completed_runs():
    """streamlit-webrtc judges a video component stale by the script runs since it was drawn; it
    reads the page's own count of completed runs (Streamlit's moved only once a run's end had been
    sent to the browser, and a run starting before that stopped a working connection)."""
    from streamlit.testing.v1 import AppTest

    def page():
        import streamlit as st
        import streamlit_webrtc.component

        from classmood.app.run_count import count_completed_run, use_for_streamlit_webrtc

        use_for_streamlit_webrtc()
        st.write(f"runs before this one: {streamlit_webrtc.component.get_script_run_count(None)}")
        if st.session_state.get("stop_early"):
            st.stop()  # a run that ends early is not counted
        count_completed_run()

    app = AppTest.from_function(page)
    assert [app.run().markdown[0].value for _ in range(3)] == [f"runs before this one: {n}" for n in range(3)]
    app.session_state["stop_early"] = True
    app.run()
    app.session_state["stop_early"] = False
    assert app.run().markdown[0].value == "runs before this one: 3"


def test_live_class_that_cannot_record_says_why(home):
    from classmood.app.config import AppSettings
    from classmood.app.stream import LiveRequest, LiveStream
    from classmood.errors import ClassmoodError

    def start(request):
        raise ClassmoodError("a session named 'x' already exists")

    stream = LiveStream(start)
    stream.configure(LiveRequest("x", "webcam", AppSettings.load()))
    frame = _camera_frame(0)
    assert stream.on_frame(frame) is frame
    assert stream.error == "a session named 'x' already exists"


def test_browser_video_is_h264_and_atomic(tmp_path):
    import av

    from classmood.app.media import BrowserVideoWriter

    target = tmp_path / "out.mp4"
    writer = BrowserVideoWriter(target, 10)
    for i in range(12):
        writer.write(np.full((121, 161, 3), i * 10, np.uint8))  # odd sizes are trimmed to even
        assert not target.exists()
    assert writer.close() == target
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.width == 160
        assert sum(1 for _ in container.decode(stream)) == 12
    aborted = BrowserVideoWriter(tmp_path / "never.mp4", 10)
    aborted.write(np.zeros((64, 64, 3), np.uint8))
    aborted.abort()
    assert list(tmp_path.iterdir()) == [target]


def test_display_capture_script_is_injected_into_the_component_page():
    import asyncio

    from classmood.app.display_capture import (
        SCRIPT,
        WEBRTC_COMPONENT_PAGE,
        DisplayCaptureInjector,
    )

    page = b"<html><head><title>x</title></head><body></body></html>"

    async def component(scope, receive, send):
        assert not any(k == b"accept-encoding" for k, _ in scope["headers"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(page)).encode())]})
        await send({"type": "http.response.body", "body": page[:10], "more_body": True})
        await send({"type": "http.response.body", "body": page[10:]})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": "http", "path": WEBRTC_COMPONENT_PAGE, "headers": [(b"accept-encoding", b"gzip")]}
    asyncio.run(DisplayCaptureInjector(component)(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert body.startswith(b"<html><head>" + SCRIPT) and body.endswith(b"</html>")
    length = dict(sent[0]["headers"])[b"content-length"]
    assert int(length) == len(body)


def test_pipeline_process_matches_the_pipeline_and_survives_a_crash():
    from classmood.app.worker import PipelineProcess
    from classmood.class_session import ClassSettings
    from classmood.types import Frame

    image = face_canvas(fer_faces(3))
    frame = Frame(image, 7, 1.5)
    expected = ClassSettings().pipeline().process(frame)
    worker = PipelineProcess(ClassSettings())
    try:
        result = worker.process(frame)
        got, want = result.detections, expected.detections
        assert result.frame is frame and len(got) == len(want) == 3
        assert np.array_equal(got.boxes, want.boxes) and got.emotions == want.emotions
        assert got.probabilities == pytest.approx(want.probabilities, abs=1e-6)
        located = worker.locate(frame)  # a class session's two steps: only the faces kept are classified
        assert located.detections.probabilities is None and located.detections.crops.shape == (3, 48, 48)
        located.detections = located.detections[1:]
        kept = worker.classify(located).detections
        assert kept.probabilities == pytest.approx(want.probabilities[1:], abs=1e-6)
        worker._process.kill()  # the analysis process dies mid-class
        worker._process.wait()
        assert len(worker.process(frame).detections) == 3  # the next frame starts a new one
    finally:
        worker.close()


def test_a_live_feed_is_followed_while_nothing_comes_in_between():
    from classmood.app.worker import PipelineProcess
    from classmood.class_session import ClassSettings
    from classmood.types import Frame

    frame = Frame(face_canvas(fer_faces(3)), 0, 0.0)
    worker = PipelineProcess(ClassSettings())
    try:
        found = worker.process(frame).detections  # an unrelated picture: searched whole, both mirror views
        picture = found.probabilities
        feed = worker.feed("class a")
        first = feed.process(frame).detections
        assert np.array_equal(first.boxes, found.boxes)  # the feed's first frame is searched whole too,
        assert np.abs(first.probabilities - picture).max() > 1e-3  # but its faces classified on one view
        second = feed.process(frame).detections.probabilities  # the mirror view, averaged with the first
        assert np.abs(second - picture).max() < 0.05 and not np.array_equal(second, picture)
        assert np.array_equal(worker.process(frame).detections.probabilities, picture)  # a picture in between
        feed.process(frame)
        other = worker.feed("class b").process(frame).detections.probabilities  # a second feed in between
        assert np.array_equal(other, picture)
        assert np.array_equal(feed.process(frame).detections.probabilities, picture)  # both analysed whole now
    finally:
        worker.close()


def test_a_live_feed_frame_without_faces_reaches_the_worker():
    """Everyone left the picture for a frame: the worker must know, or the next face's one view is
    averaged with the other view of a face seen before the gap. Frame for frame as in one process."""
    from classmood.app.worker import PipelineProcess
    from classmood.class_session import ClassSettings
    from classmood.types import Frame

    frames = [Frame(face_canvas(fer_faces(3)), 0, 0.0), Frame(face_canvas([]), 1, 0.1),
              Frame(face_canvas(fer_faces(3)), 2, 0.2)]
    in_process = ClassSettings().pipeline()
    in_process.reset(True)
    want = [in_process.process(frame).detections.probabilities for frame in frames]
    worker = PipelineProcess(ClassSettings())
    try:
        feed = worker.feed("class")
        got = [feed.process(frame).detections.probabilities for frame in frames]
    finally:
        worker.close()
    assert [len(p) for p in got] == [len(p) for p in want] == [3, 0, 3]
    assert got[2] == pytest.approx(want[2], abs=1e-6)
    assert np.abs(got[2] - got[0]).max() > 1e-3  # the other view alone, not the first frame's again


def test_pipeline_process_with_unknown_model_says_so():
    from classmood.app.worker import PipelineProcess
    from classmood.class_session import ClassSettings
    from classmood.errors import ClassmoodError

    with pytest.raises(ClassmoodError, match="cannot load the no-such-model face pipeline"):
        PipelineProcess(ClassSettings(model="no-such-model"))


@pytest.mark.parametrize("extra, message", [
    (["--ssl-cert", "missing-cert.pem"], "give both --ssl-cert and --ssl-key"),
    (["--ssl-cert", "missing-cert.pem", "--ssl-key", "missing-key.pem"], "missing-cert.pem: no such file"),
    (["--host", "no-such-host.invalid"], "cannot bind to no-such-host.invalid"),
])
def test_app_command_bad_options_fail_in_one_line(tmp_path, extra, message):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "from classmood.cli import main; main()", "app", *extra],
                          check=False, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_app_command_refuses_a_port_in_use(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-c", "from classmood.cli import main; main()", "app",
                               "--port", str(port)], check=False, cwd=tmp_path, capture_output=True, text=True,
                              timeout=60,
                              env={**__import__("os").environ, "CLASSMOOD_APP_HOME": str(tmp_path / "home")})
    assert done.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("store_frames", [False, True])
@pytest.mark.parametrize("way", ["receive", "on_frame"])  # webcam or screen; a stream played on the server
def test_live_frames_are_kept_only_when_asked(home, store_frames, way):
    import av

    from classmood.app.config import AppSettings
    from classmood.store import Store

    store = Store()
    settings = AppSettings.load()
    settings.store_frames = store_frames
    stream = _live_stream(store, settings, "kept?")
    frame = _camera_frame(1)
    for _ in range(5):
        getattr(stream, way)(frame)
        time.sleep(0.12)
    stream.stop()
    kept = list((home / "frames").glob("*.mp4")) if (home / "frames").exists() else []
    if store_frames:
        assert kept == [stream.kept_video] and kept[0].stat().st_size > 0
        with av.open(str(kept[0])) as container:
            assert sum(1 for _ in container.decode(video=0)) >= 3
    else:
        assert kept == [] and stream.kept_video is None
        assert not any(p.suffix in {".mp4", ".jpg", ".png"} for p in home.rglob("*"))


def test_login_throttle_backs_off_per_client_and_in_total():
    from classmood.app.throttle import LoginThrottle

    throttle = LoginThrottle(free=3, total_free=5, base_s=1.0, max_s=60.0)
    for _ in range(3):
        assert throttle.retry_after_s("10.0.0.1", now=0.0) == 0
        throttle.attempt("10.0.0.1", now=0.0)
    assert throttle.retry_after_s("10.0.0.1", now=0.0) == 1.0  # 4th try waits 1 s
    assert throttle.retry_after_s("10.0.0.2", now=0.0) == 0  # another client is not held back yet
    throttle.attempt("10.0.0.1", now=1.0)
    assert throttle.retry_after_s("10.0.0.1", now=1.0) == 2.0  # doubles
    throttle.attempt("10.0.0.2", now=1.0)
    assert throttle.retry_after_s("10.0.0.3", now=1.0) == 1.0  # 5 failures in total: everyone waits
    throttle.succeeded("10.0.0.2")
    assert throttle.retry_after_s("10.0.0.2", now=1.0) == 0.0
    assert throttle.retry_after_s("10.0.0.1", now=2000.0) == 0.0  # quiet for long: forgotten


def test_only_a_loopback_client_asking_for_a_loopback_host_is_local():
    from classmood.app.guard import is_local_visit

    assert is_local_visit("127.0.0.1", "127.0.0.1:8501") and is_local_visit("::1", "[::1]:8501")
    assert is_local_visit("127.0.0.1", "localhost:8501")
    assert not is_local_visit("192.168.1.20", "127.0.0.1:8501")  # a LAN visitor
    assert not is_local_visit("127.0.0.1", "classroom.lan:8501")  # rebinding or a proxy in front
    assert not is_local_visit("", "localhost") and not is_local_visit("127.0.0.1", "local host")


def test_host_policy_on_all_interfaces_accepts_this_machines_addresses_only(monkeypatch):
    import psutil

    from classmood.app.guard import HostPolicy

    monkeypatch.setenv("CLASSMOOD_APP_HOST", "0.0.0.0")
    monkeypatch.setenv("CLASSMOOD_APP_ALLOWED_HOSTS", "Classroom.LAN.")
    policy = HostPolicy.from_environment()
    own = next(a.address for nic in psutil.net_if_addrs().values() for a in nic if a.family.name == "AF_INET")
    assert policy.host_allowed(f"{own}:8501") and policy.host_allowed("classroom.lan:8501")
    assert not policy.host_allowed("198.51.100.7:8501") and not policy.host_allowed("evil.example")
    assert not policy.host_allowed("user@localhost") and not policy.host_allowed("localhost:99999")
    assert policy.same_origin("http://classroom.lan:8501", "ws", "classroom.lan:8501")
    assert not policy.same_origin("https://classroom.lan:8501", "ws", "classroom.lan:8501")
