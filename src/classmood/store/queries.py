"""Reading recorded sessions back: summaries, per-second tables (pandas), alerts, edits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import func, or_, select, update

from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError
from classmood.store.database import SessionNotFoundError, Store
from classmood.store.liveness import shown_status, utc
from classmood.store.models import (
    PROBABILITY_COLUMNS, AlertRow, CameraOffSecondRow, SessionRow, StudentRow, StudentSecondRow,
)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    name: str
    source: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    duration_s: float
    students: int
    alerts: int
    detail: str = ""  # why a session is interrupted or truncated
    settings: dict | None = None  # what the session was analysed with (ClassSettings.stored())
    teacher: str = ""  # who recorded it, and on which machine (empty for sessions of an older classmood)
    machine: str = ""


def list_sessions(store: Store, running_or_since: datetime | None = None) -> list[SessionSummary]:
    """Every session, oldest first; with ``running_or_since``, only those marked running or started
    since then (the filter runs in the database: a school's database holds many sessions)."""
    with store.transaction() as db:
        students = (select(StudentRow.session_id, func.count().label("n")).group_by(StudentRow.session_id)
                    .subquery())
        alerts = select(AlertRow.session_id, func.count().label("n")).group_by(AlertRow.session_id).subquery()
        query = (select(SessionRow, func.coalesce(students.c.n, 0), func.coalesce(alerts.c.n, 0))
                 .outerjoin(students, students.c.session_id == SessionRow.id)
                 .outerjoin(alerts, alerts.c.session_id == SessionRow.id)
                 .order_by(SessionRow.started_at))
        if running_or_since is not None:
            query = query.where(or_(SessionRow.status == "running", SessionRow.started_at >= running_or_since))
        return [_summary(s, n, a) for s, n, a in db.execute(query).all()]


def _summary(row: SessionRow, students: int, alerts: int) -> SessionSummary:
    """A running session that nobody writes any more is shown as interrupted."""
    status = shown_status(row.status, row.owner, row.heartbeat_at)
    detail = ("the monitor stopped writing it (killed or crashed); continue it with --resume"
              if status != row.status else row.status_detail or "")
    return SessionSummary(row.name, row.source, row.started_at, row.ended_at, status, row.duration_s, students,
                          alerts, detail, dict(row.settings or {}), row.teacher or "", row.machine or "")


@dataclass(frozen=True, slots=True)
class ClassNow:
    """One class on the school overview: its summary and, over its last recorded minute, how many
    students were seen and their mean engagement (None without any second in it)."""

    summary: SessionSummary
    running: bool  # being recorded right now (a live heartbeat)
    students_last_minute: int
    engagement_last_minute: float | None


def school_overview(store: Store, days: float = 7.0, now: datetime | None = None) -> list[ClassNow]:
    """The classes being recorded now and those started in the last ``days`` days, newest first
    (every teacher and machine writing this database)."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    recent = [s for s in list_sessions(store, running_or_since=since)
              if s.status == "running" or utc(s.started_at) >= since]
    with store.transaction() as db:
        last_minute = {name: (students, engagement) for name, students, engagement in db.execute(
            select(SessionRow.name, func.count(func.distinct(StudentSecondRow.student_row_id)),
                   func.avg(StudentSecondRow.engagement))
            .join(SessionRow, SessionRow.id == StudentSecondRow.session_id)
            .where(SessionRow.name.in_([s.name for s in recent]),
                   StudentSecondRow.second >= SessionRow.duration_s - 60)
            .group_by(SessionRow.name))}
    rows = []
    for summary in sorted(recent, key=lambda s: utc(s.started_at), reverse=True):
        students, engagement = last_minute.get(summary.name, (0, None))
        rows.append(ClassNow(summary, summary.status == "running", int(students),
                             None if engagement is None else float(engagement)))
    return rows


def get_summary(store: Store, name: str) -> SessionSummary:
    for summary in list_sessions(store):
        if summary.name == name:
            return summary
    raise SessionNotFoundError(f"no session named {name!r} (see `classmood sessions list`)")


def session_exists(store: Store, name: str) -> bool:
    """Whether a class session of this name is recorded."""
    with store.transaction() as db:
        return db.scalar(select(SessionRow.id).where(SessionRow.name == name)) is not None


def students_frame(store: Store, name: str) -> pd.DataFrame:
    """One row per student: student id, label, name source, first/last seen, seconds present, seconds
    with the camera off."""
    with store.transaction() as db:
        session = store.find_session(db, name)
        present = (select(StudentSecondRow.student_row_id, func.sum(StudentSecondRow.presence).label("present_s"),
                          func.avg(StudentSecondRow.engagement).label("engagement"))
                   .group_by(StudentSecondRow.student_row_id).subquery())
        camera_off = (select(CameraOffSecondRow.student_row_id, func.count().label("seconds"))
                      .group_by(CameraOffSecondRow.student_row_id).subquery())
        rows = db.execute(
            select(StudentRow, func.coalesce(present.c.present_s, 0.0), present.c.engagement,
                   func.coalesce(camera_off.c.seconds, 0))
            .outerjoin(present, present.c.student_row_id == StudentRow.id)
            .outerjoin(camera_off, camera_off.c.student_row_id == StudentRow.id)
            .where(StudentRow.session_id == session.id).order_by(StudentRow.student_id)).all()
        return pd.DataFrame(
            [{"student": s.student_id, "label": s.label, "name_source": s.name_source, "first_seen_s": s.first_seen,
              "last_seen_s": s.last_seen, "present_s": float(p), "camera_off_s": float(c), "mean_engagement": e}
             for s, p, e, c in rows],
            columns=["student", "label", "name_source", "first_seen_s", "last_seen_s", "present_s", "camera_off_s",
                     "mean_engagement"])


def seconds_frame(store: Store, name: str) -> pd.DataFrame:
    """Every stored per-student second, with the student's id, label and one column per emotion."""
    with store.transaction() as db:
        session = store.find_session(db, name)
        query = (select(StudentRow.student_id.label("student"), StudentRow.name, StudentSecondRow.second,
                        StudentSecondRow.presence, StudentSecondRow.engagement, StudentSecondRow.emotion,
                        StudentSecondRow.confidence,
                        *[getattr(StudentSecondRow, c) for c in PROBABILITY_COLUMNS])
                 .join(StudentRow, StudentRow.id == StudentSecondRow.student_row_id)
                 .where(StudentSecondRow.session_id == session.id)
                 .order_by(StudentSecondRow.second, StudentRow.student_id))
        frame = pd.DataFrame(db.execute(query).all(), columns=[
            "student", "name", "second", "presence", "engagement", "emotion", "confidence", *EMOTIONS])
    frame.insert(1, "label", [n if isinstance(n, str) and n else f"S{s:02d}"
                              for s, n in zip(frame["student"], frame["name"])])
    return frame.drop(columns=["name"])


def class_frame(seconds: pd.DataFrame) -> pd.DataFrame:
    """Class mood per second: students present, mean engagement and emotion probabilities."""
    if seconds.empty:
        return pd.DataFrame(columns=["second", "present", "engagement", *EMOTIONS])
    grouped = seconds.groupby("second")
    out = grouped[["engagement", *EMOTIONS]].mean()
    out.insert(0, "present", grouped["presence"].sum())
    return out.reset_index()


def for_export(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its emotion columns named ``p_<emotion>``, as in every CSV/Parquet file classmood writes."""
    return frame.rename(columns=dict(zip(EMOTIONS, PROBABILITY_COLUMNS)))


def alerts_frame(store: Store, name: str) -> pd.DataFrame:
    with store.transaction() as db:
        session = store.find_session(db, name)
        rows = db.execute(
            select(AlertRow, StudentRow).outerjoin(StudentRow, StudentRow.id == AlertRow.student_row_id)
            .where(AlertRow.session_id == session.id).order_by(AlertRow.started_at)).all()
        return pd.DataFrame(
            [{"kind": a.kind, "student": s.student_id if s else None, "label": s.label if s else "class",
              "started_s": a.started_at, "ended_s": a.ended_at, "detail": a.detail} for a, s in rows],
            columns=["kind", "student", "label", "started_s", "ended_s", "detail"])


def rename_student(store: Store, name: str, student_id: int, label: str) -> None:
    """The teacher names a pseudonymous student (not with a name on the do-not-analyse list: such a
    student is erased instead, which renaming must not hide)."""
    from classmood.store.opt_outs import is_opted_out

    if is_opted_out(store, label):
        raise ClassmoodError(f"{label!r} is on the do-not-analyse list: erase this student instead "
                             f"(classmood sessions forget {name!r} S{student_id:02d})")
    with store.transaction() as db:
        session = store.find_session(db, name)
        done = db.execute(update(StudentRow).where(StudentRow.session_id == session.id, StudentRow.student_id == student_id)
                          .values(name=label, name_source="teacher"))
        if done.rowcount == 0:
            raise SessionNotFoundError(f"session {name!r} has no student S{student_id:02d}")
