"""Storage: real SQLite files and a real PostgreSQL (CLASSMOOD_TEST_POSTGRES_URL, set by .ci/run)."""

from __future__ import annotations

import os
import sqlite3
import uuid

import numpy as np
import pytest
from sqlalchemy import event, text

from classmood.aggregate import AggregateUpdate, Alert, StudentSecond
from classmood.store import SessionExistsError, SessionRecorder, Store, StoreError, StudentSighting
from classmood.store.queries import (
    alerts_frame, class_frame, delete_session, list_sessions, rename_student, seconds_frame, students_frame,
)

POSTGRES_URL = os.environ.get("CLASSMOOD_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'class.db'}")
    else:
        if not POSTGRES_URL:
            pytest.skip("CLASSMOOD_TEST_POSTGRES_URL not set (scripts/ci_postgres.sh starts PostgreSQL)")
        s = Store(POSTGRES_URL)
    yield s
    s.close()


def second(student: int, t: int, emotion_index: int = 4) -> StudentSecond:
    p = np.full(7, 0.05)
    p[emotion_index] = 0.7
    return StudentSecond(student, t, 1.0, 0.8, tuple(p))


def record_minute(recorder: SessionRecorder, students=(1, 2, 3), start: int = 0, seconds: int = 60) -> None:
    for t in range(start, start + seconds):
        recorder.record(AggregateUpdate([second(s, t) for s in students], [], []),
                        [StudentSighting(s, float(start), float(t)) for s in students])


def test_record_read_back_and_resume(store):
    name = f"math-{uuid.uuid4().hex[:8]}"
    recorder = SessionRecorder(store, name, source="class.mp4", flush_every_s=0.0)
    record_minute(recorder)
    alert = Alert("absent", 2, 10.0)
    recorder.record(AggregateUpdate([], [alert], []))
    recorder.rename(3, "Ada Lovelace", "ocr")
    recorder.flush()  # killed here: the alert is still open
    assert recorder.offset == 0.0

    with pytest.raises(SessionExistsError, match="--resume"):
        SessionRecorder(store, name)
    resumed = SessionRecorder(store, name, resume=True, flush_every_s=0.0)
    assert resumed.offset == 60.0 and resumed.next_student_number == 4
    assert resumed.names == {3: "Ada Lovelace"}
    record_minute(resumed, students=(1, 4), start=60, seconds=30)
    resumed.finish()

    seconds = seconds_frame(store, name)
    assert len(seconds) == 3 * 60 + 2 * 30
    assert seconds["second"].max() == 89 and set(seconds["student"]) == {1, 2, 3, 4}
    assert (seconds.loc[seconds.student == 3, "label"] == "Ada Lovelace").all()
    students = students_frame(store, name).set_index("student")
    assert students.loc[1, "present_s"] == 90 and students.loc[2, "present_s"] == 60
    alerts = alerts_frame(store, name)
    assert len(alerts) == 1 and alerts.iloc[0]["ended_s"] == 60.0 and alerts.iloc[0]["label"] == "S02"
    summary = next(s for s in list_sessions(store) if s.name == name)
    assert (summary.status, summary.duration_s, summary.students, summary.alerts) == ("finished", 90.0, 4, 1)
    klass = class_frame(seconds)
    assert len(klass) == 90 and klass.loc[klass.second == 70, "present"].item() == 2

    rename_student(store, name, 1, "Grace")
    assert students_frame(store, name).set_index("student").loc[1, "label"] == "Grace"
    delete_session(store, name)
    assert name not in [s.name for s in list_sessions(store)]
    with store.session() as db:
        assert db.execute(text("SELECT count(*) FROM student_seconds st JOIN students s ON s.id = st.student_id "
                               "JOIN sessions x ON x.id = s.session_id WHERE x.name = :n"), {"n": name}).scalar() == 0


def test_batches_commit_on_the_wall_clock(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    recorder = SessionRecorder(store, "batch", flush_every_s=3600)
    record_minute(recorder)
    assert seconds_frame(store, "batch").empty  # not committed yet: batches, not a commit per row
    recorder.flush()
    assert len(seconds_frame(store, "batch")) == 180


def test_sqlite_uses_wal(tmp_path):
    path = tmp_path / "wal.db"
    Store(f"sqlite:///{path}").close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_locked_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}", busy_timeout_s=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            SessionRecorder(store, "x")
    finally:
        holder.execute("ROLLBACK")


def test_unreachable_databases(tmp_path):
    with pytest.raises(StoreError, match=r"cannot reach|cannot use"):
        Store("postgresql+psycopg://nobody:x@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="cannot reach"):
        Store(f"sqlite:///{tmp_path / 'missing-folder' / 'x.db'}")


def test_full_disk_keeps_what_was_recorded(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'full.db'}")
    recorder = SessionRecorder(store, "full", flush_every_s=0.0)
    record_minute(recorder, seconds=5)
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def _tiny(dbapi_connection, _record):  # SQLite reports SQLITE_FULL past max_page_count
        dbapi_connection.execute("PRAGMA max_page_count = 12")

    with pytest.raises(StoreError, match="disk full"):
        record_minute(recorder, students=range(1, 40), start=5, seconds=120)
    store.engine.dispose()
    event.remove(store.engine, "connect", _tiny)
    assert len(seconds_frame(store, "full")) == 15
