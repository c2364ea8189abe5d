"""The bridge between streamlit-webrtc and a ``ClassSession``.

streamlit-webrtc hands ``LiveStream`` every received frame on its own thread: ``receive`` for a
webcam or shared screen (the page shows its own video and draws the faces over it, see
``display_capture``; nothing is sent back), ``on_frame`` for a stream URL played on the server
(the frame goes back with the faces drawn). The first frame starts a recorded ``ClassSession``;
the teacher pressing Stop, or a watchdog that sees no frame for ``settings.stall_seconds``
(connection dropped, tab closed), ends it, so the session so far is always kept in the store.

Video and analysis are decoupled: each frame goes to a ``LatestFrameAnalyser`` (one background
thread that always takes the newest frame and drops the rest), so the video flows at the
camera's rate whatever the analysis costs; the faces shown are those of the newest analysed frame
(``LatestFaces``).
"""

from __future__ import annotations

import itertools
import logging
import secrets
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


_VERSIONS = itertools.count(1)  # every analysed frame of every class gets its own


@dataclass(frozen=True, slots=True)
class FrameArrival:
    """When a video frame reached the server, and which frame it was."""

    monotonic: float  # time.monotonic(), for the server's own stage timing
    wall: float  # time.time(), comparable with the browser's clock on the same computer
    pts: int | None  # the frame's video timestamp (RTP clock, counted from the connection's first frame)


@dataclass(frozen=True, slots=True)
class LatestFaces:
    """The faces of the newest analysed frame of a live class."""

    version: int  # new for each analysed frame (0: none yet)
    detections: Detections
    opted_out: Detections  # the faces of students who opted out (boxes only)
    size: tuple[int, int]  # width, height of the analysed frame
    arrival: FrameArrival | None = None  # of the analysed frame

    @classmethod
    def none(cls) -> LatestFaces:
        return cls(0, Detections.empty(), Detections.empty(), (0, 0))


class LatestFrameAnalyser:
    """Analyse the newest offered frame on a background thread; older unanalysed frames are dropped."""

    def __init__(self, class_session: ClassSession, clock: StageClock | None = None) -> None:
        self.class_session = class_session
        self.clock = clock or StageClock()
        self.latest = LatestFaces.none()
        self.dropped = 0
        self._frame: np.ndarray | None = None
        self._arrival: FrameArrival | None = None  # of the offered frame
        self._faces_from: float | None = None  # arrival of the frame whose faces are drawn, until first drawn
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="classmood-live-analysis")
        self._thread.start()

    def offer(self, image: np.ndarray, arrival: FrameArrival) -> None:
        with self._wake:
            if self._frame is not None:
                self.dropped += 1
            self._frame, self._arrival = image, arrival
            self._wake.notify()

    def faces_shown(self) -> None:
        """Called when the newest faces are drawn on a frame or sent to the page: their age (from
        their frame's arrival) is timed the first time."""
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
                image, self._frame, arrival = self._frame, None, self._arrival
            try:
                started = time.monotonic()
                snapshot = self.class_session.analyse(image)
                self.clock.add("analysis", time.monotonic() - started)
                faces = snapshot.detections, snapshot.opted_out
            except Exception as exc:  # noqa: BLE001 - keep the stream alive and tell the teacher on the page
                self.class_session.error = f"Analysis failed: {exc}"
                faces = Detections.empty(), Detections.empty()
            self.latest = LatestFaces(next(_VERSIONS), *faces, (image.shape[1], image.shape[0]), arrival)
            self._faces_from = arrival.monotonic

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
        self.feed_token = secrets.token_urlsafe(18)  # the page fetches this tab's faces with it

    def latest_faces(self) -> LatestFaces | None:
        """The faces of the newest analysed frame of the running class (None: no class running),
        counted as shown."""
        analyser = self._analyser
        if analyser is None:
            return None
        analyser.faces_shown()
        return analyser.latest

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

    def receive(self, frame) -> None:
        """streamlit-webrtc's video sink (webcam, shared screen): queue one ``av.VideoFrame`` for
        analysis; the page draws the faces itself."""
        taken = self._take(frame)
        if taken is not None and self._keeper is not None:
            analyser, image = taken
            self._keeper.keep(self._annotated(analyser, image))
        self._log_timing(taken)

    def on_frame(self, frame):
        """streamlit-webrtc's ``video_frame_callback`` (a stream played on the server): queue one
        ``av.VideoFrame`` for analysis and return it with the latest known faces drawn."""
        import av

        taken = self._take(frame)
        if taken is None:
            return frame
        analyser, image = taken
        annotated = self._annotated(analyser, image)
        analyser.faces_shown()
        if self._keeper is not None:
            self._keeper.keep(annotated)
        t0 = time.monotonic()
        out = av.VideoFrame.from_ndarray(annotated, format="bgr24")
        if frame.time_base is not None:
            out.pts, out.time_base = frame.pts, frame.time_base
        analyser.clock.add("to_video", time.monotonic() - t0)
        self._log_timing(taken)
        return out

    def _take(self, frame) -> tuple[LatestFrameAnalyser, np.ndarray] | None:
        """Count the frame, convert it to pixels and offer it for analysis (None: no class to feed)."""
        analyser = self._ensure_live()
        if analyser is None:
            return None
        t0 = self._last_frame = time.monotonic()
        analyser.clock.arrived(t0)
        self._received += 1
        image = frame.to_ndarray(format="bgr24")
        analyser.clock.add("to_pixels", time.monotonic() - t0)
        analyser.offer(image, FrameArrival(t0, time.time(), frame.pts))
        return analyser, image

    @staticmethod
    def _annotated(analyser: LatestFrameAnalyser, image: np.ndarray) -> np.ndarray:
        """A copy of ``image`` with the latest faces drawn (the image stays clean for analysis)."""
        t0 = time.monotonic()
        latest = analyser.latest
        annotated = draw_faces(image, latest.detections, opted_out=latest.opted_out)
        analyser.clock.add("draw", time.monotonic() - t0)
        return annotated

    @staticmethod
    def _log_timing(taken) -> None:
        if taken is not None and taken[0].clock.due():
            log.info(taken[0].clock.line())

    def _ensure_live(self) -> LatestFrameAnalyser | None:
        with self._lock:
            if self.live is not None or self.request is None or self.error is not None:
                return self._analyser if self.live is not None else None
            if self._stopping or time.monotonic() - self._stopped_at < RESTART_GRACE_S:
                return None
            opening = time.monotonic()
            try:
                self.live = self._make_live(self.request)
            except ClassmoodError as exc:
                self.error = str(exc)
                return None
            self.finished = None
            self._received, self._started_at = 0, time.monotonic()
            log.info("live class started: session %s, source %s (opened in %.0f ms)", self.live.session_id,
                     self.request.source, 1000 * (self._started_at - opening))
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
