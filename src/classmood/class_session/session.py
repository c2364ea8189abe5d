"""One class session: frames in, snapshots out, the class recorded and ended in one place.

``ClassSession`` is what ``classmood monitor``, the web app's Live and Recorded pages and
``classmood.monitor()`` all run. Per frame: the pipeline (detect + classify) fills a
``Detections`` record, the tracker adds stable student ids, the aggregator smooths emotions and
raises alerts, and the ``SessionRecorder`` stores finished seconds about every second.
``run(source)`` ends the session however the source stops (finished, truncated, interrupted);
a live feed calls ``analyse`` per frame and ``finish`` once. Times are session seconds: a
resumed session goes on from where its record ended. Thread-safe: a page may take
``snapshot()`` while another thread analyses frames.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from classmood.aggregate import Alert, ClassAggregator
from classmood.class_session.settings import ClassSettings
from classmood.class_session.snapshot import ClassSnapshot, MoodPoint
from classmood.consent import Confirmation
from classmood.store.database import Store
from classmood.store.recorder import SessionRecorder, StudentSighting
from classmood.track import StudentTracker, embed_crops, embed_faces
from classmood.track.names import NameReader, NameScheduler
from classmood.types import Detections, Frame, FrameResult

TIMELINE_POINTS = 1800  # one point per second: the last half hour
RECENT_FRAMES = 30  # frames over which speed and latency are averaged


class ClassSession:
    """A class being analysed; recorded when given a ``SessionRecorder`` (see ``open``).

    ``pipeline`` is anything with ``process(Frame) -> FrameResult`` (a ``Pipeline``, or the
    app's ``PipelineProcess``); it may be None when results come from elsewhere (``process``)."""

    def __init__(self, pipeline=None, settings: ClassSettings | None = None, recorder: SessionRecorder | None = None,
                 *, ocr_every_s: float = 1.0, ocr_attempts: int = 6) -> None:
        self.pipeline = pipeline
        self.settings = settings or ClassSettings()
        self.recorder = recorder
        self.offset = recorder.offset if recorder else 0.0
        self.tracker = StudentTracker(first_id=recorder.next_student_id if recorder else 1)
        self.aggregator = ClassAggregator(self.settings.aggregator_config())
        if recorder is not None:
            for student_id, (signature, first_seen, last_seen) in recorder.signatures.items():
                self.tracker.restore(student_id, np.frombuffer(signature, np.float32), first_seen, last_seen)
            self.aggregator.names.update(recorder.names)
        reader = NameReader() if self.settings.read_names else None
        self._names = NameScheduler(reader, ocr_every_s, ocr_attempts) if reader is not None and reader.available else None
        if self._names is not None:
            self._names.reader.names.update(self.aggregator.names)  # named already: not read again
        self.alert_log: list[Alert] = []
        self.timeline: deque[MoodPoint] = deque(maxlen=TIMELINE_POINTS)
        self.error: str | None = None  # shown with the class (set by a live feed that skipped a bad frame)
        self.finished = False
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._frames = 0
        self._frame_times: deque[float] = deque(maxlen=RECENT_FRAMES)
        self._latencies: deque[float] = deque(maxlen=RECENT_FRAMES)
        self._last_second: int | None = None
        self._last = ClassSnapshot(self.offset, -1, [], self.aggregator.mood(), [], Detections.empty())

    @classmethod
    def open(cls, store: Store, name: str, pipeline=None, settings: ClassSettings | None = None, *,
             source: str = "", resume: bool = False, source_file: str | None = None,
             consent: Confirmation | None = None, frames_kept: bool = False, **options) -> ClassSession:
        """Start (or with ``resume`` continue) the stored session ``name`` with its settings recorded,
        and with them the deployer's ``consent`` and whether video frames are kept.

        ``source_file`` is the resolved path of a video file: such a session's time is the video's
        (see ``SessionRecorder``). Raises ``ClassmoodError`` when the name is taken, missing or busy."""
        settings = settings or ClassSettings()
        stored = {**settings.stored(), "consent": consent.stored() if consent else None, "frames_kept": frames_kept}
        recorder = SessionRecorder(store, name, source=source, resume=resume, settings=stored,
                                   source_file=source_file)
        return cls(pipeline, settings, recorder, **options)

    @staticmethod
    def check(store: Store, name: str, *, resume: bool = False, source_file: str | None = None) -> None:
        """Refuse in one line, before any model loads, a session that ``open`` would refuse."""
        SessionRecorder.check(store, name, resume=resume, source_file=source_file)

    @property
    def reads_names(self) -> bool:
        """Whether gallery name labels are being read (OCR on and Tesseract installed)."""
        return self._names is not None

    @property
    def session_id(self) -> int | None:
        return getattr(self.recorder, "session_id", None)

    def analyse(self, frame: Frame | np.ndarray) -> ClassSnapshot:
        """Detect, classify, track, aggregate and record one frame. A bare BGR image is a live
        frame, stamped with the seconds since the class started."""
        t0 = time.monotonic()
        if not isinstance(frame, Frame):
            frame = Frame(frame, self._frames, t0 - self._started)
        return self.process(self.pipeline.process(frame), started=t0)

    def process(self, result: FrameResult, *, started: float | None = None) -> ClassSnapshot:
        """Track, aggregate and record one pipeline result; fills ``result.detections.student_ids``."""
        started = time.monotonic() if started is None else started
        with self._lock:
            if self.finished:
                return self._last
            t = self.offset + result.frame.timestamp
            detections = self._track(result, t)
            update = self.aggregator.update(t, detections)
            self._read_names(result.frame.image, detections)
            if self.recorder is not None:
                students, known = self.aggregator.students, self.tracker.students
                self.recorder.record(update, [StudentSighting(student_id, students[student_id].first_seen, t,
                                                              known[student_id].embedding.astype(np.float32).tobytes())
                                              for student_id in detections.student_ids.tolist()], reached=t)
            self.alert_log.extend(update.opened)
            mood = self.aggregator.mood()
            if int(t) != self._last_second:
                self._last_second = int(t)
                self.timeline.append(MoodPoint(float(int(t)), mood.engagement, mood.present, mood.probabilities))
            now = time.monotonic()
            self._frames += 1
            self._frame_times.append(now)
            self._latencies.append(now - started)
            self._last = self._snapshot(t, result.frame, detections, mood, update.opened, update.closed)
            return self._last

    def _track(self, result: FrameResult, t: float) -> Detections:
        """Give each face its student id (tracking uses whole-pixel boxes and an appearance embedding
        of the classifier's crop of the face)."""
        boxes = np.round(result.detections.boxes).astype(np.float32)
        crops = result.detections.crops
        embeddings = embed_crops(crops) if crops is not None else embed_faces(result.frame.image, boxes)
        ids = np.asarray(self.tracker.update(boxes, embeddings, t), np.int64).reshape(-1)
        names = np.array([self.aggregator.names.get(int(i), f"S{int(i):02d}") for i in ids], dtype=object)
        result.detections = result.detections.with_(boxes=boxes, student_ids=ids, embeddings=embeddings, names=names)
        return result.detections

    def _read_names(self, image: np.ndarray, detections: Detections) -> None:
        if self._names is not None:
            faces = list(zip(detections.student_ids.tolist(), [tuple(box) for box in detections.boxes.astype(int).tolist()]))
            for student_id, name in self._names.step(image, faces):
                self._rename(student_id, name, "ocr")

    def _snapshot(self, t: float, frame: Frame, detections: Detections, mood, opened: list[Alert],
                  closed: list[Alert]) -> ClassSnapshot:
        times = self._frame_times
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return ClassSnapshot(
            timestamp=t, frame_index=frame.index, students=self.aggregator.cards(), mood=mood,
            alerts=list(self.aggregator.alerts.active), detections=detections, opened=opened, closed=closed,
            session_id=self.session_id, frames=self._frames, fps=(len(times) - 1) / span if span > 0 else 0.0,
            latency_ms=1000 * float(np.mean(self._latencies)) if self._latencies else 0.0,
            elapsed_s=time.monotonic() - self._started, error=self.error, frame=frame)

    def snapshot(self) -> ClassSnapshot:
        """The class now, with its timeline and every alert so far (for a dashboard); without the
        last frame's picture, face crops and embeddings (a page may keep it after the class)."""
        with self._lock:
            last = self._last
            return replace(last, detections=last.detections.with_(crops=None, embeddings=None),
                           students=self.aggregator.cards(), mood=self.aggregator.mood(),
                           alerts=list(self.aggregator.alerts.active), opened=[], closed=[],
                           alert_log=list(self.alert_log), timeline=list(self.timeline), session_id=self.session_id,
                           elapsed_s=time.monotonic() - self._started, error=self.error, frame=None)

    def rename(self, student_id: int, name: str) -> None:
        """Show ``name`` for a student from now on (and store it); OCR never overrides it."""
        with self._lock:
            self._rename(student_id, name, "teacher")

    def _rename(self, student_id: int, name: str, source: str) -> None:
        self.aggregator.names[student_id] = name
        if self._names is not None:
            self._names.reader.names[student_id] = name
        if self.recorder is not None:
            self.recorder.rename(student_id, name, source)

    def finish(self, status: str = "finished", detail: str = "") -> list[Alert]:
        """End the class once: last second stored, open alerts closed (returned), the record marked
        ``status`` (``finished``, ``interrupted`` or ``truncated``; ``detail`` says why)."""
        with self._lock:
            if self.finished:
                return []
            self.finished = True
            update = self.aggregator.finish()
            if self._names is not None:
                self._names.close()
            if self.recorder is not None:
                self.recorder.record(update)
                self.recorder.finish(status, detail)
            return update.closed

    def run(self, source, *, status_when_source_ends: str = "finished") -> Iterator[ClassSnapshot]:
        """Analyse every frame of ``source``, yielding snapshots, and always end the session.

        Stopping on purpose (Ctrl-C, closing the generator) finishes it. When the source runs out
        the status is ``status_when_source_ends`` (``interrupted`` suits a live source, where
        running out means the camera or screen stalled), or ``truncated`` when the source reports
        a cut or corrupt file. A failing source or database marks it interrupted; everything
        recorded so far is kept either way."""
        reset = getattr(self.pipeline, "reset", None)
        if reset is not None:  # consecutive frames of one feed: the detector may reuse what it saw
            reset(bool(getattr(source, "continuous", False)))
        try:
            for frame in source:
                yield self.analyse(frame)
        except (KeyboardInterrupt, GeneratorExit):
            self.finish("finished")
            raise
        except BaseException as exc:
            with contextlib.suppress(Exception):  # the database itself may be what failed
                self.finish("interrupted", str(exc) or type(exc).__name__)
            raise
        finally:
            if reset is not None:
                reset(False)
        truncation = getattr(source, "truncation", None)
        if truncation is not None:
            self.finish("truncated", truncation.reason)
        else:
            self.finish(status_when_source_ends)
