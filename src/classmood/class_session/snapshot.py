"""What a dashboard draws: the class after one analysed frame, and its mood second by second."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from classmood.aggregate import Alert, ClassMood, StudentCard
from classmood.types import Detections, Frame


@dataclass(frozen=True, slots=True)
class MoodPoint:
    """The class in one second: mean engagement and mean emotion probabilities of present faces."""

    t: float
    engagement: float
    present: int
    probabilities: dict[str, float]


@dataclass(frozen=True, slots=True)
class ClassSnapshot:
    """The class after one analysed frame (a consistent copy: safe to draw on another thread).

    ``students`` holds a card per student, those who opted out as ``opted_out`` cards without any
    estimate. ``alerts`` are those active now, ``opened``/``closed`` changed with this frame and
    ``alert_log`` holds every alert of the class so far. ``frame`` is the analysed picture, kept
    in memory for drawing only (never stored)."""

    timestamp: float  # session seconds
    frame_index: int
    students: list[StudentCard]
    mood: ClassMood
    alerts: list[Alert]
    detections: Detections  # this frame's analysed faces, with their student ids
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)
    alert_log: list[Alert] = field(default_factory=list)
    timeline: list[MoodPoint] = field(default_factory=list)  # one point per second (ClassSession.snapshot)
    session_id: int | None = None  # the stored session, when recorded
    frames: int = 0  # frames analysed so far
    fps: float = 0.0  # analysed frames per second, recently
    latency_ms: float = 0.0  # analysis time of one frame, recently
    elapsed_s: float = 0.0  # wall-clock seconds since the class started
    error: str | None = None  # a problem the teacher should see (e.g. a frame that failed)
    frame: Frame | None = field(default=None, repr=False)
    # faces of students who opted out in this frame: boxes, ids and names only, never classified
    opted_out: Detections = field(default_factory=Detections.empty)

    @property
    def faces(self) -> int:
        """Faces in this frame."""
        return len(self.detections)

    def name_of(self, student_id: int | None) -> str:
        """The shown name of a student (``class`` for a class-wide alert)."""
        for card in self.students:
            if card.student_id == student_id:
                return card.name
        return "class" if student_id is None else f"S{student_id:02d}"

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
