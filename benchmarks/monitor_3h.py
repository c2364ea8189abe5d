"""A 3-hour synthetic class (25 students) through tracking, aggregation and SQLite storage:
memory must stay flat and the monitoring stages must keep up with real time.

Frames are rendered gallery views of real FER-2013 faces (tiles re-ordering, students leaving
and returning); the emotion probabilities are a random walk per student, standing in for the
classifier so the run measures the monitoring part (tracker, aggregator, recorder) over a long
session. Resident memory is sampled every simulated 10 minutes.

    python benchmarks/monitor_3h.py --hours 3 --fps 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

from classmood.emotions import EMOTIONS
from classmood.class_session import ClassSession, ClassSettings
from classmood.store import Store
from classmood.assets.meeting import class_of, scripted_meeting
from classmood.assets.portraits import load_face_images, portraits_from_faces
from classmood.types import Detections, Frame, FrameResult

FER = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "fer2013" / "publictest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    seconds = args.hours * 3600
    away = {int(s): [(float(a), float(a) + float(rng.uniform(30, 600)))
                     for a in rng.uniform(0, seconds, size=3)] for s in range(args.students)}
    people = class_of(args.students, args.seed, portraits_from_faces(load_face_images(FER, args.students, args.seed)),
                      varied=False)
    gallery = scripted_meeting(people, 300.0, away, seconds, args.seed, size=(960, 540), page=args.students)
    row = {p.student_id: i for i, p in enumerate(people)}
    logits = rng.normal(0, 1, (args.students, len(EMOTIONS)))
    process = psutil.Process()
    samples: list[tuple[float, float]] = []
    frames = int(seconds * args.fps)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = Store(f"sqlite:///{db}")
        monitor = ClassSession.open(store, "3h", settings=ClassSettings(read_names=False), source="synthetic")
        started = time.perf_counter()
        next_sample = 0.0
        monitoring_s = 0.0  # in ClassSession.process only (the rest is rendering the synthetic frames)
        for k in tqdm(range(frames), unit="frame", mininterval=5):
            t = k / args.fps
            shown = gallery.frame(t)
            logits += rng.normal(0, 0.15, logits.shape)
            shown_logits = logits[[row[s] for s in shown.students]].reshape(-1, len(EMOTIONS))
            p = np.exp(shown_logits - shown_logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            faces = Detections(shown.boxes, np.full(len(shown.boxes), 0.9, np.float32), probabilities=p.astype(np.float32))
            t0 = time.perf_counter()
            monitor.process(FrameResult(Frame(shown.image, k, t), faces))
            monitoring_s += time.perf_counter() - t0
            if t >= next_sample:
                samples.append((t / 60, process.memory_info().rss / 2**20))
                next_sample += 600
        monitor.finish()
        elapsed = time.perf_counter() - started
        samples.append((seconds / 60, process.memory_info().rss / 2**20))
        size_mb = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*")) / 2**20
        store.close()
    settled = [m for minute, m in samples if minute >= 20]  # after caches, pools and the first batches
    minutes = np.array([minute for minute, _ in samples if minute >= 20])
    slope = float(np.polyfit(minutes / 60, settled, 1)[0]) if len(settled) > 2 else float("nan")
    print(json.dumps({
        "hours": args.hours, "students": args.students, "frames": frames, "fps_simulated": args.fps,
        "wall_s": round(elapsed, 1), "monitoring_ms_per_frame": round(1000 * monitoring_s / frames, 2),
        "realtime_factor": round(seconds / elapsed, 1), "database_mb": round(size_mb, 1),
        "rss_mb_at_20min": round(settled[0], 1) if settled else None, "rss_mb_end": round(samples[-1][1], 1),
        "rss_mb_max": round(max(m for _, m in samples), 1), "rss_slope_mb_per_hour_after_20min": round(slope, 2),
        "rss_samples_mb": [round(m, 1) for _, m in samples],
    }, indent=2))


if __name__ == "__main__":
    main()
