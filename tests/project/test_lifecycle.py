"""Session lifecycle with the real parts: exact seeking for --resume, truncated videos (real mp4s cut
short) in the source, ``analyze`` and ``monitor``, and the one-line refusals of --resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from classmood.sources import VideoFileSource
from classmood.store import Store
from classmood.store.queries import list_sessions, seconds_frame
from fixtures.cli import run_cli
from fixtures.media import cut_video, two_face_video

pytest.importorskip("av")  # cut_video remuxes with the index first (the app extra brings PyAV)


def noise_video(path: Path, n: int = 60, fps: float = 10.0) -> tuple[Path, list[np.ndarray]]:
    """Frames that all differ, so a frame read after a seek can be told from its neighbours."""
    frames = [np.random.default_rng(k).integers(0, 256, (96, 128, 3), dtype=np.uint8) for k in range(n)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (128, 96))
    for f in frames:
        writer.write(f)
    writer.release()
    with VideoFileSource(path) as source:  # what sequential decoding gives (MJPG is lossy)
        return path, [f.image for f in source]


def one_error_line(result, *needles: str, status_lines: bool = False) -> str:
    """Exit status 1 and one ``error:`` line on stderr (after ``monitor``'s status lines when allowed)."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert result.returncode == 1 and errors == lines[-1:] and (status_lines or len(lines) == 1), result.stderr
    assert "Traceback" not in result.stderr and all(n in errors[0] for n in needles), errors[0]
    return errors[0]


@pytest.mark.parametrize("every", [1, 3])
def test_seek_starts_at_the_exact_frame(tmp_path, every):
    path, frames = noise_video(tmp_path / "noise.avi")
    with VideoFileSource(path, every=every) as source:
        source.seek(2.25)  # frames at 10 fps: the first at or after 2.25 s is frame 23
        expected = [k for k in range(23, 60) if k % every == 0]  # the stride keeps the file's own indices
        assert source.frame_count == len(expected)
        got = list(source)
    assert [f.index for f in got] == expected and [f.timestamp for f in got] == [k / 10 for k in expected]
    assert all(np.array_equal(f.image, frames[f.index]) for f in got)
    assert source.truncation is None


def test_a_cut_video_is_reported_truncated_by_its_source(tmp_path):
    video = two_face_video(tmp_path / "full.mp4", n=60)
    cut = cut_video(video, tmp_path / "cut.mp4")
    with VideoFileSource(cut) as source:
        frames = list(source)
    assert source.truncated and source.truncation.frames_expected == 60
    assert source.truncation.frames_read == len(frames) < 40
    assert "frame" in source.truncation.reason and "truncated" in source.truncation.reason
    with VideoFileSource(video) as whole:
        assert len(list(whole)) == 60 and not whole.truncated
    damaged = bytearray((tmp_path / "cut.whole.mp4").read_bytes())  # a read error mid-file: zeros inside
    damaged[len(damaged) // 2: len(damaged) // 2 + len(damaged) // 5] = bytes(len(damaged) // 5)
    (tmp_path / "damaged.mp4").write_bytes(damaged)
    with VideoFileSource(tmp_path / "damaged.mp4") as source:
        assert len(list(source)) < 60 and source.truncated and source.truncation.frames_expected == 60


def test_analyze_of_a_cut_video_fails_and_does_not_present_its_outputs_as_complete(tmp_path):
    cut = cut_video(two_face_video(tmp_path / "full.mp4", n=60), tmp_path / "lesson.mp4")
    out = tmp_path / "out"
    result = run_cli("analyze", cut, "--json", "--out", out, "--quiet")
    one_error_line(result, "lesson.mp4", "truncated", "lesson.truncated.")
    data = json.loads(result.stdout)
    assert data["truncated"] is True and data["frames_expected"] == 60
    assert data["frames_read"] == data["frames"] < 60
    names = sorted(p.name for p in out.iterdir())
    assert names == ["lesson.truncated.annotated.mp4", "lesson.truncated.faces.csv", "lesson.truncated.faces.parquet"]
    assert [str(out / n) for n in names] == sorted(data["outputs"])

    whole = run_cli("analyze", tmp_path / "lesson.whole.mp4", "--json", "--quiet")
    assert whole.returncode == 0 and json.loads(whole.stdout)["truncated"] is False


def test_monitor_of_a_cut_video_ends_the_session_truncated(tmp_path):
    cut = cut_video(two_face_video(tmp_path / "full.mp4", n=60), tmp_path / "lesson.mp4")
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = run_cli("monitor", cut, "--session", "cut", "--db", db, "--no-view", "--no-names")
    one_error_line(result, "lesson.mp4", "truncated", "'cut'", status_lines=True)
    store = Store(db)
    summary = list_sessions(store)[0]
    assert summary.status == "truncated" and "of 60" in summary.detail
    kept = seconds_frame(store, "cut")
    assert len(kept) > 0  # what could be read is kept
    shown = run_cli("sessions", "show", "cut", "--db", db)
    words = " ".join(shown.stdout.split())  # rich wraps long lines at the terminal width
    assert shown.returncode == 0 and "status truncated" in words and "truncated: " in words
    assert "video ended at frame" in words and "of 60" in words
    again = run_cli("monitor", cut, "--session", "cut", "--db", db, "--no-view", "--no-names", "--resume")
    one_error_line(again, "truncated", status_lines=True)  # still cut: nothing new, still truncated
    assert list_sessions(store)[0].status == "truncated" and seconds_frame(store, "cut").equals(kept)

    cut.write_bytes((tmp_path / "lesson.whole.mp4").read_bytes())  # the whole file copied again
    whole = run_cli("monitor", cut, "--session", "cut", "--db", db, "--no-view", "--no-names", "--resume")
    assert whole.returncode == 0, whole.stderr
    summary, seconds = list_sessions(store)[0], seconds_frame(store, "cut")
    assert (summary.status, summary.duration_s) == ("finished", 6.0)  # 60 frames at 10 fps, each second once
    assert sorted(seconds["second"].unique()) == list(range(6)) and not seconds.duplicated(["student", "second"]).any()
    store.close()


def test_resume_refusals_are_one_line_and_change_nothing(tmp_path):
    video = two_face_video(tmp_path / "a.mp4", n=20)
    other = two_face_video(tmp_path / "b.mp4", n=20)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    base = ["--db", db, "--no-view", "--no-names"]
    one_error_line(run_cli("monitor", video, "--session", "ghost", "--resume", *base),
                   "no session named 'ghost'", "classmood sessions list")
    assert list_sessions(Store(db)) == []
    done = run_cli("monitor", video, "--session", "class", *base, "--max-frames", "10")
    assert done.returncode == 0, done.stderr
    one_error_line(run_cli("monitor", other, "--session", "class", "--resume", *base), str(video.resolve()),
                   "same source")
    # the same file continues where the record ends (frame 10 = 1.0 s), and once the video is covered
    # a further --resume has nothing left to do
    again = run_cli("monitor", video, "--session", "class", "--resume", *base)
    assert again.returncode == 0 and "resuming session 'class' at 1.0 s" in again.stderr, again.stderr
    seconds = seconds_frame(Store(db), "class")
    assert sorted(seconds["second"].unique()) == [0, 1] and not seconds.duplicated(["student", "second"]).any()
    last = run_cli("monitor", video, "--session", "class", "--resume", *base)
    assert last.returncode == 0 and "nothing left" in last.stdout
    summary = list_sessions(Store(db))[0]
    assert (summary.status, summary.duration_s) == ("finished", 2.0)


def test_resume_of_a_session_being_recorded_is_refused_in_one_line(tmp_path):
    """Another real process records the session and keeps its heartbeat fresh until it is stopped."""
    video = two_face_video(tmp_path / "a.mp4", n=10)
    db = f"sqlite:///{tmp_path / 'busy.db'}"
    writer = ("import sys, time\n"
              "from classmood.store import SessionRecorder, Store\n"
              "recorder = SessionRecorder(Store(sys.argv[1]), 'busy', source_file=sys.argv[2])\n"
              "print('recording', flush=True)\n"
              "while True:\n"
              "    recorder.flush()\n"
              "    time.sleep(0.2)\n")
    other = subprocess.Popen([sys.executable, "-c", writer, db, str(video.resolve())], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "recording\n"
        refused = run_cli("monitor", video, "--session", "busy", "--resume", "--db", db, "--no-view", "--no-names")
        one_error_line(refused, "'busy' is being recorded right now", f"process {other.pid}@")
        assert other.poll() is None and list_sessions(Store(db))[0].status == "running"
    finally:
        other.kill()
        other.wait()
    assert list_sessions(Store(db))[0].status == "interrupted"  # its recorder is gone
