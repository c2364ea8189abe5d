"""Per-student and class state over time: smoothing, presence, engagement, per-second rows, alerts."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from classmood.aggregate.alerts import Alert, AlertBook, AlertConfig
from classmood.aggregate.engagement import engagement_band, engagement_index
from classmood.aggregate.smoothing import TimeEMA
from classmood.emotions import EMOTIONS, NEGATIVE_EMOTIONS
from classmood.types import Detections

_NEGATIVE = np.array([e in NEGATIVE_EMOTIONS for e in EMOTIONS])


@dataclass(frozen=True, slots=True)
class StudentSecond:
    """What one student showed during one whole second of the session."""

    student_id: int
    second: int
    presence: float  # fraction of that second's frames in which the face was seen
    engagement: float  # mean concentration index over the second (0 while away)
    probabilities: tuple[float, ...]  # mean smoothed probabilities while seen

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))


#: what a student is doing in a second of the class (the export's ``state`` column): their face is seen;
#: their gallery tile is shown without a face; they are gone for a while; they are gone for good
STATES = ("present", "camera_off", "away", "left")


@dataclass(frozen=True, slots=True)
class StudentCard:
    """The live state of one student, for a dashboard."""

    student_id: int
    name: str
    present: bool
    emotion: str | None
    confidence: float
    probabilities: dict[str, float]
    engagement: float
    engagement_band: str
    box: tuple[int, int, int, int] | None
    last_seen: float
    opted_out: bool = False  # on the do-not-analyse list: shown as "opted out" and nothing else
    state: str = "present"  # one of STATES


@dataclass(frozen=True, slots=True)
class ClassMood:
    """The class at a glance: mean smoothed emotions and engagement of the present students."""

    present: int
    known: int
    emotion: str | None
    confidence: float
    probabilities: dict[str, float]
    engagement: float
    engagement_band: str


@dataclass(frozen=True, slots=True)
class AggregateUpdate:
    """What changed with one frame: finished seconds to store (``camera_off``: the student and second of
    each finished second in which a student's tile showed no face), alerts opened and closed."""

    seconds: list[StudentSecond]
    opened: list[Alert]
    closed: list[Alert]
    camera_off: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AggregatorConfig:
    smoothing_tau_s: float = 1.5
    away_after_s: float = 2.0  # a student not seen for this long is shown as away
    left_after_s: float = 120.0  # ... and after this long (their tile gone too) as left
    alerts: AlertConfig = field(default_factory=AlertConfig)


@dataclass(slots=True)
class _Student:
    student_id: int
    ema: TimeEMA
    first_seen: float
    last_seen: float
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    second_frames: int = 0
    second_probabilities: np.ndarray = field(default_factory=lambda: np.zeros(len(EMOTIONS)))
    second_engagement: float = 0.0


class ClassAggregator:
    """Feed it each frame's observations in time order (``update``); read ``cards``/``mood``."""

    def __init__(self, config: AggregatorConfig | None = None) -> None:
        self.config = config or AggregatorConfig()
        self.students: dict[int, _Student] = {}
        self.names: dict[int, str] = {}
        self.camera_off: frozenset[int] = frozenset()  # students whose tile shows no face (``TileWatch``)
        self._camera_off_by_second: dict[int, set[int]] = {}
        self.alerts = AlertBook(clear_after_s=self.config.alerts.clear_after_s)
        self._second: int | None = None
        self._frames_in_second = 0
        self._class_engagement: deque[tuple[int, float]] = deque()
        self.now = 0.0

    def update(self, timestamp: float, faces: Detections) -> AggregateUpdate:
        """Take one frame's tracked faces (``student_ids``, ``probabilities``, ``boxes``) seen at ``timestamp``."""
        seconds: list[StudentSecond] = []
        camera_off: list[tuple[int, int]] = []
        opened: list[Alert] = []
        closed: list[Alert] = []
        second = int(math.floor(timestamp))
        if self._second is not None and second != self._second:
            seconds, camera_off = self._finish_second(opened, closed)
        self._second = second
        self._frames_in_second += 1
        self.now = timestamp
        for student_id, probabilities, box in zip(faces.student_ids.tolist(), faces.probabilities,
                                                  np.round(faces.boxes).astype(int).tolist()):
            student = self.students.get(student_id)
            if student is None:
                student = self.students[student_id] = _Student(
                    student_id, TimeEMA(self.config.smoothing_tau_s), timestamp, timestamp)
            elif timestamp - student.last_seen > self.config.away_after_s:
                student.ema.reset()  # back from away: start afresh rather than blend stale state
            smoothed = student.ema.update(np.asarray(probabilities, np.float64), timestamp)
            student.last_seen, student.box = timestamp, tuple(box)
            student.second_frames += 1
            student.second_probabilities += smoothed
            student.second_engagement += engagement_index(smoothed)
        self._check_student_alerts(timestamp, opened, closed)
        return AggregateUpdate(seconds, opened, closed, camera_off)

    def finish(self) -> AggregateUpdate:
        """Flush the last partial second and close every open alert (end of the session)."""
        opened: list[Alert] = []
        closed: list[Alert] = []
        seconds, camera_off = self._finish_second(opened, closed) if self._second is not None else ([], [])
        self._second = None
        closed += self.alerts.close_all(self.now)
        return AggregateUpdate(seconds, opened, closed, camera_off)

    def forget(self, student_id: int) -> None:
        """Drop everything known of a student (they opted out): state, open alerts; the class's
        past engagement keeps what they added to it."""
        self.students.pop(student_id, None)
        self.alerts.forget(student_id)

    def set_camera_off(self, students: frozenset[int], timestamp: float) -> None:
        """The students whose gallery tile shows no face, as seen at ``timestamp``: their cards say
        "camera off", and each second in which they are not seen is stored as such."""
        self.camera_off = students
        self._camera_off_by_second.setdefault(int(math.floor(timestamp)), set()).update(students)

    def merge(self, from_id: int, into_id: int) -> list[Alert]:
        """``from_id`` is ``into_id`` come back: one student from now on; returns ``from_id``'s open
        alerts, ended now (stored under ``into_id`` with the rest of their record)."""
        newer = self.students.pop(from_id, None)
        ended = self.alerts.end_student(from_id, self.now)
        self.names.pop(from_id, None)
        if newer is None:
            return ended
        older = self.students.get(into_id)
        newer.student_id = into_id
        if older is not None:
            newer.first_seen = older.first_seen
            newer.second_frames += older.second_frames
            newer.second_probabilities += older.second_probabilities
            newer.second_engagement += older.second_engagement
        self.students[into_id] = newer
        return ended

    def present(self, student: _Student) -> bool:
        return self.now - student.last_seen <= self.config.away_after_s

    def state(self, student: _Student) -> str:
        """The student's state now (one of ``STATES``)."""
        if self.present(student):
            return "present"
        if student.student_id in self.camera_off:
            return "camera_off"
        return "left" if self.now - student.last_seen > self.config.left_after_s else "away"

    def cards(self) -> list[StudentCard]:
        out = []
        for sid in sorted(self.students):
            s = self.students[sid]
            here = self.present(s)
            p = s.ema.value if (here and s.ema.value is not None) else None
            engagement = engagement_index(p) if p is not None else 0.0
            out.append(StudentCard(
                sid, self.names.get(sid, f"S{sid:02d}"), here,
                EMOTIONS[int(np.argmax(p))] if p is not None else None,
                float(p.max()) if p is not None else 0.0,
                {e: float(v) for e, v in zip(EMOTIONS, p)} if p is not None else {},
                engagement, engagement_band(engagement), s.box if here else None, s.last_seen, state=self.state(s)))
        return out

    def mood(self) -> ClassMood:
        here = [s.ema.value for s in self.students.values() if self.present(s) and s.ema.value is not None]
        if not here:
            return ClassMood(0, len(self.students), None, 0.0, {}, 0.0, engagement_band(0.0))
        mean = np.mean(here, axis=0)
        engagement = float(np.mean([engagement_index(p) for p in here]))
        return ClassMood(len(here), len(self.students), EMOTIONS[int(np.argmax(mean))], float(mean.max()),
                         {e: float(v) for e, v in zip(EMOTIONS, mean)}, engagement, engagement_band(engagement))

    def _finish_second(self, opened: list[Alert], closed: list[Alert]) -> tuple[list[StudentSecond], list[tuple[int, int]]]:
        frames = max(self._frames_in_second, 1)
        rows = []
        camera_off = []
        tile_without_face = self._camera_off_by_second.pop(int(self._second), set())
        self._camera_off_by_second = {k: v for k, v in self._camera_off_by_second.items() if k > self._second}
        for s in self.students.values():
            if s.second_frames == 0:
                if s.student_id in tile_without_face:
                    camera_off.append((s.student_id, int(self._second)))
                continue
            probabilities = s.second_probabilities / s.second_frames
            presence = min(s.second_frames / frames, 1.0)
            rows.append(StudentSecond(s.student_id, int(self._second), presence,
                                      s.second_engagement / s.second_frames * presence,
                                      tuple(float(v) for v in probabilities)))
            s.second_frames, s.second_engagement = 0, 0.0
            s.second_probabilities = np.zeros(len(EMOTIONS))
        self._frames_in_second = 0
        if rows:
            self._class_engagement.append((int(self._second), float(np.mean([r.engagement for r in rows]))))
            self._check_mood(int(self._second), opened, closed)
        return rows, camera_off

    def _check_student_alerts(self, now: float, opened: list[Alert], closed: list[Alert]) -> None:
        cfg = self.config.alerts
        for s in self.students.values():
            away = now - s.last_seen > self.config.away_after_s
            if away and s.student_id in self.camera_off and not cfg.camera_off_is_absent:
                away = False  # still in the meeting, camera off: not counted as absent (a setting)
            self._collect(self.alerts.check("absent", s.student_id, away, now, cfg.absent_after_s,
                                            since=s.last_seen), opened, closed)
            negative = False
            detail = ""
            if not away and s.ema.value is not None:
                mass = float(s.ema.value[_NEGATIVE].sum())
                negative = mass >= cfg.negative_threshold
                if negative:
                    worst = EMOTIONS[int(np.argmax(np.where(_NEGATIVE, s.ema.value, -1)))]
                    detail = f"{worst}, {mass:.0%} negative"
            self._collect(self.alerts.check("negative", s.student_id, negative, now, cfg.negative_after_s,
                                            detail=detail), opened, closed)

    def _check_mood(self, second: int, opened: list[Alert], closed: list[Alert]) -> None:
        cfg = self.config.alerts
        history = self._class_engagement
        while history and history[0][0] < second - cfg.mood_window_s - cfg.mood_baseline_s:
            history.popleft()
        recent = [e for t, e in history if t > second - cfg.mood_window_s]
        baseline = [e for t, e in history if t <= second - cfg.mood_window_s]
        dropping, detail = False, ""
        if recent and len(baseline) >= cfg.mood_baseline_s / 2:
            before, now = float(np.mean(baseline)), float(np.mean(recent))
            dropping = now < before - cfg.mood_drop
            detail = f"engagement {before:.2f} -> {now:.2f}"
        self._collect(self.alerts.check("mood_drop", None, dropping, float(second), cfg.mood_after_s,
                                        detail=detail), opened, closed)

    @staticmethod
    def _collect(events: tuple[Alert | None, Alert | None], opened: list[Alert], closed: list[Alert]) -> None:
        if events[0] is not None:
            opened.append(events[0])
        if events[1] is not None:
            closed.append(events[1])
