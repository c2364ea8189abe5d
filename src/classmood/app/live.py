"""One live class in the web app: frames in, annotated frames and the class state out.

``LiveClass.process`` runs on streamlit-webrtc's frame thread; ``snapshot`` on the page's
script thread; a lock keeps them apart. Per frame it runs exactly what ``classmood monitor``
runs: the ``Pipeline`` (detect + classify), then ``ClassMonitor`` (tracker with stable ids,
aggregator with smoothing, engagement and alerts, and the ``SessionRecorder`` that writes
finished seconds and alerts to the store about every second, so a dropped connection keeps
everything recorded so far).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from classmood.aggregate import Alert, ClassMood, StudentCard
from classmood.annotate import draw_faces
from classmood.app.config import AppSettings
from classmood.errors import ClassmoodError
from classmood.monitor import ClassMonitor, MonitorConfig
from classmood.store import SessionRecorder
from classmood.types import Face, Frame

TIMELINE_POINTS = 1800  # one point per second: the last half hour on the live chart


@dataclass(frozen=True, slots=True)
class MoodPoint:
    """The class in one second: mean engagement and mean emotion probabilities of present faces."""

    t: float
    engagement: float
    present: int
    probabilities: dict[str, float]


@dataclass(frozen=True, slots=True)
class ClassSnapshot:
    """A consistent copy of the live class state for the page to draw."""

    students: list[StudentCard]
    mood: ClassMood
    timeline: list[MoodPoint]
    alerts: list[Alert]
    frames: int
    fps: float
    latency_ms: float
    elapsed_s: float
    session_id: int | None = None
    error: str | None = None


class LiveClass:
    """Analyse the frames of one live class and keep its state (thread-safe)."""

    def __init__(self, settings: AppSettings, pipeline, recorder: SessionRecorder | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.monitor = ClassMonitor(MonitorConfig(aggregator=settings.class_settings().aggregator_config()), recorder)
        self.recorder = recorder
        self.alert_log: list[Alert] = []
        self.timeline: deque[MoodPoint] = deque(maxlen=TIMELINE_POINTS)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._frames = 0
        self._frame_times: deque[float] = deque(maxlen=30)
        self._latencies: deque[float] = deque(maxlen=30)
        self._last_second: int | None = None
        self.error: str | None = None
        self.closed = False

    def process(self, image: np.ndarray, now: float | None = None) -> np.ndarray:
        """Analyse one BGR frame and return it annotated (the original frame on an error)."""
        return draw_faces(image, self.analyse(image, now))

    def analyse(self, image: np.ndarray, now: float | None = None) -> list[Face]:
        """Detect, classify, track, aggregate and record one BGR frame; its faces carry student ids."""
        t0 = time.monotonic()
        now = t0 - self._started if now is None else now
        faces: list[Face] = []
        try:
            result = self.pipeline.process(Frame(image, self._frames, now))
            with self._lock:
                if self.closed:
                    return []
                snapshot = self.monitor.process(result)
                self.alert_log.extend(snapshot.opened)
                second = int(snapshot.timestamp)
                if second != self._last_second:
                    mood = snapshot.mood
                    self.timeline.append(MoodPoint(float(second), mood.engagement, mood.present, mood.probabilities))
                    self._last_second = second
            faces = result.detections.to_faces()
        except Exception as exc:  # noqa: BLE001 - keep the stream alive and tell the teacher on the page
            self.error = f"Analysis failed: {exc}"
        with self._lock:
            self._frames += 1
            self._frame_times.append(time.monotonic())
            self._latencies.append(time.monotonic() - t0)
        return faces

    def snapshot(self) -> ClassSnapshot:
        """A copy of the current state for drawing."""
        with self._lock:
            times = list(self._frame_times)
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            aggregator = self.monitor.aggregator
            return ClassSnapshot(
                students=aggregator.cards(),
                mood=aggregator.mood(),
                timeline=list(self.timeline),
                alerts=list(self.alert_log),
                frames=self._frames,
                fps=(len(times) - 1) / span if span > 0 else 0.0,
                latency_ms=1000 * float(np.mean(self._latencies)) if self._latencies else 0.0,
                elapsed_s=time.monotonic() - self._started,
                session_id=getattr(self.recorder, "session_id", None),
                error=self.error,
            )

    def rename(self, student_id: int, name: str) -> None:
        with self._lock:
            self.monitor.rename(student_id, name, "teacher")

    def close(self, status: str = "finished", detail: str = "") -> None:
        """End the class: last second stored, open alerts closed, the recording finished.

        ``status`` is ``interrupted`` when the connection dropped rather than the teacher stopping,
        ``truncated`` when a recorded video ended early (``detail`` says why).
        """
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self.monitor.finish(status, detail)
            except ClassmoodError as exc:  # e.g. the database went away: say so on the page
                self.error = f"Could not finish the recording: {exc}"
