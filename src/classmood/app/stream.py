"""The bridge between streamlit-webrtc and a ``ClassSession``.

streamlit-webrtc calls ``LiveStream.on_frame`` on its own thread for every received frame.
The first frame starts a recorded ``ClassSession``; the teacher pressing Stop, or a watchdog
that sees no frame for ``settings.stall_seconds`` (connection dropped, tab closed), ends it, so
the session so far is always kept in the store.

Video and analysis are decoupled: ``on_frame`` hands the frame to a ``LatestFrameAnalyser``
(one background thread that always takes the newest frame and drops the rest) and returns the
frame at once with the latest known faces drawn on it. The video therefore flows at the
camera's rate with only the transport's latency, whatever the analysis costs; the boxes and
labels are at most one analysis old.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from classmood.annotate import draw_faces
from classmood.app.config import AppSettings
from classmood.app.stage_clock import StageClock
from classmood.class_session import ClassSession, ClassSnapshot
from classmood.errors import ClassmoodError
from classmood.types import Detections

RESTART_GRACE_S = 2.0  # frames still in flight right after a stop do not start a new class
SOURCE_END_GRACE_S = 1.0  # a played file or stream that ended: its last frames have been seen by then

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveRequest:
    """What the teacher asked for on the Live page."""

    session_name: str
    source: str  # webcam, screen or the stream URL
    settings: AppSettings


class LatestFrameAnalyser:
    """Analyse the newest offered frame on a background thread; older unanalysed frames are dropped."""

    def __init__(self, class_session: ClassSession, clock: StageClock | None = None) -> None:
        self.class_session = class_session
        self.clock = clock or StageClock()
        self.detections = Detections.empty()  # the faces of the newest analysed frame
        self.opted_out = Detections.empty()  # ... of its students who opted out (boxes only)
        self.dropped = 0
        self._frame: np.ndarray | None = None
        self._arrived = 0.0  # when the offered frame came in
        self._faces_from: float | None = None  # arrival of the frame whose faces are drawn, until first drawn
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="classmood-live-analysis")
        self._thread.start()

    def offer(self, image: np.ndarray, arrived: float) -> None:
        with self._wake:
            if self._frame is not None:
                self.dropped += 1
            self._frame, self._arrived = image, arrived
            self._wake.notify()

    def faces_drawn(self) -> None:
        """Called when the newest faces are drawn on a frame: their age is timed the first time."""
        arrived, self._faces_from = self._faces_from, None
        if arrived is not None:
            self.clock.add("faces_age", time.monotonic() - arrived)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._frame is None and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                image, self._frame, arrived = self._frame, None, self._arrived
            try:
                started = time.monotonic()
                snapshot = self.class_session.analyse(image)
                self.clock.add("analysis", time.monotonic() - started)
                self.detections, self.opted_out = snapshot.detections, snapshot.opted_out
                self._faces_from = arrived
            except Exception as exc:  # noqa: BLE001 - keep the stream alive and tell the teacher on the page
                self.class_session.error = f"Analysis failed: {exc}"
                self.detections = self.opted_out = Detections.empty()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)


class FrameKeeper:
    """Keeps the annotated video of a live class (only when Settings say *store video frames*).

    At most ``fps`` frames a second are kept, so the file plays at about real speed.
    """

    def __init__(self, path, fps: float = 10.0) -> None:
        from classmood.app.media import BrowserVideoWriter

        self.path = path
        self.interval = 1.0 / fps
        self._writer = BrowserVideoWriter(path, fps)
        self._last = -1e9
        self._lock = threading.Lock()

    def keep(self, image: np.ndarray) -> None:
        now = time.monotonic()
        with self._lock:
            if self._writer is not None and now - self._last >= self.interval:
                self._writer.write(image)
                self._last = now

    def close(self):
        with self._lock:
            writer, self._writer = self._writer, None
        return writer.close() if writer is not None else None


class LiveStream:
    """Owns the live class of one browser tab; safe to call from the frame thread."""

    def __init__(self, make_live) -> None:
        self._make_live = make_live  # LiveRequest -> ClassSession (opened on the pipeline, recorded)
        self._lock = threading.Lock()
        self.request: LiveRequest | None = None
        self.live: ClassSession | None = None
        self.finished: ClassSnapshot | None = None
        self.finished_reason = ""
        self.error: str | None = None
        self._last_frame = 0.0
        self._stopped_at = 0.0
        self._watchdog: threading.Thread | None = None
        self._analyser: LatestFrameAnalyser | None = None
        self._keeper: FrameKeeper | None = None
        self.kept_video = None  # where the annotated video of the last class was kept, if it was
        self._stopping = False
        self._received = 0  # video frames that reached the server during the current class
        self._started_at = 0.0
        self._player = None  # the server-side player of a stream URL or video file, if that is the source

    def attach_player(self, player):
        """Remember the player (aiortc ``MediaPlayer``) that reads a stream URL or file, so that the
        end of its video ends the class as *finished*, not as a dropped connection; returns it."""
        self._player = player
        return player

    def _source_ended(self) -> bool:
        track = getattr(self._player, "video", None)
        return track is not None and track.readyState == "ended"

    def configure(self, request: LiveRequest) -> None:
        with self._lock:
            self.request = request

    def on_frame(self, frame):
        """streamlit-webrtc's ``video_frame_callback``: queue one ``av.VideoFrame`` for analysis and
        return it with the latest known faces drawn."""
        import av

        analyser = self._ensure_live()
        if analyser is None:
            return frame
        clock = analyser.clock
        t0 = self._last_frame = time.monotonic()
        clock.arrived(t0)
        self._received += 1
        image = frame.to_ndarray(format="bgr24")
        t1 = time.monotonic()
        analyser.offer(image, t0)
        # a copy: the image stays clean for analysis
        annotated = draw_faces(image, analyser.detections, opted_out=analyser.opted_out)
        analyser.faces_drawn()
        if self._keeper is not None:
            self._keeper.keep(annotated)
        t2 = time.monotonic()
        out = av.VideoFrame.from_ndarray(annotated, format="bgr24")
        if frame.time_base is not None:
            out.pts, out.time_base = frame.pts, frame.time_base
        clock.add("to_pixels", t1 - t0)
        clock.add("draw", t2 - t1)
        clock.add("to_video", time.monotonic() - t2)
        if clock.due():
            log.info(clock.line())
        return out

    def _ensure_live(self) -> LatestFrameAnalyser | None:
        with self._lock:
            if self.live is not None or self.request is None or self.error is not None:
                return self._analyser if self.live is not None else None
            if self._stopping or time.monotonic() - self._stopped_at < RESTART_GRACE_S:
                return None
            try:
                self.live = self._make_live(self.request)
            except ClassmoodError as exc:
                self.error = str(exc)
                return None
            self.finished = None
            self._received, self._started_at = 0, time.monotonic()
            log.info("live class started: session %s, source %s", self.live.session_id,
                     self.request.source)
            self._analyser = LatestFrameAnalyser(self.live)
            if self.request.settings.store_frames:
                from classmood.app.config import kept_video_path

                self._keeper = FrameKeeper(kept_video_path(self.request.session_name))
            self._last_frame = time.monotonic()
            self._watchdog = threading.Thread(target=self._watch, args=(self.live, self.request.settings.stall_seconds),
                                              daemon=True,
                                              name="classmood-live-watchdog")
            self._watchdog.start()
            return self._analyser

    def _watch(self, live: ClassSession, stall_s: float) -> None:
        while True:
            time.sleep(min(1.0, stall_s / 4))
            if self.live is not live:  # stopped meanwhile
                return
            idle = time.monotonic() - self._last_frame
            if self._source_ended() and idle > SOURCE_END_GRACE_S:
                self.stop("finished", "The video ended.")
            elif idle > stall_s:
                log.warning("no video frame for %.0f s (the last after %.2f s of the class, %d frames received)",
                            stall_s, self._last_frame - self._started_at, self._received)
                self.stop("interrupted", "The video stopped arriving (connection dropped?).")

    def stop(self, status: str = "finished", reason: str = "") -> ClassSnapshot | None:
        """End the live class (idempotent); returns its final state."""
        with self._lock:
            live, self.live = self.live, None
            self._player = None  # the next class brings its own source
            analyser, self._analyser = self._analyser, None
            keeper, self._keeper = self._keeper, None
            if live is None:
                return self.finished
            self._stopped_at = time.monotonic()
            self._stopping = True
        try:
            if analyser is not None:
                analyser.stop()
            try:
                live.finish(status, "" if status == "finished" else reason)  # why it was interrupted, stored
            except ClassmoodError as exc:  # e.g. the database went away: say so on the page
                live.error = f"Could not finish the recording: {exc}"
            self.kept_video = keeper.close() if keeper is not None else None
        finally:
            with self._lock:
                self.finished = live.snapshot()
                self.finished_reason = reason
                self._stopping = False
            if analyser is not None:
                log.info(analyser.clock.line())
            log.info("live class ended (%s): session %s, %.1f s, %d frames received, %d analysed, %d dropped "
                     "while analysis was busy%s", status, self.finished.session_id, self.finished.elapsed_s,
                     self._received, self.finished.frames, analyser.dropped if analyser is not None else 0,
                     f"; {reason}" if reason else "")
        return self.finished

    def reset_error(self) -> None:
        with self._lock:
            self.error = None

    @property
    def running(self) -> bool:
        """True from the first frame until the class is fully recorded (also while it is ending)."""
        return self.live is not None or self._stopping
