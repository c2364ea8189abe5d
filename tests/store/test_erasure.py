"""Retention and a student's rights on a real database (SQLite and PostgreSQL): purge, forget,
export of one student; rows gone, the other students and sessions untouched."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from classmood.aggregate import AggregateUpdate, Alert
from classmood.errors import ClassmoodError
from classmood.report.html import render_report_html
from classmood.store import SessionBusyError, SessionNotFoundError, SessionRecorder
from classmood.store.erasure import forget_name, forget_student, purge_older_than, retention_days
from classmood.store.models import SessionRow
from classmood.store.queries import alerts_frame, list_sessions, seconds_frame, students_frame
from classmood.store.states import student_record

from fixtures.cli import run_cli
from fixtures.store import record_minute


def _class(store, students=(1, 2, 3), finish=True) -> tuple[str, SessionRecorder]:
    name = f"class-{uuid.uuid4().hex[:8]}"
    recorder = SessionRecorder(store, name, flush_every_s=0.0)
    record_minute(recorder, students)
    recorder.record(AggregateUpdate([], [Alert("absent", 2, 10.0), Alert("mood_drop", None, 20.0)], []))
    if finish:
        recorder.finish()
    return name, recorder


def _count(store, table: str, name: str) -> int:
    column = "id" if table == "sessions" else "session_id"
    with store.transaction() as db:
        return db.execute(text(f"SELECT count(*) FROM {table} t JOIN sessions x ON x.id = t.{column} "
                               "WHERE x.name = :n"), {"n": name}).scalar()


def test_forget_one_student_leaves_the_others_and_the_class(store):
    name, _ = _class(store)
    other, _ = _class(store)
    forget_student(store, name, 2)
    assert set(students_frame(store, name)["student"]) == {1, 3}
    assert set(seconds_frame(store, name)["student"]) == {1, 3} and len(seconds_frame(store, name)) == 120
    assert alerts_frame(store, name)["kind"].tolist() == ["mood_drop"]  # the class's alert stays, S02's is gone
    assert len(seconds_frame(store, other)) == 180 and len(alerts_frame(store, other)) == 2  # other session untouched
    report = render_report_html(store, name)  # the report, made again from the store, no longer shows them
    assert "S01" in report and "S03" in report and "S02" not in report
    with pytest.raises(SessionNotFoundError, match="no student S02"):
        forget_student(store, name, 2)


def test_forget_a_name_in_every_session(store):
    first, first_recorder = _class(store, finish=False)
    first_recorder.rename(3, "Ada Lovelace", "teacher")
    first_recorder.finish()
    second, second_recorder = _class(store, students=(1, 4), finish=False)
    second_recorder.rename(4, "Ada Lovelace", "ocr")
    second_recorder.finish()
    erased = forget_name(store, "Ada Lovelace")
    assert erased.students == 2 and sorted(erased.sessions) == sorted([first, second])
    assert set(students_frame(store, first)["student"]) == {1, 2}
    assert set(students_frame(store, second)["student"]) == {1}
    assert "Ada Lovelace" not in set(seconds_frame(store, first)["label"]) | set(seconds_frame(store, second)["label"])


def test_a_session_being_recorded_is_not_erased_from(store):
    name, recorder = _class(store, finish=False)
    with pytest.raises(SessionBusyError, match="being recorded right now"):
        forget_student(store, name, 1)
    with store.transaction() as db:
        db.execute(update(SessionRow).where(SessionRow.name == name)
                   .values(started_at=datetime.now(UTC) - timedelta(days=90)))
    assert name not in purge_older_than(store, 30).sessions  # live: kept
    recorder.finish()
    assert name in purge_older_than(store, 30).sessions


def test_purge_deletes_old_sessions_with_every_row(store):
    old, _ = _class(store)
    new, _ = _class(store)
    with store.transaction() as db:
        db.execute(update(SessionRow).where(SessionRow.name == old)
                   .values(started_at=datetime.now(UTC) - timedelta(days=31)))
    assert purge_older_than(store, 0).sessions == []  # 0 keeps forever
    assert old not in purge_older_than(store, 40).sessions
    erased = purge_older_than(store, 30)
    assert old in erased.sessions and new not in erased.sessions
    names = [s.name for s in list_sessions(store)]
    assert old not in names and new in names
    assert all(_count(store, table, old) == 0 for table in ("students", "student_seconds", "alerts", "sessions"))


def test_export_of_one_student_holds_everything_about_them_only(store):
    name, _ = _class(store)
    record = student_record(store, name, 2)
    assert record["student"]["student"] == 2 and record["student"]["present_s"] == 60
    assert len(record["seconds"]) == 60 and {r["student"] for r in record["seconds"]} == {2}
    assert "p_neutral" in record["seconds"][0]  # downloads name probabilities p_<emotion>
    assert [a["kind"] for a in record["alerts"]] == ["absent"]
    json.dumps(record)


def test_retention_setting_is_checked(monkeypatch):
    monkeypatch.delenv("CLASSMOOD_RETENTION_DAYS", raising=False)
    assert retention_days() == 30 and retention_days(0) == 0
    monkeypatch.setenv("CLASSMOOD_RETENTION_DAYS", "7")
    assert retention_days() == 7
    for bad in ("-1", "a week"):
        with pytest.raises(ClassmoodError, match="retention"):
            retention_days(bad)


def test_the_commands_purge_forget_and_export_a_student(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    from classmood.store import Store

    store = Store(db)
    name, _ = _class(store)
    store.close()
    out = tmp_path / "s02.json"
    result = run_cli("sessions", "export", name, "--student", "S02", "--out", str(out), "--db", db)
    assert result.returncode == 0 and json.loads(out.read_text())["student"]["label"] == "S02"
    assert run_cli("sessions", "forget", name, "S02", "--yes", "--db", db).returncode == 0
    again = run_cli("sessions", "forget", name, "S02", "--yes", "--db", db)
    assert again.returncode == 1 and again.stderr.strip().count("\n") == 0 and "no student S02" in again.stderr
    both = run_cli("sessions", "forget", name, "S01", "--name", "x", "--yes", "--db", db)
    assert both.returncode == 1 and "not both" in both.stderr
    purged = run_cli("sessions", "purge", "--older-than", "1", "--yes", "--db", db)
    assert purged.returncode == 0 and "deleted 0 session(s)" in purged.stdout
