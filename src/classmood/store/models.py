"""SQLAlchemy 2 ORM tables of a recorded class: sessions, students, per-second rows, alerts;
and the do-not-analyse list of names (students who opted out), shared by every session.

Only aggregates per pseudonymous student are stored (what they showed in each second their face was
seen, and the seconds their camera was off): no frames or crops. While a session runs,
each student's appearance signature (a 164-number gradient/6x6 descriptor, not an image) is
kept so that a restarted monitor recognises the same students; it is erased when the session ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from classmood.emotions import EMOTIONS


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    """One monitored class."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(1000), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, finished, interrupted, truncated
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)  # session time recorded so far
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Added after the first release (store/migrate.py adds them to older databases):
    # session seconds up to which the record is complete; a video file's session time is its media
    # time, so ``--resume`` of a file continues there. Written in the same transaction as the seconds.
    position_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # each flush
    owner: Mapped[str | None] = mapped_column(String(300), nullable=True)  # "pid@host/run" of the writing recorder
    status_detail: Mapped[str | None] = mapped_column(String(500), nullable=True)  # why interrupted/truncated
    teacher: Mapped[str | None] = mapped_column(String(200), nullable=True)  # who records it (store/origin.py)
    machine: Mapped[str | None] = mapped_column(String(200), nullable=True)  # where it is being recorded

    students: Mapped[list[StudentRow]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True)
    alerts: Mapped[list[AlertRow]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class StudentRow(Base):
    """A pseudonymous student of a class session (``student_id`` is the tracker's number, ``name`` a label)."""

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column("number", Integer)  # the column keeps its first name
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name_source: Mapped[str] = mapped_column(String(20), default="pseudonym")  # pseudonym, ocr, teacher
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # only while running

    session: Mapped[SessionRow] = relationship(back_populates="students")

    @property
    def label(self) -> str:
        return self.name or f"S{self.student_id:02d}"


class StudentSecondRow(Base):
    """What one student showed during one second of session time."""

    __tablename__ = "student_seconds"
    __table_args__ = (Index("ix_student_seconds_session_second", "session_id", "second"),)

    student_row_id: Mapped[int] = mapped_column("student_id", ForeignKey("students.id", ondelete="CASCADE"),
                                                primary_key=True)
    second: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    presence: Mapped[float] = mapped_column(Float)
    engagement: Mapped[float] = mapped_column(Float)
    emotion: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    p_angry: Mapped[float] = mapped_column(Float)
    p_disgust: Mapped[float] = mapped_column(Float)
    p_fear: Mapped[float] = mapped_column(Float)
    p_happy: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)
    p_sad: Mapped[float] = mapped_column(Float)
    p_surprise: Mapped[float] = mapped_column(Float)


PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"p_{e}" for e in EMOTIONS)


class CameraOffSecondRow(Base):
    """A second in which a student's gallery tile was shown without their face (camera off). A
    student's other unseen seconds are ``away`` or, when they never came back, ``left``
    (``store.states``)."""

    __tablename__ = "camera_off_seconds"

    student_row_id: Mapped[int] = mapped_column("student_id", ForeignKey("students.id", ondelete="CASCADE"),
                                                primary_key=True)
    second: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)


class AlertRow(Base):
    """An alert with its start and (once over) end, in session seconds."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    student_row_id: Mapped[int | None] = mapped_column("student_id", ForeignKey("students.id", ondelete="CASCADE"),
                                                       nullable=True)  # a students row, None for the class
    kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[str] = mapped_column(String(500), default="")


class OptOutRow(Base):
    """A name on the do-not-analyse list: a student shown under it is neither classified nor stored."""

    __tablename__ = "opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # as the teacher typed it
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the name compared (``name_key``)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
