"""Deleting what is stored: sessions past their retention, one student of a session, a name everywhere.

Every deletion removes the rows of the students, their seconds and their alerts in one
transaction. A session being recorded right now is never touched (its recorder would write the
rows back); erase from it once it has ended.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from classmood.errors import ClassmoodError
from classmood.store.database import SessionBusyError, SessionNotFoundError, Store
from classmood.store.liveness import is_live, utc
from classmood.store.models import AlertRow, CameraOffSecondRow, SessionRow, StudentRow, StudentSecondRow
from classmood.store.opt_outs import students_named

RETENTION_ENV = "CLASSMOOD_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30


def retention_days(value: int | str | None = None) -> int:
    """Days a session is kept: ``value``, else ``$CLASSMOOD_RETENTION_DAYS``, else 30; 0 keeps forever."""
    raw = value if value is not None else os.environ.get(RETENTION_ENV, DEFAULT_RETENTION_DAYS)
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ClassmoodError(f"retention must be a whole number of days (0 keeps forever), not {raw!r}") from None
    if days < 0:
        raise ClassmoodError(f"retention must be 0 (keep forever) or more days, not {days}")
    return days


@dataclass(frozen=True, slots=True)
class Erased:
    """What one deletion removed."""

    sessions: list[str]
    students: int  # student rows (each with its seconds and alerts)


def purge_older_than(store: Store, days: int, now: datetime | None = None) -> Erased:
    """Delete every session that started more than ``days`` days ago (none when ``days`` is 0),
    except one being recorded right now."""
    if days <= 0:
        return Erased([], 0)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with store.transaction() as db:
        old = [row for row in db.scalars(select(SessionRow)) if utc(row.started_at) < cutoff
               and not (row.status == "running" and is_live(row.owner, row.heartbeat_at))]
        students = sum(_delete_session(db, row.id) for row in old)
        return Erased([row.name for row in old], students)


def delete_session(store: Store, name: str) -> Erased:
    """Delete a session and everything recorded for it."""
    with store.transaction() as db:
        row = store.find_session(db, name)
        return Erased([row.name], _delete_session(db, row.id))


def forget_student(store: Store, session: str, student_id: int) -> Erased:
    """Erase one student of a session: their row, seconds and alerts; the class's own alerts stay."""
    with store.transaction() as db:
        row = store.find_session(db, session)
        _refuse_live(row)
        if delete_students(db, row.id, [student_id]) == 0:
            raise SessionNotFoundError(f"session {session!r} has no student S{student_id:02d}")
        return Erased([row.name], 1)


def forget_name(store: Store, name: str) -> Erased:
    """Erase every student shown as ``name`` (named by the teacher or read from a tile) in every
    session; names compare as on the do-not-analyse list (case, spacing, Unicode form aside)."""
    with store.transaction() as db:
        found = students_named(db, name)
        for _, _, row in found:
            _refuse_live(row)
        for session_id, student_id, _ in found:
            delete_students(db, session_id, [student_id])
        return Erased(sorted({row.name for _, _, row in found}), len(found))


def _refuse_live(row: SessionRow) -> None:
    if row.status == "running" and is_live(row.owner, row.heartbeat_at):
        raise SessionBusyError(f"session {row.name!r} is being recorded right now; erase from it once it has ended")


def _delete_session(db, session_id: int) -> int:
    """Delete one session's rows; returns how many students it had."""
    students = delete_students(db, session_id, None)
    db.execute(delete(AlertRow).where(AlertRow.session_id == session_id))
    db.execute(delete(SessionRow).where(SessionRow.id == session_id))
    return students


def delete_students(db, session_id: int, student_ids: list[int] | None) -> int:
    """Delete the students (all of the session's when ``student_ids`` is None) with their seconds and alerts."""
    query = select(StudentRow.id).where(StudentRow.session_id == session_id)
    if student_ids is not None:
        query = query.where(StudentRow.student_id.in_(student_ids))
    row_ids = list(db.scalars(query))
    if row_ids:
        db.execute(delete(StudentSecondRow).where(StudentSecondRow.student_row_id.in_(row_ids)))
        db.execute(delete(CameraOffSecondRow).where(CameraOffSecondRow.student_row_id.in_(row_ids)))
        db.execute(delete(AlertRow).where(AlertRow.student_row_id.in_(row_ids)))
        db.execute(delete(StudentRow).where(StudentRow.id.in_(row_ids)))
    return len(row_ids)
