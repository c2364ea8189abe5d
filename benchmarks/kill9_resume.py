"""kill -9 of ``classmood monitor FILE`` at several points, then ``--resume``: seconds lost and duplicates.

For each kill point a fresh monitor analyses a rendered meeting window (``classmood.assets.meeting``,
a 960x540 Jitsi window of real FER-2013 faces; the real detector and classifier) and is frozen with SIGSTOP at a point between two flushes, then
killed with SIGKILL. How far it had got is bracketed from two sides: the last ``frame N`` its live
terminal view drew (a lower bound) and the read offset of its video file descriptor mapped to
the last whole frame in the file (an upper bound: decoding never runs ahead of reading). Lost
seconds = that position minus the recorded duration. The session is then resumed to the end and
checked: every second of the video once, no duplicate (student, second) row.

    python benchmarks/kill9_resume.py --points 6 --seconds 40 --fps 15
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from classmood.assets.meeting import class_of, scripted_meeting
from classmood.assets.portraits import load_face_images, portraits_from_faces

# A synthetic class of FER-2013 faces, no real students: the monitor it starts runs as confirmed
# (classmood consent) by the benchmark itself.
os.environ.setdefault("CLASSMOOD_CONFIRMED_BY", "classmood benchmark on a synthetic class")

FER = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "fer2013" / "publictest"
CLI = [sys.executable, "-m", "classmood"]


def packet_ends(video: Path) -> list[int]:
    """Byte offset where each frame's data ends, in frame order."""
    import av

    with av.open(str(video)) as container:
        ends = sorted((p.pts, p.pos + p.size) for p in container.demux(video=0) if p.pts is not None)
    return [end for _, end in ends]


def read_offset(pid: int, video: Path) -> int | None:
    """Where the process's open descriptor of ``video`` stands (Linux /proc)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == video:
                return int(re.search(r"pos:\s*(\d+)", Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()).group(1))
        except OSError:
            continue
    return None


def duration(db: Path) -> float:
    try:
        with sqlite3.connect(db, timeout=1) as con:
            row = con.execute("SELECT duration_s FROM sessions WHERE name = 'k'").fetchone()
    except sqlite3.OperationalError:
        return 0.0
    return float(row[0]) if row else 0.0


def one_kill(video: Path, fps: float, length: float, kill_after_s: float, pause_s: float, work: Path) -> dict:
    db = work / f"kill-{kill_after_s:g}.db"
    args = [*CLI, "monitor", str(video), "--session", "k", "--db", f"sqlite:///{db}", "--no-names"]
    view = work / "view.txt"
    env = {**os.environ, "TTY_COMPATIBLE": "1", "PYTHONUNBUFFERED": "1"}
    with view.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    while duration(db) < kill_after_s and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(pause_s)
    os.kill(proc.pid, signal.SIGSTOP)  # frozen wherever it was: the state a kill -9 leaves
    offset = read_offset(proc.pid, video.resolve())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ends = packet_ends(video)
    upper = (sum(1 for end in ends if end <= offset) / fps) if offset is not None else float("nan")
    shown = re.findall(rb"frame (\d+)/\d+", view.read_bytes())
    lower = int(shown[-1]) / fps if shown else 0.0
    stored = duration(db)
    with sqlite3.connect(db) as con:
        intact = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    resumed = subprocess.run([*args, "--resume", "--no-view"], capture_output=True, text=True)
    with sqlite3.connect(db) as con:
        seconds = con.execute("SELECT second FROM student_seconds").fetchall()
        duplicates = con.execute("SELECT count(*) FROM (SELECT student_id, second FROM student_seconds "
                                 "GROUP BY student_id, second HAVING count(*) > 1)").fetchone()[0]
        final, status = con.execute("SELECT duration_s, status FROM sessions WHERE name = 'k'").fetchone()
    covered = sorted({s for (s,) in seconds})
    return {"kill_after_s": kill_after_s, "reached_low_s": round(lower, 2), "reached_high_s": round(upper, 2),
            "recorded_s": stored, "lost_low_s": round(lower - stored, 2), "lost_high_s": round(upper - stored, 2),
            "db_intact": intact, "resume_exit": resumed.returncode, "final_duration_s": final, "status": status,
            "seconds_covered": len(covered), "missing_seconds": sorted(set(range(int(length))) - set(covered)),
            "duplicate_rows": duplicates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=6, help="kill points spread over the video")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    names = [f"Student {i}" for i in range(9)]
    faces = portraits_from_faces(load_face_images(FER, len(names), seed=args.seed))
    gallery = scripted_meeting(class_of(len(names), args.seed, faces, names, varied=False), 15.0,
                               seconds=args.seconds, seed=args.seed, app="jitsi", size=(960, 540))
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = work / "class.mp4"
        gallery.write(video, seconds=args.seconds, fps=args.fps)
        for k in np.linspace(2, args.seconds * 0.6, args.points):
            rows.append(one_kill(video, args.fps, args.seconds, float(round(k)), float(rng.uniform(0, 0.3)), work))
            print(json.dumps(rows[-1]), flush=True)
    lost = [r["lost_high_s"] for r in rows]
    print(json.dumps({"kills": len(rows), "lost_high_max_s": max(lost), "lost_high_mean_s": round(float(np.mean(lost)), 2),
                      "lost_low_max_s": max(r["lost_low_s"] for r in rows),
                      "all_intact": all(r["db_intact"] for r in rows),
                      "all_resumed_once": all(not r["missing_seconds"] and not r["duplicate_rows"]
                                              and r["final_duration_s"] == args.seconds for r in rows)}))


if __name__ == "__main__":
    main()
