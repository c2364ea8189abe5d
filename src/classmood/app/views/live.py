"""Live page: webcam, a shared window/screen, or a stream URL, analysed as the class goes."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime
from pathlib import Path

import streamlit as st

from classmood.app import live_overlay, resources
from classmood.app.config import AppSettings, rtc_configuration
from classmood.app.display_capture import video_constraints
from classmood.app.stream import LiveRequest, LiveStream
from classmood.app.views import consent_gate, dashboard
from classmood.class_session import ClassSession
from classmood.consent import require_confirmation
from classmood.errors import ClassmoodError
from classmood.store import SessionExistsError, queries

SOURCES = {"webcam": "Webcam", "screen": "Share a window or screen", "url": "Stream URL"}
REFRESH_S = 1.0  # students, alerts and figures
CHART_REFRESH_S = 5.0  # the mood chart: redrawing charts every second made the video stutter on 2 cores


NAME_TRIES = 5


def _start_class(request: LiveRequest) -> ClassSession:
    """Open the recorded class session (runs on the frame thread at the first frame), under a free
    name: another app or monitor sharing the database may take a name between the look and the write."""
    settings = request.settings
    feed = resources.pipeline(settings.analysis).feed(uuid.uuid4().hex)  # its faces followed frame to frame

    def open_under_a_free_name() -> ClassSession:
        return ClassSession.open(resources.store(), _free_name(request.session_name), feed, settings.analysis,
                                 source=f"app:{request.source}", consent=require_confirmation(),
                                 frames_kept=settings.store_frames, teacher=settings.teacher or None)

    for _ in range(NAME_TRIES - 1):
        with contextlib.suppress(SessionExistsError):
            return open_under_a_free_name()
    return open_under_a_free_name()


def _stream() -> LiveStream:
    if "live_stream" not in st.session_state:
        st.session_state.live_stream = LiveStream(_start_class)
    return st.session_state.live_stream


def _sink(stream: LiveStream):
    """The tab's one video sink: every received frame goes to ``stream.receive``."""
    from streamlit_webrtc import VideoSinkTrack

    if "live_sink" not in st.session_state:
        st.session_state.live_sink = VideoSinkTrack(stream.receive)
    return st.session_state.live_sink


def _session_name_taken(name: str) -> bool:
    return queries.session_exists(resources.store(), name)


def _free_name(name: str) -> str:
    """``name``, or ``name (2)``, ``name (3)``… when a session already has it."""
    candidate, number = name, 1
    while _session_name_taken(candidate):
        number += 1
        candidate = f"{name} ({number})"
    return candidate


def render() -> None:
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    settings = AppSettings.load()
    stream = _stream()
    st.title("Live class")
    if consent_gate.confirmed() is None:
        return
    st.info(settings.consent_text, icon=":material/privacy_tip:")
    if settings.store_frames:
        st.warning("Video frames of this class are kept on this computer (Settings: store video frames).",
                   icon=":material/videocam:")

    left, right = st.columns([2, 1])
    kind = left.radio("Video source", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                      key="live_source", disabled=stream.running)
    if "live_session_name" not in st.session_state or (
            not stream.running and stream.finished is not None
            and _session_name_taken(st.session_state.live_session_name)):
        st.session_state.live_session_name = f"class {datetime.now():%Y-%m-%d %H:%M:%S}"
    name = right.text_input("Session name", key="live_session_name", disabled=stream.running).strip()
    url = ""
    if kind == "url":
        url = st.text_input("Stream URL (rtsp://, http://…, or a video file path on this computer)",
                            key="live_url", disabled=stream.running).strip()

    if name and not stream.running and _session_name_taken(name):
        st.caption(f"A session named “{name}” exists already; this class will be saved as “{_free_name(name)}”.")
    problem = _problem(name, kind, url, stream)
    if problem:
        st.warning(problem)
        _class_state(stream, ticking=stream.running)
        return
    resources.pipeline(settings.analysis)  # load the models now, not on the first video frame
    stream.configure(LiveRequest(name, url or kind, settings))

    if kind == "url":  # played on the server: the video comes to the page with the faces drawn on it
        ctx = webrtc_streamer(key="live-url", mode=WebRtcMode.RECVONLY, rtc_configuration=rtc_configuration(settings),
                              player_factory=(lambda: stream.attach_player(_player(url))) if url else None,
                              media_stream_constraints={"video": True, "audio": False},
                              video_frame_callback=stream.on_frame,
                              async_processing=False)  # the callback only queues and draws: no extra frame of delay
    else:  # the page shows its own video and draws the faces over it: nothing is sent back
        ctx = webrtc_streamer(key=f"live-{kind}", mode=WebRtcMode.SENDRECV, rtc_configuration=rtc_configuration(settings),
                              media_stream_constraints=video_constraints(kind, live_overlay.register(stream)),
                              sink_video_track=_sink(stream), sendback_video=False, sendback_audio=False)
    if stream.error:
        st.error(stream.error)
        stream.reset_error()
    if not ctx.state.playing and stream.running:
        stream.stop("finished", "You stopped the video.")
    if kind == "screen":
        st.caption("Press Start, then pick the meeting window (gallery view) in the browser's sharing dialog.")
    _class_state(stream, ticking=stream.running or ctx.state.playing)


def _problem(name: str, kind: str, url: str, stream: LiveStream) -> str:
    if stream.running:
        return ""
    if not name:
        return "Give the session a name before you start."
    if kind == "url" and not url:
        return "Enter the stream URL, then press Start."
    if kind == "url" and "://" not in url and not Path(url).expanduser().is_file():
        return f"No video file at {url} on this computer."
    return ""


def _player(url: str):
    from aiortc.contrib.media import MediaPlayer

    try:
        return MediaPlayer(url, options={"rtsp_transport": "tcp"} if url.startswith("rtsp") else None)
    except Exception as exc:  # noqa: BLE001 - av raises many kinds; the teacher needs one line
        raise ClassmoodError(f"cannot open stream {url}: {exc}") from None


def _class_state(stream: LiveStream, ticking: bool) -> None:
    """The class at a glance; refreshed on timers only while video plays (an idle page has no
    timer, so leaving it cannot race a timed redraw)."""
    if ticking:
        _live_status(stream)
        _live_chart(stream)
    else:
        _status(stream)
        _chart(stream)


@st.fragment(run_every=REFRESH_S)
def _live_status(stream: LiveStream) -> None:
    _status(stream)


@st.fragment(run_every=CHART_REFRESH_S)
def _live_chart(stream: LiveStream) -> None:
    _chart(stream)


def _status(stream: LiveStream) -> None:
    live = stream.live
    if live is not None:
        snapshot = live.snapshot()
        st.caption(f"Recording session #{snapshot.session_id} · {snapshot.elapsed_s:.0f} s · "
                   f"{snapshot.frames} frames analysed")
        _alert_toasts(snapshot)
        dashboard.class_view(snapshot, charts=False, rename=live.rename)
        _rename(live, snapshot)
    elif stream.finished is not None:
        snapshot = stream.finished
        st.success(f"Session #{snapshot.session_id} saved: {snapshot.elapsed_s:.0f} s, "
                   f"{len(snapshot.students)} students, {len(snapshot.alert_log)} alerts. "
                   "See it under History.", icon=":material/save:")
        if stream.finished_reason:
            st.caption(stream.finished_reason + " Everything up to that moment is kept.")
        if stream.kept_video is not None:
            st.caption(f"Annotated video kept at {stream.kept_video} (Settings: store video frames).")
        dashboard.class_view(snapshot, charts=False)
    else:
        st.caption("Press Start to begin. Nothing is stored until the first frame arrives; "
                   "no video or pictures are ever stored unless Settings say so.")


def _chart(stream: LiveStream) -> None:
    source = stream.live.snapshot() if stream.live is not None else stream.finished
    if source is not None:
        st.subheader("Class mood")
        dashboard.mood_chart(source.timeline)


def _alert_toasts(snapshot) -> None:
    seen = st.session_state.setdefault("live_alerts_seen", set())
    names = {card.student_id: card.name for card in snapshot.students}
    for alert in snapshot.alert_log:
        key = (snapshot.session_id, alert.kind, alert.student_id, alert.started_at)
        if key not in seen:
            seen.add(key)
            st.toast(dashboard.literal(alert.message(names.get(alert.student_id))),
                     icon=":material/notifications_active:")


def _rename(live: ClassSession, snapshot) -> None:
    ids = [card.student_id for card in snapshot.students if not card.opted_out]
    if not ids:
        return
    with st.expander("Rename a student, or opt one out"), st.form("rename", clear_on_submit=True):
        student_id = st.selectbox("Student", ids, format_func=lambda i: f"id {i}")
        new_name = st.text_input("Name shown to you (stored with the session)")
        rename, opt_out = st.columns(2)
        renamed = rename.form_submit_button("Rename")
        opted_out = opt_out.form_submit_button("Opt out: stop analysing, erase what was stored",
                                               help="A named student also goes on the do-not-analyse list "
                                                    "(Settings) for later classes.")
        if renamed and new_name.strip():
            live.rename(int(student_id), new_name.strip())
            time.sleep(0.05)
        elif opted_out:
            live.opt_out(int(student_id))
            time.sleep(0.05)
