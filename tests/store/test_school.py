"""Many teachers, many machines, one database (issue 24): sessions carry their teacher and machine,
two machines that start the same session name at the same moment get one session between them, two
monitors on two machines write side by side, and the school overview lists the classes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from classmood.assets import SAMPLE_VIDEO
from classmood.store import SessionRecorder, Store
from classmood.store.origin import SessionOrigin, session_origin
from classmood.store.queries import list_sessions, school_overview, seconds_frame

from fixtures.store import record_minute

RACERS = 6


def test_sessions_carry_their_teacher_and_machine_and_the_overview_shows_them(store, monkeypatch):
    monkeypatch.setenv("CLASSMOOD_TEACHER", "Ms Rivera")
    monkeypatch.setenv("CLASSMOOD_MACHINE", "room-12")
    assert session_origin() == SessionOrigin("Ms Rivera", "room-12")
    assert session_origin("Mr  Okafor") == SessionOrigin("Mr Okafor", "room-12")
    done, live = f"done-{uuid.uuid4().hex[:8]}", f"live-{uuid.uuid4().hex[:8]}"
    finished = SessionRecorder(store, done, flush_every_s=0.0, origin=session_origin("Mr Okafor"))
    record_minute(finished, (1, 2))
    finished.finish()
    running = SessionRecorder(store, live, flush_every_s=0.0)
    record_minute(running, (1, 2, 3), seconds=90)
    running.flush()

    summaries = {s.name: s for s in list_sessions(store)}
    assert (summaries[done].teacher, summaries[done].machine) == ("Mr Okafor", "room-12")
    assert (summaries[live].teacher, summaries[live].machine, summaries[live].status) == ("Ms Rivera", "room-12",
                                                                                           "running")
    overview = {c.summary.name: c for c in school_overview(store)}
    assert overview[live].running and overview[live].students_last_minute == 3
    assert abs(overview[live].engagement_last_minute - 0.8) < 1e-6  # fixtures.store.second: engagement 0.8
    assert not overview[done].running and overview[done].students_last_minute == 2
    listed = subprocess.run([sys.executable, "-m", "classmood", "sessions", "list", "--db", store.url],
                            env={**os.environ, "COLUMNS": "250"}, capture_output=True, text=True, timeout=120)
    row = next(line for line in listed.stdout.splitlines() if live in line)
    assert listed.returncode == 0 and "Ms Rivera" in row and "room-12" in row
    running.finish()


RACE = """
import sys, time
from classmood.errors import ClassmoodError
from classmood.store import SessionRecorder, Store
from classmood.store.origin import SessionOrigin
store = Store(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
try:
    SessionRecorder(store, sys.argv[2], origin=SessionOrigin("teacher " + sys.argv[4], "machine " + sys.argv[4]))
    print("created")
except ClassmoodError as exc:
    print(exc)
"""


def test_machines_starting_one_session_name_at_once_get_exactly_one_session(store):
    name = f"physics 3B {uuid.uuid4().hex[:6]}"
    start = time.time() + 4.0  # every process imported and connected by then
    racers = [subprocess.Popen([sys.executable, "-c", RACE, store.url, name, str(start), str(i)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(RACERS)]
    said = [racer.communicate(timeout=120) for racer in racers]
    outcomes = [out.strip() for out, _ in said]
    assert all(err == "" for _, err in said), said  # no traceback anywhere
    assert outcomes.count("created") == 1, outcomes
    assert all("already exists" in o for o in outcomes if o != "created"), outcomes
    assert [s.name for s in list_sessions(store)].count(name) == 1


def test_two_monitors_on_two_machines_write_one_database_side_by_side(store, tmp_path):
    names = [f"class {machine} {uuid.uuid4().hex[:6]}" for machine in ("room-1", "room-2")]
    monitors = [subprocess.Popen(
        [sys.executable, "-m", "classmood", "monitor", str(SAMPLE_VIDEO), "--session", name, "--db", store.url,
         "--teacher", f"teacher {i}", "--max-frames", "60", "--no-names", "--no-view", "--keep-days", "0"],
        env={**os.environ, "CLASSMOOD_MACHINE": f"room-{i + 1}"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for i, name in enumerate(names)]
    for monitor in monitors:
        _, err = monitor.communicate(timeout=300)
        assert monitor.returncode == 0, err
    summaries = {s.name: s for s in list_sessions(store)}
    for i, name in enumerate(names):
        s = summaries[name]
        assert (s.status, s.teacher, s.machine, s.students) == ("finished", f"teacher {i}", f"room-{i + 1}", 9)
        assert len(seconds_frame(store, name)) >= 9 * 2  # 60 frames: two whole seconds of every student


def test_an_older_database_gets_the_teacher_and_machine_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the sessions table as the first release made it
        db.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, name VARCHAR(200) UNIQUE, source VARCHAR(1000), "
                   "started_at DATETIME, ended_at DATETIME, status VARCHAR(20), duration_s FLOAT, settings JSON)")
        db.execute("INSERT INTO sessions (name, source, started_at, status, duration_s, settings) "
                   "VALUES ('old', '', '2026-01-01 10:00:00', 'finished', 60, '{}')")
    store = Store(f"sqlite:///{path}")
    try:
        old = next(s for s in list_sessions(store) if s.name == "old")
        assert (old.teacher, old.machine) == ("", "")
    finally:
        store.close()
