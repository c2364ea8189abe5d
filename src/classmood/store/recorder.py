"""Write a running class into the database in small batches (every ~1 s of wall time),
so that a killed monitor loses at most the last seconds, and continue a stored session."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, UTC

from sqlalchemy import func, insert, select, update

from classmood.aggregate import AggregateUpdate, Alert, StudentSecond
from classmood.store.database import SessionExistsError, Store
from classmood.store.models import PROBABILITY_COLUMNS, AlertRow, SessionRow, StudentRow, StudentSecondRow


@dataclass(frozen=True, slots=True)
class StudentSighting:
    number: int
    first_seen: float
    last_seen: float
    signature: bytes | None = None  # appearance descriptor, erased when the session ends


class SessionRecorder:
    """Records one session; ``offset`` is the session time at which this run starts."""

    def __init__(self, store: Store, name: str, *, source: str = "", resume: bool = False,
                 settings: dict | None = None, flush_every_s: float = 1.0) -> None:
        self.store = store
        self.name = name
        self.flush_every_s = flush_every_s
        self._seconds: list[StudentSecond] = []
        self._new_alerts: list[Alert] = []
        self._closed_alerts: list[Alert] = []
        self._sightings: dict[int, StudentSighting] = {}
        self._names: dict[int, tuple[str, str]] = {}
        self._student_ids: dict[int, int] = {}
        self._last_flush = time.monotonic()
        self._duration = 0.0
        self.signatures: dict[int, tuple[bytes, float, float]] = {}  # of a resumed session's students
        self.names: dict[int, str] = {}  # names a resumed session's students already have
        with store.session() as db:
            row = db.scalar(select(SessionRow).where(SessionRow.name == name))
            if row is not None and not resume:
                raise SessionExistsError(
                    f"a session named {name!r} already exists; add --resume to continue it or choose another name")
            if row is None:
                row = SessionRow(name=name, source=source, started_at=datetime.now(UTC),
                                 status="running", duration_s=0.0, settings=settings or {})
                db.add(row)
                db.flush()
                self.offset = 0.0
            else:
                self.offset = float(row.duration_s)
                row.status, row.ended_at = "running", None
                # alerts left open by a killed run end where that run's record ends
                db.execute(update(AlertRow).where(AlertRow.session_id == row.id, AlertRow.ended_at.is_(None))
                           .values(ended_at=row.duration_s))
                for student in db.scalars(select(StudentRow).where(StudentRow.session_id == row.id)):
                    self._student_ids[student.number] = student.id
                    if student.name:
                        self.names[student.number] = student.name
                    if student.signature:
                        self.signatures[student.number] = (student.signature, student.first_seen,
                                                           student.last_seen)
            self.session_id = row.id
            self._duration = self.offset
            self.next_student_number = 1 + (db.scalar(
                select(func.max(StudentRow.number)).where(StudentRow.session_id == row.id)) or 0)

    def record(self, update_: AggregateUpdate, sightings: Iterable[StudentSighting] = ()) -> None:
        """Queue what one frame produced; commits when ``flush_every_s`` has passed."""
        self._seconds += update_.seconds
        self._new_alerts += update_.opened
        self._closed_alerts += [a for a in update_.closed if a not in update_.opened]
        for s in sightings:
            self._sightings[s.number] = s
        if update_.seconds:
            self._duration = max(self._duration, max(r.second for r in update_.seconds) + 1.0)
        if time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def rename(self, number: int, name: str, source: str = "ocr") -> None:
        """Give a student a display name (read from the tile, or typed by the teacher)."""
        self._names[number] = (name, source)

    def flush(self) -> None:
        """Commit everything queued in one transaction."""
        self._last_flush = time.monotonic()
        if not (self._seconds or self._new_alerts or self._closed_alerts or self._sightings or self._names):
            return
        with self.store.session() as db:
            for number, s in self._sightings.items():
                if number in self._student_ids:
                    values = {"last_seen": s.last_seen}
                    if s.signature is not None:
                        values["signature"] = s.signature
                    db.execute(update(StudentRow).where(StudentRow.id == self._student_ids[number]).values(**values))
                else:
                    row = StudentRow(session_id=self.session_id, number=number, signature=s.signature,
                                     first_seen=s.first_seen, last_seen=s.last_seen)
                    db.add(row)
                    db.flush()
                    self._student_ids[number] = row.id
            for number, (name, source) in self._names.items():
                if number in self._student_ids:
                    db.execute(update(StudentRow).where(StudentRow.id == self._student_ids[number])
                               .values(name=name, name_source=source))
            if self._seconds:
                db.execute(insert(StudentSecondRow), [self._second_row(r) for r in self._seconds
                                                      if r.student_id in self._student_ids])
            for alert in self._new_alerts:
                row = AlertRow(session_id=self.session_id, kind=alert.kind, started_at=alert.started_at,
                               ended_at=alert.ended_at, detail=alert.detail[:500],
                               student_id=self._student_ids.get(alert.student_id) if alert.student_id else None)
                db.add(row)
                db.flush()
                alert.alert_id = row.id
            for alert in self._closed_alerts:
                if alert.alert_id is not None:
                    db.execute(update(AlertRow).where(AlertRow.id == alert.alert_id)
                               .values(ended_at=alert.ended_at, detail=alert.detail[:500]))
            db.execute(update(SessionRow).where(SessionRow.id == self.session_id).values(duration_s=self._duration))
        self._seconds, self._new_alerts, self._closed_alerts = [], [], []
        self._sightings.clear()
        self._names.clear()

    def finish(self, status: str = "finished") -> None:
        """Flush and mark the session ended (``interrupted`` when the source failed).

        A finished session's appearance signatures are erased; an interrupted one keeps them
        so that ``--resume`` recognises its students."""
        self.flush()
        with self.store.session() as db:
            db.execute(update(SessionRow).where(SessionRow.id == self.session_id)
                       .values(status=status, ended_at=datetime.now(UTC)))
            if status == "finished":
                db.execute(update(StudentRow).where(StudentRow.session_id == self.session_id).values(signature=None))

    def _second_row(self, r: StudentSecond) -> dict:
        row = {"student_id": self._student_ids[r.student_id], "session_id": self.session_id,
               "second": r.second, "presence": r.presence, "engagement": r.engagement,
               "emotion": r.emotion, "confidence": r.confidence}
        row.update(zip(PROBABILITY_COLUMNS, r.probabilities))
        return row
