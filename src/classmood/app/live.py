"""One live class in the web app: frames in, annotated frames and the class state out.

``LiveClass.process`` runs on streamlit-webrtc's frame thread; ``snapshot`` on the page's
script thread; a lock keeps them apart. Per frame it uses the same parts as
``classmood monitor``: the ``Pipeline`` (detect + classify), the ``StudentTracker`` (stable
ids), the ``ClassAggregator`` (smoothing, engagement, per-second rows, alerts), and a
recorder that writes finished seconds and alerts to the session store as they happen, so a
dropped connection keeps everything recorded so far.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from classmood.aggregate import (
    AggregateUpdate, AggregatorConfig, Alert, AlertConfig, ClassAggregator, ClassMood, Observation, StudentCard,
)
from classmood.annotate import draw_faces
from classmood.app.config import AppSettings
from classmood.emotions import EMOTIONS
from classmood.store import SessionRecorder, StudentSighting
from classmood.track.appearance import embed_faces
from classmood.track.tracker import StudentTracker
from classmood.types import Frame

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


def aggregator_config(settings: AppSettings) -> AggregatorConfig:
    """The alert thresholds the teacher chose on the Settings page."""
    return AggregatorConfig(alerts=AlertConfig(
        absent_after_s=settings.absent_seconds,
        negative_after_s=settings.negative_seconds,
        negative_threshold=settings.negative_threshold,
        mood_drop=settings.mood_drop,
    ))


class LiveClass:
    """Analyse the frames of one live class and keep its state (thread-safe)."""

    def __init__(self, settings: AppSettings, pipeline, recorder: SessionRecorder | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.recorder = recorder
        self.tracker = StudentTracker()
        self.aggregator = ClassAggregator(aggregator_config(settings))
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
        t0 = time.monotonic()
        now = t0 - self._started if now is None else now
        try:
            faces = self.pipeline.process(Frame(image, self._frames, now)).faces
            boxes = np.array([f.box for f in faces], np.float32).reshape(-1, 4)
            embeddings = embed_faces(image, boxes)
            with self._lock:
                if self.closed:
                    return image
                ids = self.tracker.update(boxes, embeddings, now)
                observations = []
                for face, student_id in zip(faces, ids):
                    face.track_id = student_id
                    probs = np.array([face.probabilities[e] for e in EMOTIONS], np.float32)
                    observations.append(Observation(student_id, probs, face.box))
                self._apply(self.aggregator.update(now, observations), observations, now)
            annotated = draw_faces(image, faces)
        except Exception as exc:  # keep the stream alive and tell the teacher on the page
            self.error = f"Analysis failed: {exc}"
            annotated = image
        with self._lock:
            self._frames += 1
            self._frame_times.append(time.monotonic())
            self._latencies.append(time.monotonic() - t0)
        return annotated

    def _apply(self, update: AggregateUpdate, observations: list[Observation], now: float) -> None:
        """Keep the timeline and alerts, and hand finished seconds and alerts to the recorder."""
        self.alert_log.extend(update.opened)
        second = int(now)
        if second != self._last_second:
            mood = self.aggregator.mood()
            self.timeline.append(MoodPoint(float(second), mood.engagement, mood.present, mood.probabilities))
            self._last_second = second
        if self.recorder is not None:
            students = self.aggregator.students
            self.recorder.record(update, [
                StudentSighting(o.student_id, students[o.student_id].first_seen, now) for o in observations
            ])

    def snapshot(self) -> ClassSnapshot:
        """A copy of the current state for drawing."""
        with self._lock:
            times = list(self._frame_times)
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            return ClassSnapshot(
                students=self.aggregator.cards(),
                mood=self.aggregator.mood(),
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
            self.aggregator.names[student_id] = name
            if self.recorder is not None:
                self.recorder.rename(student_id, name, source="teacher")

    def close(self, status: str = "finished") -> None:
        """End the class: flush the last second, close open alerts, finish the recording.

        ``status`` is ``interrupted`` when the connection dropped rather than the teacher stopping.
        """
        with self._lock:
            if self.closed:
                return
            self.closed = True
            update = self.aggregator.finish()
            if self.recorder is not None:
                self.recorder.record(update)
                self.recorder.finish(status)
