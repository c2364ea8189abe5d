"""Temp files of atomic writes after a crash: a run killed with SIGKILL leaves ``.NAME.partial-PID-XXXX``
files; the next write of the same target removes those whose writer is gone, never a live writer's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classmood.output.atomic import partial_path

from fixtures.media import scene, write_video


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name) if folder.exists() else []


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """600 frames (a few seconds of analysis): long enough to be killed while writing."""
    frames = [scene(faces=(("happy", 0, (60 + 8 * k, 100), 150),))[0] for k in range(15)]
    return write_video(tmp_path_factory.mktemp("video") / "class.mp4", frames * 40)


def test_next_run_removes_what_a_killed_run_left(long_video, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "classmood", "analyze", str(long_video), "--out", str(out), "--quiet"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(partials(out)) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    left = partials(out)
    assert len(left) == 3 and all(f".partial-{run.pid}-" in name for name in left), left
    assert not any(p.name.startswith("class.") for p in out.iterdir())  # nothing under a final name
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert partials(out) == []
    assert sorted(p.name for p in out.iterdir()) == ["class.annotated.mp4", "class.faces.csv", "class.faces.parquet"]


def test_a_live_writers_temp_file_is_kept(tmp_path):
    target = tmp_path / "report.html"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_file = tmp_path / f".report.partial-{finished.pid}-0123abcd.html"
        live_file = tmp_path / f".report.partial-{alive.pid}-4567cdef.html"
        other_target = tmp_path / f".other.partial-{finished.pid}-89abcdef.html"
        for path in (dead_file, live_file, other_target):
            path.write_text("half")
        reused = tmp_path / f".report.partial-{alive.pid}-deadbeef.html"  # written before that pid's process began
        reused.write_text("half")
        os.utime(reused, (time.time() - 3600, time.time() - 3600))
        fresh = partial_path(target)
        assert fresh.name.startswith(f".report.partial-{os.getpid()}-") and fresh.suffix == ".html"
        assert partials(tmp_path) == sorted([live_file.name, other_target.name])
    finally:
        alive.kill()
        alive.wait()
