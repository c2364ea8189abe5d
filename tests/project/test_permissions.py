"""Everything classmood writes is private to its user even under the usual 022 umask: the data folder
0700, the SQLite database and its -wal/-shm files 0600, output folders 0700 and files 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from fixtures.media import scene, two_face_video, write_video


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def user(tmp_path):
    """A user whose home is ``tmp_path`` and whose shell umask is 022; runs real ``classmood`` commands."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("CLASSMOOD_DATABASE_URL", None)

    def run(*args) -> subprocess.CompletedProcess:
        command = ["sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-m", "classmood", *map(str, args)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        return done

    return run


def test_database_and_data_folder_are_private(user, tmp_path):
    data = tmp_path / "data" / "classmood"
    data.mkdir(parents=True, mode=0o755)  # made by an older version
    os.chmod(data, 0o755)
    video = two_face_video(tmp_path / "lesson.mp4", n=12)
    user("monitor", video, "--session", "physics", "--no-view", "--no-names")
    database = data / "classmood.db"
    assert mode(data) == 0o700 and mode(database) == 0o600
    old = os.umask(0o022)  # this test process: 022 as well
    try:
        with sqlite3.connect(database) as db:  # SQLite gives -wal and -shm the database file's mode
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE probe (x)")
            assert mode(f"{database}-wal") == 0o600 and mode(f"{database}-shm") == 0o600
    finally:
        os.umask(old)
    user("report", "physics", "--out", tmp_path / "reports" / "physics.html")
    user("sessions", "export", "physics", "--out", tmp_path / "physics.csv")
    assert mode(tmp_path / "reports") == 0o700 and mode(tmp_path / "reports" / "physics.html") == 0o600
    assert mode(tmp_path / "physics.csv") == 0o600


def test_analyze_outputs_are_private(user, tmp_path):
    photo = tmp_path / "photo.png"
    import cv2

    cv2.imwrite(str(photo), scene()[0])
    user("analyze", photo, "--out", tmp_path / "out")
    write_video(tmp_path / "clip.mp4", [scene()[0]] * 3)
    user("analyze", tmp_path / "clip.mp4", "--out", tmp_path / "out", "--quiet")
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["clip.annotated.mp4", "clip.faces.csv", "clip.faces.parquet", "photo.annotated.jpg"]
    assert mode(tmp_path / "out") == 0o700
    assert {name: mode(tmp_path / "out" / name) for name in written} == dict.fromkeys(written, 0o600)
