"""Storage: real SQLite files and a real PostgreSQL (CLASSMOOD_TEST_POSTGRES_URL, set by .ci/run)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import event, inspect, text

from classmood.aggregate import AggregateUpdate, Alert
from classmood.store import (
    SessionBusyError, SessionExistsError, SessionNotFoundError, SessionRecorder, SessionSourceError, Store, StoreError,
    StudentSighting,
)
from classmood.store.erasure import delete_session
from classmood.store.migrate import ADDED_COLUMNS, upgrade
from classmood.store.queries import (
    alerts_frame, class_frame, list_sessions, rename_student, seconds_frame, students_frame,
)

from fixtures.store import let_heartbeat_go_stale, record_minute, second


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
    let_heartbeat_go_stale(store, name)
    resumed = SessionRecorder(store, name, resume=True, flush_every_s=0.0)
    assert resumed.offset == 60.0 and resumed.next_student_id == 4
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
    with store.transaction() as db:
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


def test_resume_of_a_missing_session_is_an_error_and_creates_nothing(store):
    name = f"never-{uuid.uuid4().hex[:8]}"
    with pytest.raises(SessionNotFoundError, match=rf"no session named '{name}'.*classmood sessions list"):
        SessionRecorder(store, name, resume=True)
    assert name not in [s.name for s in list_sessions(store)]


def test_a_live_session_is_not_taken_over_and_a_stale_one_shows_interrupted(store):
    name = f"live-{uuid.uuid4().hex[:8]}"
    first = SessionRecorder(store, name, flush_every_s=0.0)
    record_minute(first, seconds=3)
    assert _summary(store, name).status == "running"
    with pytest.raises(SessionBusyError, match=rf"'{name}' is being recorded right now"):
        SessionRecorder(store, name, resume=True)

    let_heartbeat_go_stale(store, name)  # the first monitor hangs or dies
    assert (_summary(store, name).status, _summary(store, name).duration_s) == ("interrupted", 3.0)
    assert "--resume" in _summary(store, name).detail
    second = SessionRecorder(store, name, resume=True, flush_every_s=0.0)
    assert second.resumed_status == "interrupted" and second.offset == 3.0
    with pytest.raises(SessionBusyError, match="taken over"):  # the first one never writes it again
        record_minute(first, start=3, seconds=2)
    record_minute(second, start=3, seconds=2)
    second.finish()
    seconds = seconds_frame(store, name)
    assert not seconds.duplicated(["student", "second"]).any() and seconds["second"].max() == 4
    assert _summary(store, name).status == "finished"


def test_a_session_whose_monitor_process_is_gone_is_interrupted_at_once(store, tmp_path):
    """A real process records a session and dies without ending it (os._exit); its heartbeat is fresh."""
    name = f"dead-{uuid.uuid4().hex[:8]}"
    script = ("import os, sys\n"
              "from classmood.store import SessionRecorder, Store\n"
              "recorder = SessionRecorder(Store(sys.argv[1]), sys.argv[2])\n"
              "recorder.flush()\n"
              "os._exit(9)\n")
    done = subprocess.run([sys.executable, "-c", script, store.url, name], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 9, done.stderr
    assert _summary(store, name).status == "interrupted"
    SessionRecorder(store, name, resume=True).finish()
    assert _summary(store, name).status == "finished"


def test_position_is_flushed_with_the_seconds_and_moves_past_the_last_one_at_the_end(store):
    name = f"pos-{uuid.uuid4().hex[:8]}"
    recorder = SessionRecorder(store, name, flush_every_s=0.0, source_file="/videos/class.mp4")
    for k in range(23):  # frames at 5 fps: 0.0 .. 4.4 s; seconds 0-3 are complete
        t = k / 5
        done = [second(1, int(t) - 1)] if k and int(t) != int((k - 1) / 5) else []
        recorder.record(AggregateUpdate(done, [], []), [StudentSighting(1, 0.0, t)], reached=t)
    assert _position(store, name) == 4.0 and seconds_frame(store, name)["second"].max() == 3
    let_heartbeat_go_stale(store, name)
    with pytest.raises(SessionSourceError, match=r"/videos/class\.mp4"):
        SessionRecorder(store, name, resume=True, source_file="/videos/other.mp4")
    with pytest.raises(SessionSourceError, match="live source"):
        SessionRecorder(store, name, resume=True)
    resumed = SessionRecorder(store, name, resume=True, source_file="/videos/class.mp4")
    assert (resumed.offset, resumed.resume_at) == (0.0, 4.0)  # a video's session time is its own time
    resumed.record(AggregateUpdate([], [], []), reached=4.6)
    resumed.record(AggregateUpdate([second(1, 4)], [], []))
    resumed.finish("truncated", "video ended at frame 24 of 50")
    assert _position(store, name) == 5.0
    summary = _summary(store, name)
    assert (summary.status, summary.detail) == ("truncated", "video ended at frame 24 of 50")


def test_a_database_of_the_previous_schema_is_upgraded(store):
    """Drop the columns added since the first release, as an older classmood made the table."""
    name = f"old-{uuid.uuid4().hex[:8]}"
    SessionRecorder(store, name, flush_every_s=0.0).finish()
    with store.engine.begin() as connection:
        for column in ADDED_COLUMNS["sessions"]:
            connection.execute(text(f"ALTER TABLE sessions DROP COLUMN {column}"))
    upgraded = Store(store.url)
    try:
        assert _summary(upgraded, name).status == "finished"
        assert upgrade(upgraded.engine) == []  # idempotent
        SessionRecorder(upgraded, name, resume=True).finish()
    finally:
        upgraded.close()
    columns = {c["name"] for c in inspect(store.engine).get_columns("sessions")}
    assert set(ADDED_COLUMNS["sessions"]) <= columns


def _summary(store, name):
    return next(s for s in list_sessions(store) if s.name == name)


def _position(store, name) -> float:
    with store.transaction() as db:
        return db.execute(text("SELECT position_s FROM sessions WHERE name = :n"), {"n": name}).scalar()
