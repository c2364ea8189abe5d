"""Monitoring end to end: real pipeline on a gallery video of real FER-2013 faces, real SQLite,
a real ``classmood monitor`` process killed with SIGKILL and resumed."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from classmood.class_session import ClassSession, ClassSettings
from classmood.store import SessionBusyError, Store
from classmood.store.queries import alerts_frame, list_sessions, seconds_frame, students_frame
from classmood.geometry import iou_matrix
from classmood.track.names import NameReader, default_engine
from classmood.assets.meeting import Meeting, class_of, scripted_meeting
from classmood.assets.portraits import load_face_images, portraits_from_faces
from classmood.assets.truth import count_id_switches
from fixtures.paths import FER
from fixtures.store import let_heartbeat_go_stale

FACES = FER / "publictest"
pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason=f"FER-2013 faces not found at {FACES}")
NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger", "Barbara", "Linus", "Radia", "Niklaus", "Sophie"]
CLI = [sys.executable, "-m", "classmood"]


def gallery(seed: int = 3, away=None, reorder: float = 12.0) -> Meeting:
    """A Jitsi window (960x540) of the 9 faces named NAMES (S01 is NAMES[0]...), re-ordered every
    ``reorder`` s; ``away`` = {student index: [(leaves, rejoins)]}."""
    faces = portraits_from_faces(load_face_images(FACES, len(NAMES), seed=seed))
    people = class_of(len(NAMES), seed, faces, NAMES, varied=False)
    return scripted_meeting(people, reorder, away, 120, seed, app="jitsi", size=(960, 540))


def name_of(student: str) -> str:
    return NAMES[int(student[1:]) - 1]


@pytest.fixture(scope="module")
def class_video(tmp_path_factory):
    g = gallery(away={4: [(8.0, 20.0)]})
    path = tmp_path_factory.mktemp("video") / "class.mp4"
    g.write(path, seconds=30, fps=5)
    return g, path


def test_monitor_tracks_stores_and_alerts(class_video, tmp_path):
    from classmood.pipeline import Pipeline
    from classmood.sources import VideoFileSource

    g, video = class_video
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    class_session = ClassSession.open(store, "lesson", Pipeline(), ClassSettings(absent_after_s=5.0),
                                      source=str(video), ocr_every_s=0.0)
    truth, predicted, snapshots = [], [], []
    with VideoFileSource(video) as source:
        for snapshot in class_session.run(source):
            snapshots.append(snapshot)
            gt = g.frame(snapshot.frame.timestamp)
            boxes = snapshot.detections.boxes
            iou = iou_matrix(gt.boxes, boxes)
            pairs = [(s, int(snapshot.detections.student_ids[iou[i].argmax()])) for i, s in enumerate(gt.students)
                     if boxes.size and iou[i].max() >= 0.3]
            truth.append([s for s, _ in pairs])
            predicted.append([t for _, t in pairs])
    assert sum(map(len, truth)) >= 0.9 * sum(len(g.frame(k / 5).students) for k in range(150))
    assert count_id_switches(truth, predicted) == 0
    last = snapshots[-1]
    assert last.mood.present >= 8 and all(c.present == (c.emotion is not None) for c in last.students)
    assert all(0 <= c.confidence <= 1 for c in last.students)
    as_json = json.loads(json.dumps(last.to_dict()))  # what a web dashboard receives
    assert len(as_json["students"]) == len(last.students) and as_json["mood"]["present"] == last.mood.present

    seconds = seconds_frame(store, "lesson")
    assert seconds["second"].min() == 0 and seconds["second"].max() == 29
    away_id = next(t for ss, ts in zip(truth, predicted) for s, t in zip(ss, ts) if s == "S05")
    gap = seconds[(seconds.student == away_id) & seconds.second.between(10, 18)]
    assert gap.empty  # nothing stored for a student while away
    alerts = alerts_frame(store, "lesson")
    absent = alerts[(alerts.kind == "absent") & (alerts.student == away_id)]
    assert len(absent) == 1 and 7 <= absent.iloc[0].started_s <= 9 and 19 <= absent.iloc[0].ended_s <= 21
    summary = list_sessions(store)[0]
    assert summary.status == "finished" and summary.duration_s == 30
    if default_engine() is not None:  # names read under the tiles are stored, and right
        owner = {t: s for ss, ts in zip(truth, predicted) for s, t in zip(ss, ts)}
        named = students_frame(store, "lesson").query("name_source == 'ocr'")
        assert len(named) >= 2  # how many depends on CPU time left for the OCR thread
        assert all(label == name_of(owner[student]) for student, label in zip(named["student"], named["label"]))
    with store.transaction() as db:  # appearance signatures do not outlive a finished session
        assert db.execute(text("SELECT count(*) FROM students WHERE signature IS NOT NULL")).scalar() == 0


@pytest.mark.skipif(default_engine() is None, reason="no OCR installed (pip install -e '.[ocr]')")
def test_names_under_gallery_tiles_are_read():
    frame = gallery(seed=5).frame(0.0)
    reader = NameReader()
    read = {name_of(s): reader.read(frame.image, tuple(b)) for s, b in zip(frame.students, frame.boxes)}
    correct = [n for n, text in read.items() if text == n]
    wrong = [text for n, text in read.items() if text not in (None, n)]
    assert len(correct) >= 6, read
    assert len(wrong) <= 1, read


def _duration(db_path: Path, name: str) -> float:
    if not db_path.exists():
        return 0.0
    try:
        with sqlite3.connect(db_path, timeout=1) as con:
            row = con.execute("SELECT duration_s FROM sessions WHERE name = ?", (name,)).fetchone()
    except sqlite3.OperationalError:
        return 0.0
    return float(row[0]) if row else 0.0


def frames_shown(view_output: bytes) -> int:
    """The last ``frame N/M`` the live terminal view drew: a lower bound of how far the monitor got."""
    shown = re.findall(rb"frame (\d+)/\d+", view_output)
    return int(shown[-1]) if shown else 0


def test_kill_9_loses_at_most_2_s_and_resume_covers_the_video_once(tmp_path):
    fps, length = 15, 40
    g = gallery(seed=7, reorder=15.0)
    video = tmp_path / "long.mp4"
    g.write(video, seconds=length, fps=fps)
    db_path = tmp_path / "k.db"
    args = [*CLI, "monitor", str(video), "--session", "killed", "--db", f"sqlite:///{db_path}", "--no-names"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TTY_COMPATIBLE": "1"}  # the live view, to see the frame reached
    view = tmp_path / "view.txt"
    with view.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while _duration(db_path, "killed") < 15 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        with pytest.raises(SessionBusyError, match="is being recorded right now"):  # it is live: no take-over
            ClassSession.check(Store(f"sqlite:///{db_path}"), "killed", resume=True,
                                  source_file=str(video.resolve()))
        time.sleep(0.3)  # somewhere between two flushes
        assert proc.poll() is None, view.read_text(errors="replace")[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    reached = frames_shown(view.read_bytes()) / fps  # video seconds the monitor had analysed, at least

    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(f"sqlite:///{db_path}")
    stored = _duration(db_path, "killed")
    assert 15 <= stored < length and reached - stored <= 2.0, (reached, stored)
    seconds = seconds_frame(store, "killed")
    assert sorted(seconds["second"].unique()) == list(range(int(stored)))  # no hole up to the kill
    per_second = seconds.groupby("second").size()
    # every second up to the kill holds what an uninterrupted run records for it (YuNet misses some of
    # these 48-px faces, so that count varies from second to second, but a file is processed deterministically)
    reference_db = tmp_path / "reference.db"
    reference = subprocess.run([*CLI, "monitor", str(video), "--session", "reference", "--db",
                                f"sqlite:///{reference_db}", "--no-view", "--no-names"], env=env, capture_output=True,
                               text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    reference_store = Store(f"sqlite:///{reference_db}")
    reference_seconds = seconds_frame(reference_store, "reference")
    reference_students = len(students_frame(reference_store, "reference"))
    reference_store.close()
    up_to_kill = reference_seconds[reference_seconds.second < stored]
    assert per_second.tolist() == up_to_kill.groupby("second").size().tolist()
    assert per_second.min() >= 5  # the class was recorded, not just a row here and there
    summary = list_sessions(store)[0]
    assert summary.status == "interrupted" and "--resume" in summary.detail  # its monitor is gone
    listed = subprocess.run([*CLI, "sessions", "list", "--db", f"sqlite:///{db_path}"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert listed.returncode == 0 and "interrupted" in listed.stdout and "running" not in listed.stdout
    report = subprocess.run([*CLI, "report", "killed", "--db", f"sqlite:///{db_path}", "--out", tmp_path / "r.html"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0 and "status interrupted" in (tmp_path / "r.html").read_text(), report.stderr

    again = subprocess.run([*args, "--no-view"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    resumed = subprocess.run([*args, "--resume", "--no-view"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming session 'killed' at {stored:.1f} s" in resumed.stderr  # where the record was complete
    seconds = seconds_frame(store, "killed")
    assert sorted(seconds["second"].unique()) == list(range(length))  # the video once: no gap, no repeat
    assert not seconds.duplicated(["student", "second"]).any()
    # the students were recognised after the restart: as many as the uninterrupted run found (one first
    # seen after the kill is new in both), not a second id for someone seen before it
    assert len(students_frame(store, "killed")) == reference_students
    summary = list_sessions(store)[0]
    assert summary.status == "finished" and summary.duration_s == length
    store.close()


def test_monitor_cli_bad_database_is_one_line(tmp_path):
    video = tmp_path / "v.mp4"
    gallery().write(video, seconds=1, fps=5)
    out = subprocess.run([*CLI, "monitor", str(video), "--session", "x", "--no-view",
                          "--db", "postgresql+psycopg://nobody:pw@127.0.0.1:1/nothing"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.startswith("error: cannot reach database")
    assert "pw@" not in out.stderr and "Traceback" not in out.stderr


def test_monitor_cli_locked_database_keeps_nothing_half_done(tmp_path):
    video = tmp_path / "v.mp4"
    gallery().write(video, seconds=1, fps=5)
    db_path = tmp_path / "locked.db"
    Store(f"sqlite:///{db_path}").close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program is writing and does not let go
    try:
        out = subprocess.run([*CLI, "monitor", str(video), "--session", "x", "--no-view", "--db", f"sqlite:///{db_path}"],
                             capture_output=True, text=True, timeout=120)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert out.returncode == 1 and "is locked by another program" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert list_sessions(Store(f"sqlite:///{db_path}")) == []


def test_teacher_names_are_kept_and_come_back_after_resume(tmp_path):
    from classmood.emotions import EMOTIONS
    from classmood.types import Detections, Frame, FrameResult

    store = Store(f"sqlite:///{tmp_path / 'n.db'}")
    frame = gallery().frame(0.0)
    n = len(frame.boxes)
    faces = Detections(frame.boxes, np.full(n, 0.9, np.float32),
                       probabilities=np.full((n, len(EMOTIONS)), 1 / 7, np.float32))
    monitor = ClassSession.open(store, "named", ocr_every_s=0.0)
    first = monitor.process(FrameResult(Frame(frame.image, 0, 0.0), faces))
    student = first.students[0].student_id
    monitor.rename(student, "Teacher's pick")
    for k in range(1, 40):  # OCR runs meanwhile; it must not replace the teacher's name
        snapshot = monitor.process(FrameResult(Frame(frame.image, k, k * 0.2), faces))
        time.sleep(0.02)
    assert snapshot.name_of(student) == "Teacher's pick"
    monitor.recorder.flush()  # then the process dies
    let_heartbeat_go_stale(store, "named")
    again = ClassSession.open(store, "named", settings=ClassSettings(read_names=False), resume=True)
    after = again.process(FrameResult(Frame(frame.image, 0, 0.0), faces))
    assert after.name_of(student) == "Teacher's pick"
    assert {c.student_id for c in after.students} == {c.student_id for c in first.students}  # recognised again
