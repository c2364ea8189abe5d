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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from classmood.aggregate import AggregateUpdate, Alert, ClassAggregator, StudentCard
from classmood.class_session.settings import ClassSettings
from classmood.class_session.snapshot import ClassSnapshot, MoodPoint
from classmood.consent import Confirmation
from classmood.store.database import Store
from classmood.store.opt_outs import add_opt_out, name_key, opted_out_names
from classmood.store.origin import session_origin
from classmood.store.recorder import SessionRecorder, StudentSighting
from classmood.track import StudentTracker, embed_crops, embed_faces
from classmood.track.names import NameReader, NameScheduler, tile_label_strip
from classmood.track.tiles import TileWatch
from classmood.types import Detections, Frame, FrameResult

TIMELINE_POINTS = 1800  # one point per second: the last half hour
RECENT_FRAMES = 30  # frames over which speed and latency are averaged


class ClassSession:
    """A class being analysed; recorded when given a ``SessionRecorder`` (see ``open``).

    ``pipeline`` is anything with ``process(Frame) -> FrameResult`` (a ``Pipeline``, or the
    app's ``PipelineProcess``); it may be None when results come from elsewhere (``process``)."""

    def __init__(self, pipeline=None, settings: ClassSettings | None = None, recorder: SessionRecorder | None = None,
                 *, opted_out: Iterable[str] = (), ocr_every_s: float = 1.0, ocr_attempts: int = 6,
                 tiles_every_s: float = 1.0) -> None:
        """``opted_out``: names on the do-not-analyse list (``store.opt_outs``): a student shown
        under one of them is neither classified nor stored from the moment the name is known.
        ``tiles_every_s``: how often the gallery's tiles are looked for (``math.inf``: never, so no
        camera-off state; benchmarks use it to time the layout work)."""
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
        # the gallery's tiles: whose camera is off (an empty tile that moved is known by its label), where names are read
        self.tiles = TileWatch(tiles_every_s)
        if self._names is not None:
            self.tiles.read_label = lambda image, tile: reader.read_region(tile_label_strip(image, tile))
            self.tiles.names = lambda: self.aggregator.names
        self.opted_out_names = {name_key(name) for name in opted_out}
        self._opted_out: dict[int, _OptedOut] = {}
        self._merged: dict[int, int] = {}  # ids merged into another while this frame is identified
        self._first_t: float | None = None  # session time of the first frame analysed by this session
        self.alert_log: list[Alert] = []
        self.timeline: deque[MoodPoint] = deque(maxlen=TIMELINE_POINTS)
        self.error: str | None = None  # shown with the class (set by a live feed that skipped a bad frame)
        self._recording = False  # a recording (not live) runs: names are read per second of its time
        self.finished = False
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._frames = 0
        self._frame_times: deque[float] = deque(maxlen=RECENT_FRAMES)
        self._latencies: deque[float] = deque(maxlen=RECENT_FRAMES)
        self._last_second: int | None = None
        self._last = ClassSnapshot(self.offset, -1, [], self.aggregator.mood(), [], Detections.empty())
        for student_id, name in list(self.aggregator.names.items()):  # recorded before the name opted out
            self._opt_out_if_listed(student_id, name)

    @classmethod
    def open(cls, store: Store, name: str, pipeline=None, settings: ClassSettings | None = None, *,
             source: str = "", resume: bool = False, source_file: str | None = None,
             consent: Confirmation | None = None, frames_kept: bool = False, teacher: str | None = None,
             **options) -> ClassSession:
        """Start (or with ``resume`` continue) the stored session ``name`` with its settings recorded,
        and with them the deployer's ``consent``, whether video frames are kept, and who records it
        where (``teacher``, default ``$CLASSMOOD_TEACHER`` or the login name); the store's
        do-not-analyse list applies.

        ``source_file`` is the resolved path of a video file: such a session's time is the video's
        (see ``SessionRecorder``). Raises ``ClassmoodError`` when the name is taken, missing or busy."""
        settings = settings or ClassSettings()
        stored = {**settings.stored(), "consent": consent.stored() if consent else None, "frames_kept": frames_kept}
        recorder = SessionRecorder(store, name, source=source, resume=resume, settings=stored,
                                   source_file=source_file, origin=session_origin(teacher))
        return cls(pipeline, settings, recorder, opted_out=opted_out_names(store), **options)

    @staticmethod
    def check(store: Store, name: str, *, resume: bool = False, source_file: str | None = None) -> None:
        """Refuse in one line, before any model loads, a session that ``open`` would refuse."""
        SessionRecorder.check(store, name, resume=resume, source_file=source_file)

    @property
    def reads_names(self) -> bool:
        """Whether gallery name labels are being read (OCR on and an OCR engine installed)."""
        return self._names is not None

    @property
    def session_id(self) -> int | None:
        return getattr(self.recorder, "session_id", None)

    def analyse(self, frame: Frame | np.ndarray) -> ClassSnapshot:
        """Detect, track, classify (students who opted out excepted), aggregate and record one
        frame. A bare BGR image is a live frame, stamped with the seconds since the class started."""
        t0 = time.monotonic()
        if not isinstance(frame, Frame):
            frame = Frame(frame, self._frames, t0 - self._started)
        identified = self._identify(self.pipeline.locate(frame))
        if identified is None:
            return self._last
        result, opted_out, t = identified
        return self._record(self.pipeline.classify(result), opted_out, t, t0)

    def process(self, result: FrameResult, *, started: float | None = None) -> ClassSnapshot:
        """Track, aggregate and record one pipeline result classified elsewhere (its faces of
        students who opted out are dropped unseen); fills ``result.detections.student_ids``."""
        started = time.monotonic() if started is None else started
        identified = self._identify(result)
        if identified is None:
            return self._last
        return self._record(*identified, started)

    def _identify(self, result: FrameResult) -> tuple[FrameResult, Detections, float] | None:
        """Track the located faces and set apart those of students who opted out: ``result`` keeps
        the others; returns it, the opted-out faces (boxes and names only) and the session time."""
        with self._lock:
            if self.finished:
                return None
            t = self.offset + result.frame.timestamp
            drawn = self.tiles.drawn_faces(result.frame.image, result.detections.boxes, result.detections.scores)
            if drawn.any():  # an initials disc on a camera-off tile, not a face
                result.detections = result.detections[~drawn]
            faces = self._track(result, t)
            faces = self._without_first_sightings(self._claim_camera_off_tiles(result.frame.image, faces, t), t)
            seen = list(zip(faces.student_ids.tolist(), [tuple(box) for box in faces.boxes.astype(int).tolist()]))
            if self.tiles.step(result.frame.image, seen, t):
                self.aggregator.set_camera_off(self.tiles.camera_off, t)
            self._read_names(result.frame.image, seen, t)
            faces = self._apply_merges(faces)  # a name just showed that a face is a student seen before
            ids = faces.student_ids.tolist()
            skip = np.array([student_id in self._opted_out for student_id in ids], bool)
            for student_id, box in zip(faces.student_ids[skip].tolist(), faces.boxes[skip].astype(int).tolist()):
                self._opted_out[student_id].seen(tuple(box), t)
            result.detections = faces[~skip]
            return result, faces[skip].with_(crops=None, embeddings=None, probabilities=None), t

    def _record(self, result: FrameResult, opted_out: Detections, t: float, started: float) -> ClassSnapshot:
        """Aggregate and record the classified faces of one frame; the snapshot after it."""
        with self._lock:
            if self.finished:
                return self._last
            detections = result.detections
            if self._opted_out:  # opted out while this frame was being classified: nothing of theirs is kept
                keep = np.array([i not in self._opted_out for i in detections.student_ids.tolist()], bool)
                if not keep.all():
                    detections = result.detections = detections[keep]
            update = self.aggregator.update(t, detections)
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
            self._last = self._snapshot(t, result.frame, detections, opted_out, mood, update.opened, update.closed)
            return self._last

    def _track(self, result: FrameResult, t: float) -> Detections:
        """Give each face its student id (tracking uses whole-pixel boxes and an appearance embedding
        of the classifier's crop of the face)."""
        boxes = np.round(result.detections.boxes).astype(np.float32)
        crops = result.detections.crops
        embeddings = embed_crops(crops) if crops is not None else embed_faces(result.frame.image, boxes)
        ids = np.asarray(self.tracker.update(boxes, embeddings, t), np.int64).reshape(-1)
        for duplicate, student_id in self.tracker.merged:  # gone from the tracker already
            self._merge(duplicate, student_id)
        result.detections = self._with_ids(result.detections.with_(boxes=boxes, embeddings=embeddings), ids)
        return result.detections

    def _with_ids(self, faces: Detections, ids) -> Detections:
        """``faces`` with these student ids and each one's name (``S07`` until a name is known)."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        names = np.array([self.aggregator.names.get(i, f"S{i:02d}") for i in ids.tolist()], dtype=object)
        return faces.with_(student_ids=ids, names=names)

    def _apply_merges(self, faces: Detections) -> Detections:
        """``faces`` with each id merged away in this frame (``_merge``) replaced by its student."""
        if not self._merged:
            return faces
        faces = self._with_ids(faces, [self._merged.get(i, i) for i in faces.student_ids.tolist()])
        self._merged.clear()
        return faces

    def _without_first_sightings(self, faces: Detections, t: float) -> Detections:
        """Faces of students the tracker has seen once only, left out (not shown, classified or stored)
        until seen again, except in the first frame: a face found in one frame only (a tile in
        transition, a face back after a layout change and cropped anew) is often known in the next as
        someone seen before, and would otherwise be a student for one frame."""
        if self._first_t is None:
            self._first_t = t
        known = self.tracker.students
        keep = np.array([known[i].hits > 1 or known[i].first_seen <= self._first_t
                         for i in faces.student_ids.tolist()], bool)
        return faces if keep.all() else faces[keep]

    def _claim_camera_off_tiles(self, image: np.ndarray, faces: Detections, t: float) -> Detections:
        """A face the tracker took for a new student, in the tile of a student whose camera was off, is
        that student back on camera (the tile is the key; appearance only must not say otherwise):
        the detector misses some faces for seconds, and a face's look drifts meanwhile."""
        ids = faces.student_ids.tolist()
        known = self.tracker.students
        for j, student_id in enumerate(ids):
            track = known.get(student_id)
            if track is None or track.hits != 1 or track.first_seen != t:
                continue
            owner = self.tiles.owner_of(image, tuple(faces.boxes[j]), set(ids))
            if owner is None or owner not in known or owner in self._opted_out:
                continue
            if float(known[owner].embedding @ faces.embeddings[j]) < self.tracker.config.motion_min_similarity:
                continue
            self._merge(student_id, owner)
            ids[j] = owner  # seen in this frame now: no second face claims the same tile
        return self._apply_merges(faces)

    def _read_names(self, image: np.ndarray, faces: list[tuple[int, tuple]], t: float) -> None:
        if self._names is not None:
            at = t if self._recording else None
            for student_id, name in self._names.step(image, faces, at=at, layout=self.tiles.layout):
                self._rename(student_id, name, "ocr")

    def _snapshot(self, t: float, frame: Frame, detections: Detections, opted_out: Detections, mood,
                  opened: list[Alert], closed: list[Alert]) -> ClassSnapshot:
        times = self._frame_times
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return ClassSnapshot(
            timestamp=t, frame_index=frame.index, students=self._cards(), mood=mood, opted_out=opted_out,
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
                           students=self._cards(), mood=self.aggregator.mood(),
                           alerts=list(self.aggregator.alerts.active), opened=[], closed=[],
                           alert_log=list(self.alert_log), timeline=list(self.timeline), session_id=self.session_id,
                           elapsed_s=time.monotonic() - self._started, error=self.error, frame=None)

    def _cards(self) -> list[StudentCard]:
        """The analysed students' cards and an "opted out" card for each student who opted out."""
        away_after = self.aggregator.config.away_after_s
        cards = self.aggregator.cards() + [student.card(student_id, self.aggregator.now, away_after)
                                           for student_id, student in self._opted_out.items()]
        return sorted(cards, key=lambda card: card.student_id)

    def rename(self, student_id: int, name: str) -> None:
        """Show ``name`` for a student from now on (and store it); OCR never overrides it. A name on
        the do-not-analyse list opts the student out at once."""
        with self._lock:
            self._rename(student_id, name, "teacher")

    def _rename(self, student_id: int, name: str, source: str) -> None:
        if student_id in self._opted_out:
            return
        if source == "ocr":
            earlier = self._earlier_student_named(student_id, name)
            if earlier is not None:  # the name is the first key: a student back under a new id is merged
                self._merge(student_id, earlier)
                return
        self.aggregator.names[student_id] = name
        if self._names is not None:
            self._names.reader.names[student_id] = name
        if self.recorder is not None:
            self.recorder.rename(student_id, name, source)
        self._opt_out_if_listed(student_id, name)

    def _earlier_student_named(self, student_id: int, name: str) -> int | None:
        """Another student shown under ``name`` who was last seen before ``student_id`` first was
        (never in the class at the same time): the same person, back after a re-order or a return."""
        key, known = name_key(name), self.tracker.students
        first_seen = known[student_id].first_seen if student_id in known else None
        for other, other_name in self.aggregator.names.items():
            if (other != student_id and name_key(other_name) == key and other in known and first_seen is not None
                    and known[other].last_seen < first_seen):
                return other
        return None

    def _merge(self, from_id: int, into_id: int) -> None:
        """One student: ``from_id``'s tracking, state, alerts and record become ``into_id``'s."""
        if from_id in self.tracker.students:
            self.tracker.merge(from_id, into_id)
        ended = self.aggregator.merge(from_id, into_id)
        self.tiles.merge(from_id, into_id)
        for alert in self.alert_log:
            if alert.student_id == from_id:
                alert.student_id = into_id
        self._merged[from_id] = into_id
        if self._names is not None:
            self._names.reader.names.pop(from_id, None)
        if self.recorder is not None:
            self.recorder.record(AggregateUpdate([], [], ended))
            self.recorder.merge(from_id, into_id)

    def opt_out(self, student_id: int) -> str:
        """Stop analysing a student for the rest of this class and erase what was stored of them
        (the teacher's button); returns the name they are shown under. A named student's name goes on
        the store's do-not-analyse list too, so later classes skip them as well."""
        with self._lock:
            name = self.aggregator.names.get(student_id)
            shown = name or f"S{student_id:02d}"
            self._opt_out(student_id, shown)
        if name and self.recorder is not None:
            add_opt_out(self.recorder.store, name)
            self.opted_out_names.add(name_key(name))
        return shown

    def _opt_out_if_listed(self, student_id: int, name: str) -> None:
        if name_key(name) in self.opted_out_names:
            self._opt_out(student_id, name)

    def _opt_out(self, student_id: int, name: str) -> None:
        """From now on the student is only a box called "opted out": state, alerts and rows erased."""
        if student_id in self._opted_out:
            return
        known = self.aggregator.students.get(student_id)
        self._opted_out[student_id] = _OptedOut(name, known.box if known else None,
                                                known.last_seen if known else None)
        self.aggregator.forget(student_id)
        self.tiles.forget(student_id)
        self.alert_log = [alert for alert in self.alert_log if alert.student_id != student_id]
        if self._names is not None:
            self._names.reader.names[student_id] = name  # no more reading of their label
        if self.recorder is not None:
            self.recorder.forget(student_id)

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
        self._recording = not getattr(source, "live", False)
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


@dataclass(slots=True)
class _OptedOut:
    """A student who opted out: only a name and where they were last seen, for an "opted out" card."""

    name: str
    box: tuple[int, int, int, int] | None
    last_seen: float | None  # None: not seen in this run yet

    def seen(self, box: tuple[int, int, int, int], t: float) -> None:
        self.box, self.last_seen = box, t

    def card(self, student_id: int, now: float, away_after_s: float) -> StudentCard:
        here = self.last_seen is not None and now - self.last_seen <= away_after_s
        return StudentCard(student_id, self.name, here, None, 0.0, {}, 0.0, "", self.box if here else None,
                           self.last_seen or 0.0, opted_out=True)
