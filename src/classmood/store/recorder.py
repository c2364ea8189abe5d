"""Write a running class into the database in small batches (every ~1 s of wall time and of
session time), so that a killed monitor loses less than 2 s, and continue a stored session.

Each flush also stamps the session's heartbeat and the position up to which it is complete,
in the same transaction as its seconds; only the recorder that opened the session (its owner,
``pid@host/run``) may write it, so two monitors never write one session at the same time."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from classmood.aggregate import AggregateUpdate, Alert, StudentSecond
from classmood.store.database import (
    SessionBusyError, SessionExistsError, SessionNotFoundError, SessionSourceError, Store,
)
from classmood.store.erasure import delete_students
from classmood.store.liveness import is_live, this_owner
from classmood.store.models import (
    PROBABILITY_COLUMNS, AlertRow, CameraOffSecondRow, SessionRow, StudentRow, StudentSecondRow,
)
from classmood.store.origin import SessionOrigin, session_origin


@dataclass(frozen=True, slots=True)
class StudentSighting:
    student_id: int
    first_seen: float
    last_seen: float
    signature: bytes | None = None  # appearance descriptor, erased when the session ends


class SessionRecorder:
    """Records one session; ``offset`` is the session time at which this run's source time 0 lies.

    ``source_file`` names the video file a session is recorded from (its resolved path): such a
    session's time is the video's time, so on ``resume`` ``offset`` is 0 and ``resume_at`` says
    where in the video to continue; a live source (``source_file=None``) continues the time line
    after the recorded duration, and ``resume_at`` is None. ``resumed_status`` is the status the
    session had before this run took it over (None for a new session)."""

    def __init__(self, store: Store, name: str, *, source: str = "", resume: bool = False,
                 settings: dict | None = None, flush_every_s: float = 1.0, source_file: str | None = None,
                 origin: SessionOrigin | None = None) -> None:
        self.store = store
        self.name = name
        self.flush_every_s = flush_every_s
        self.owner = this_owner()
        self.resume_at: float | None = None
        self.resumed_status: str | None = None
        self._reached: float | None = None  # session time of the last frame recorded
        self._position: float | None = None  # seconds up to which the queued record is complete
        self._flushed_position = 0.0
        self._seconds: list[StudentSecond] = []
        self._camera_off: list[tuple[int, int]] = []  # (student, second) with the tile shown, no face
        self._new_alerts: list[Alert] = []
        self._closed_alerts: list[Alert] = []
        self._sightings: dict[int, StudentSighting] = {}
        self._names: dict[int, tuple[str, str]] = {}
        self._row_ids: dict[int, int] = {}  # student id -> row id of its students row
        self._last_flush = time.monotonic()
        self._duration = 0.0
        self.signatures: dict[int, tuple[bytes, float, float]] = {}  # of a resumed session's students
        self.names: dict[int, str] = {}  # names a resumed session's students already have
        origin = origin or session_origin()
        with store.transaction() as db:
            row = db.scalar(select(SessionRow).where(SessionRow.name == name))
            _refuse(row, name, resume, source_file)
            if row is None:
                row = SessionRow(name=name, source=source, started_at=datetime.now(UTC), status="running",
                                 duration_s=0.0, position_s=0.0, heartbeat_at=datetime.now(UTC), owner=self.owner,
                                 settings={**(settings or {}), "source_file": source_file},
                                 teacher=origin.teacher, machine=origin.machine)
                db.add(row)
                try:
                    db.flush()
                except IntegrityError:  # another machine created the same name since the select
                    raise SessionExistsError(_taken(name)) from None
                self.offset = 0.0
            else:
                self._take_over(db, row, source_file, origin.machine)
                # alerts left open by a killed run end where that run's record ends
                db.execute(update(AlertRow).where(AlertRow.session_id == row.id, AlertRow.ended_at.is_(None))
                           .values(ended_at=row.duration_s))
                for student in db.scalars(select(StudentRow).where(StudentRow.session_id == row.id)):
                    self._row_ids[student.student_id] = student.id
                    if student.name:
                        self.names[student.student_id] = student.name
                    if student.signature:
                        self.signatures[student.student_id] = (student.signature, student.first_seen,
                                                           student.last_seen)
            self.session_id = row.id
            self._duration = float(row.duration_s)
            self._flushed_position = self.offset + (self.resume_at or 0.0)
            self.next_student_id = 1 + (db.scalar(
                select(func.max(StudentRow.student_id)).where(StudentRow.session_id == row.id)) or 0)

    @staticmethod
    def check(store: Store, name: str, *, resume: bool = False, source_file: str | None = None) -> None:
        """Raise now what opening this session would raise (exists, missing, being recorded, another
        source), without opening it: a command can fail before its slow start (loading models)."""
        with store.transaction() as db:
            _refuse(db.scalar(select(SessionRow).where(SessionRow.name == name)), name, resume, source_file)

    def _take_over(self, db, row: SessionRow, source_file: str | None, machine: str) -> None:
        """Continue a stored session (``_refuse`` let it): become its owner, atomically."""
        if source_file is not None:  # session time is the video's time: continue where the record is complete
            self.offset = 0.0
            self.resume_at = float(row.position_s if row.position_s is not None else row.duration_s)
        else:
            self.offset = float(row.duration_s)
        self.resumed_status = "interrupted" if row.status == "running" else row.status
        taken = db.execute(
            update(SessionRow).where(SessionRow.id == row.id, SessionRow.owner.is_not_distinct_from(row.owner),
                                     SessionRow.heartbeat_at.is_not_distinct_from(row.heartbeat_at))
            .values(status="running", ended_at=None, status_detail=None, owner=self.owner,
                    heartbeat_at=datetime.now(UTC), machine=machine))
        if taken.rowcount != 1:
            raise SessionBusyError(f"session {row.name!r} was just taken over by another monitor")

    def record(self, update_: AggregateUpdate, sightings: Iterable[StudentSighting] = (),
               reached: float | None = None) -> None:
        """Queue what one frame produced (``reached``: that frame's session time); commits when
        ``flush_every_s`` has passed. Every second before ``reached``'s is then complete."""
        if reached is not None:
            self._reached = reached
            self._position = max(self._position or 0.0, float(math.floor(reached)))
        self._seconds += update_.seconds
        self._camera_off += update_.camera_off
        self._new_alerts += update_.opened
        self._closed_alerts += [a for a in update_.closed if a not in update_.opened]
        for s in sightings:
            self._sightings[s.student_id] = s
        finished = [r.second for r in update_.seconds] + [second for _, second in update_.camera_off]
        if finished:
            self._duration = max(self._duration, max(finished) + 1.0)
        # every flush period of wall time, and of session time too: a video analysed faster than
        # real time then also loses at most the unfinished second and one period on kill -9
        if (time.monotonic() - self._last_flush >= self.flush_every_s
                or (self._position or 0.0) - self._flushed_position >= self.flush_every_s):
            self.flush()

    def rename(self, student_id: int, name: str, source: str = "ocr") -> None:
        """Give a student a display name (read from the tile, or typed by the teacher)."""
        self._names[student_id] = (name, source)

    def forget(self, student_id: int) -> None:
        """Erase a student from this session at once (they opted out): the rows written so far,
        their seconds and alerts, and whatever of theirs is still queued."""
        self._seconds = [r for r in self._seconds if r.student_id != student_id]
        self._camera_off = [r for r in self._camera_off if r[0] != student_id]
        self._new_alerts = [a for a in self._new_alerts if a.student_id != student_id]
        self._closed_alerts = [a for a in self._closed_alerts if a.student_id != student_id]
        self._sightings.pop(student_id, None)
        self._names.pop(student_id, None)
        self.signatures.pop(student_id, None)
        if self._row_ids.pop(student_id, None) is not None:
            with self.store.transaction() as db:
                delete_students(db, self.session_id, [student_id])

    def merge(self, from_id: int, into_id: int) -> None:
        """Student ``from_id`` is ``into_id`` come back (their tile label says so): everything of
        ``from_id``, stored or queued, becomes ``into_id``'s; where both have a second, ``into_id``'s stays."""
        self.flush()
        into_row, from_row = self._row_ids.get(into_id), self._row_ids.pop(from_id, None)
        self.signatures.pop(from_id, None)
        if from_row is None:
            return
        with self.store.transaction() as db:
            if into_row is None:  # nothing stored of the older one yet: the newer row takes its number
                db.execute(update(StudentRow).where(StudentRow.id == from_row).values(student_id=into_id))
                self._row_ids[into_id] = from_row
                return
            for table in (StudentSecondRow, CameraOffSecondRow):
                taken = select(table.second).where(table.student_row_id == into_row).scalar_subquery()
                db.execute(delete(table).where(table.student_row_id == from_row, table.second.in_(taken)))
            both = select(StudentSecondRow.second).where(StudentSecondRow.student_row_id == from_row).scalar_subquery()
            db.execute(delete(CameraOffSecondRow).where(CameraOffSecondRow.student_row_id == into_row,
                                                        CameraOffSecondRow.second.in_(both)))
            for table in (StudentSecondRow, CameraOffSecondRow, AlertRow):
                db.execute(update(table).where(table.student_row_id == from_row).values(student_row_id=into_row))
            older, newer = db.get(StudentRow, into_row), db.get(StudentRow, from_row)
            older.last_seen = max(older.last_seen, newer.last_seen)
            db.delete(newer)

    def flush(self) -> None:
        """Commit everything queued, the heartbeat and the position in one transaction."""
        self._last_flush = time.monotonic()
        with self.store.transaction() as db:
            values = {"heartbeat_at": datetime.now(UTC), "duration_s": self._duration}
            if self._position is not None:
                values["position_s"] = self._flushed_position = self._position
            mine = db.execute(update(SessionRow).where(SessionRow.id == self.session_id,
                                                       SessionRow.owner == self.owner).values(**values))
            if mine.rowcount != 1:
                raise SessionBusyError(f"session {self.name!r} was taken over by another monitor; "
                                       "this one stopped writing it")
            for student_id, s in self._sightings.items():
                if student_id in self._row_ids:
                    values = {"last_seen": s.last_seen}
                    if s.signature is not None:
                        values["signature"] = s.signature
                    db.execute(update(StudentRow).where(StudentRow.id == self._row_ids[student_id]).values(**values))
                else:
                    row = StudentRow(session_id=self.session_id, student_id=student_id, signature=s.signature,
                                     first_seen=s.first_seen, last_seen=s.last_seen)
                    db.add(row)
                    db.flush()
                    self._row_ids[student_id] = row.id
            for student_id, (name, source) in self._names.items():
                if student_id in self._row_ids:
                    db.execute(update(StudentRow).where(StudentRow.id == self._row_ids[student_id])
                               .values(name=name, name_source=source))
            if self._seconds:
                db.execute(insert(StudentSecondRow), [self._second_row(r) for r in self._seconds
                                                      if r.student_id in self._row_ids])
            rows = [{"student_row_id": self._row_ids[student_id], "second": second, "session_id": self.session_id}
                    for student_id, second in self._camera_off if student_id in self._row_ids]
            if rows:
                db.execute(insert(CameraOffSecondRow), rows)
            for alert in self._new_alerts:
                row = AlertRow(session_id=self.session_id, kind=alert.kind, started_at=alert.started_at,
                               ended_at=alert.ended_at, detail=alert.detail[:500],
                               student_row_id=self._row_ids.get(alert.student_id) if alert.student_id else None)
                db.add(row)
                db.flush()
                alert.alert_id = row.id
            for alert in self._closed_alerts:
                if alert.alert_id is not None:
                    db.execute(update(AlertRow).where(AlertRow.id == alert.alert_id)
                               .values(ended_at=alert.ended_at, detail=alert.detail[:500]))
        self._seconds, self._camera_off, self._new_alerts, self._closed_alerts = [], [], [], []
        self._sightings.clear()
        self._names.clear()

    def finish(self, status: str = "finished", detail: str = "") -> None:
        """Flush and mark the session ended: ``interrupted`` when the source failed, ``truncated``
        when a video ended early (``detail`` says why).

        The last second is stored by then, so the position moves past it. A finished session's
        appearance signatures are erased; another keeps them so that ``--resume`` recognises its students."""
        if self._reached is not None:
            self._position = float(math.floor(self._reached)) + 1.0
        self.flush()
        with self.store.transaction() as db:
            db.execute(update(SessionRow).where(SessionRow.id == self.session_id, SessionRow.owner == self.owner)
                       .values(status=status, status_detail=detail[:500] or None, ended_at=datetime.now(UTC)))
            if status == "finished":
                db.execute(update(StudentRow).where(StudentRow.session_id == self.session_id).values(signature=None))

    def _second_row(self, r: StudentSecond) -> dict:
        row = {"student_row_id": self._row_ids[r.student_id], "session_id": self.session_id,
               "second": r.second, "presence": r.presence, "engagement": r.engagement,
               "emotion": r.emotion, "confidence": r.confidence}
        row.update(zip(PROBABILITY_COLUMNS, r.probabilities))
        return row


def _refuse(row: SessionRow | None, name: str, resume: bool, source_file: str | None) -> None:
    """The one-line refusals of opening session ``name`` (``row`` is its record, if any)."""
    if row is not None and not resume:
        raise SessionExistsError(_taken(name))
    if row is None:
        if resume:
            raise SessionNotFoundError(f"no session named {name!r} to resume (see `classmood sessions list`)")
        return
    if row.status == "running" and is_live(row.owner, row.heartbeat_at):
        raise SessionBusyError(f"session {name!r} is being recorded right now by process {row.owner}; "
                               "stop that monitor first or choose another --session")
    settings = row.settings or {}
    recorded_from = settings["source_file"] if "source_file" in settings else _legacy_file(row.source)
    if recorded_from != source_file:
        was = f"the video {recorded_from}" if recorded_from else f"the live source {row.source!r}"
        now = f"the video {source_file}" if source_file else "a live source"
        raise SessionSourceError(f"session {name!r} was recorded from {was}; it cannot be resumed "
                                 f"from {now} (resume it with the same source, or choose another --session)")


def _taken(name: str) -> str:
    return f"a session named {name!r} already exists; add --resume to continue it or choose another name"


def _legacy_file(source: str) -> str | None:
    """The video file a session recorded by an earlier classmood (without ``source_file``) came from."""
    path = Path(source)
    return str(path.resolve()) if source and path.is_file() else None
