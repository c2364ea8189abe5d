"""Class monitoring: pipeline results -> tracker -> aggregator -> recorder, one frame at a time.

``ClassMonitor.process(result)`` takes a ``FrameResult`` of the pipeline and returns a
``ClassSnapshot`` (per-student cards, class mood, alerts) for a terminal or web dashboard;
``run_monitor`` drives a whole source. Times are session seconds: a resumed session goes on
from where its record ended.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from classmood.aggregate import (
    AggregatorConfig, Alert, ClassAggregator, ClassMood, Observation, StudentCard,
)
from classmood.store.recorder import SessionRecorder, StudentSighting
from classmood.sources.base import Source
from classmood.track import StudentTracker, TrackerConfig, embed_faces
from classmood.track.names import NameReader, label_region
from classmood.types import FrameResult


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    aggregator: AggregatorConfig = field(default_factory=AggregatorConfig)
    read_names: bool = True  # OCR of gallery name labels, when Tesseract is installed
    ocr_every_s: float = 1.0  # wall-clock seconds between two OCR reads (bounded CPU, ~0.25 s each)
    ocr_attempts: int = 6  # reads per student before giving up on their label


@dataclass(frozen=True, slots=True)
class ClassSnapshot:
    """The class after one frame: what a dashboard shows."""

    timestamp: float  # session seconds
    frame_index: int
    students: list[StudentCard]
    mood: ClassMood
    alerts: list[Alert]  # active now
    opened: list[Alert]  # opened with this frame
    closed: list[Alert]  # closed with this frame
    faces: int  # faces in this frame

    def to_dict(self) -> dict:
        """JSON-ready form (for a web dashboard)."""
        def alert(a: Alert) -> dict:
            return {"kind": a.kind, "student_id": a.student_id, "who": self.name_of(a.student_id),
                    "started_at": round(a.started_at, 1),
                    "ended_at": None if a.ended_at is None else round(a.ended_at, 1), "detail": a.detail}

        return {
            "timestamp": round(self.timestamp, 3), "frame_index": self.frame_index, "faces": self.faces,
            "mood": {**asdict(self.mood), "probabilities": {k: round(v, 4) for k, v in self.mood.probabilities.items()}},
            "students": [{**asdict(c), "probabilities": {k: round(v, 4) for k, v in c.probabilities.items()}}
                         for c in self.students],
            "alerts": [alert(a) for a in self.alerts], "opened": [alert(a) for a in self.opened],
            "closed": [alert(a) for a in self.closed],
        }

    def name_of(self, student_id: int | None) -> str:
        for card in self.students:
            if card.student_id == student_id:
                return card.name
        return "class" if student_id is None else f"S{student_id:02d}"


class _NameScheduler:
    """Runs OCR of tile labels in a background thread, one read at a time."""

    def __init__(self, reader: NameReader, every_s: float, attempts: int) -> None:
        self.reader, self.every_s, self.attempts = reader, every_s, attempts
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classmood-ocr")
        self.pending: tuple[int, Future] | None = None
        self.tries: dict[int, int] = {}
        self.last = 0.0

    def step(self, image: np.ndarray, faces: list[tuple[int, tuple]]) -> list[tuple[int, str]]:
        named: list[tuple[int, str]] = []
        if self.pending is not None and self.pending[1].done():
            student, future = self.pending
            self.pending = None
            name = self.reader.confirm(student, future.result())
            if name:
                named.append((student, name))
        now = time.monotonic()
        if self.pending is None and now - self.last >= self.every_s:
            # a student with one reading already goes first, so that names are confirmed one by one
            todo = [(student not in self.reader.readings, self.tries.get(student, 0), student, box)
                    for student, box in faces
                    if student not in self.reader.names and self.tries.get(student, 0) < self.attempts]
            if todo:
                *_, student, box = min(todo, key=lambda item: item[:2])
                self.tries[student] = self.tries.get(student, 0) + 1
                region, span = label_region(image, box)
                self.pending = (student, self.pool.submit(self.reader.read_region, region.copy(), span))
                self.last = now
        return named

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class ClassMonitor:
    """Turns pipeline results into a live class state, and records it when given a recorder."""

    def __init__(self, config: MonitorConfig | None = None, recorder: SessionRecorder | None = None) -> None:
        self.config = config or MonitorConfig()
        self.recorder = recorder
        self.offset = recorder.offset if recorder else 0.0
        self.tracker = StudentTracker(self.config.tracker,
                                      first_id=recorder.next_student_number if recorder else 1)
        self.aggregator = ClassAggregator(self.config.aggregator)
        if recorder is not None:
            for number, (signature, first_seen, last_seen) in recorder.signatures.items():
                self.tracker.restore(number, np.frombuffer(signature, np.float32), first_seen, last_seen)
            self.aggregator.names.update(recorder.names)
        reader = NameReader() if self.config.read_names else None
        self._names = (_NameScheduler(reader, self.config.ocr_every_s, self.config.ocr_attempts)
                       if reader is not None and reader.available else None)
        if self._names is not None:
            self._names.reader.names.update(self.aggregator.names)  # named already: not read again
        self.frames = 0

    @property
    def reads_names(self) -> bool:
        return self._names is not None

    def process(self, result: FrameResult) -> ClassSnapshot:
        """Track, aggregate and record one frame; the tracker fills ``result.detections.student_ids``."""
        t = self.offset + result.frame.timestamp
        detections = result.detections
        boxes = np.round(detections.boxes).astype(np.float32)  # whole pixels, as tracking has always used
        embeddings = embed_faces(result.frame.image, boxes)
        ids = self.tracker.update(boxes, embeddings, t)
        result.detections = detections = detections.with_(student_ids=np.asarray(ids, np.int64).reshape(-1),
                                                          embeddings=embeddings)
        pixel_boxes = [tuple(int(v) for v in box) for box in boxes]
        observations = [Observation(student_id, probabilities, box)
                        for student_id, probabilities, box in zip(ids, detections.probabilities, pixel_boxes)]
        update = self.aggregator.update(t, observations)
        if self._names is not None:
            for student_id, name in self._names.step(result.frame.image, list(zip(ids, pixel_boxes))):
                self.rename(student_id, name, "ocr")
        if self.recorder is not None:
            students, known = self.aggregator.students, self.tracker.students
            self.recorder.record(update, [StudentSighting(sid, students[sid].first_seen, t,
                                                          known[sid].embedding.astype(np.float32).tobytes())
                                          for sid in ids], reached=t)
        self.frames += 1
        return ClassSnapshot(t, result.frame.index, self.aggregator.cards(), self.aggregator.mood(),
                             self.aggregator.alerts.active, update.opened, update.closed, len(detections))

    def rename(self, student_id: int, name: str, source: str = "teacher") -> None:
        """Show ``name`` for a student from now on (and store it); OCR never overrides it."""
        self.aggregator.names[student_id] = name
        if self._names is not None:
            self._names.reader.names[student_id] = name
        if self.recorder is not None:
            self.recorder.rename(student_id, name, source)

    def finish(self, status: str = "finished", detail: str = "") -> list[Alert]:
        """End the session: last second stored, open alerts closed; returns those alerts."""
        update = self.aggregator.finish()
        if self._names is not None:
            self._names.close()
        if self.recorder is not None:
            self.recorder.record(update)
            self.recorder.finish(status, detail)
        return update.closed


def run_monitor(monitor: ClassMonitor, results: Iterable[FrameResult], *,
                status_when_source_ends: str = "finished", source: Source | None = None) -> Iterator[ClassSnapshot]:
    """Process every result, yielding snapshots, and always end the session.

    Stopping on purpose (Ctrl-C, closing the generator) finishes it. When the source runs out the
    status is ``status_when_source_ends`` (``interrupted`` suits a live source, where running out
    means the camera or screen stalled), or ``truncated`` when ``source`` reports a cut or corrupt
    file. A failing source or database marks it interrupted; everything recorded so far is kept either way."""
    try:
        for result in results:
            yield monitor.process(result)
    except (KeyboardInterrupt, GeneratorExit):
        monitor.finish("finished")
        raise
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the database itself may be what failed
            monitor.finish("interrupted", str(exc) or type(exc).__name__)
        raise
    truncation = source.truncation if source is not None else None
    if truncation is not None:
        monitor.finish("truncated", truncation.reason)
    else:
        monitor.finish(status_when_source_ends)
