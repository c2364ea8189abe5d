"""ID switches per student per hour on a recorded gallery video with known students.

Builds a meeting-style gallery video from real FER-2013 faces (read from the shared dataset
folder, never copied) with name labels, tiles re-ordering every 20 s and students leaving and
returning, then runs the real pipeline (detector + ONNX emotion model) and the tracker on the
decoded video, and matches every detected face to the ground-truth tile by box overlap.

    python benchmarks/monitor_idswitch.py --minutes 3 --students 25
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classmood.monitor import ClassMonitor, MonitorConfig
from classmood.pipeline import Pipeline
from classmood.sources import VideoFileSource
from classmood.track.kalman import iou_matrix
from classmood.track.synthetic import SyntheticGallery, count_id_switches, load_faces, write_gallery_video

FER = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "fer2013" / "publictest"
NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine", "Edsger", "Barbara", "Donald Knuth",
         "Linus", "Margaret", "Dennis", "Ken Thompson", "Hedy Lamarr", "Claude", "John", "Frances", "Tim",
         "Radia", "Niklaus", "Sophie", "Fran", "Leslie", "Shafi", "Yoshua", "Fei-Fei", "Judea", "Geoffrey",
         "Yann", "Andrew", "Daphne", "Cynthia"]


def make_gallery(students: int, minutes: float, seed: int) -> SyntheticGallery:
    rng = np.random.default_rng(seed)
    away = {}
    for s in rng.choice(students, size=max(students // 5, 1), replace=False):  # a fifth step away once
        start = float(rng.uniform(10, minutes * 60 - 40))
        away[int(s)] = [(start, start + float(rng.uniform(15, 40)))]
    names = [NAMES[i % len(NAMES)] for i in range(students)]
    return SyntheticGallery(load_faces(FER, students, seed=seed), names, tile=120, columns=5 if students <= 25 else 8,
                            reorder_every_s=20.0, away=away, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--names", action="store_true", help="also read tile names with Tesseract")
    args = parser.parse_args()

    gallery = make_gallery(args.students, args.minutes, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "gallery.mp4"
        truth = write_gallery_video(video, gallery, args.minutes * 60, args.fps)
        pipeline = Pipeline()
        monitor = ClassMonitor(MonitorConfig(read_names=args.names))
        matched_truth, matched_ids = [], []
        missed = faces = 0
        monitoring_s = 0.0
        started = time.perf_counter()
        with VideoFileSource(video) as source:
            for result in tqdm(pipeline.run(source), total=len(truth), unit="frame"):
                gt = gallery.frame(result.frame.timestamp)
                t0 = time.perf_counter()
                monitor.process(result)
                monitoring_s += time.perf_counter() - t0
                boxes = np.array([f.box for f in result.faces], np.float32).reshape(-1, 4)
                iou = iou_matrix(gt.boxes, boxes)
                students, ids = [], []
                for g, student in enumerate(gt.students):
                    j = int(iou[g].argmax()) if boxes.size else -1
                    if j >= 0 and iou[g, j] >= 0.3:
                        students.append(student)
                        ids.append(result.faces[j].track_id)
                    else:
                        missed += 1
                faces += len(gt.students)
                matched_truth.append(students)
                matched_ids.append(ids)
        elapsed = time.perf_counter() - started
    monitor.finish()
    switches = count_id_switches(matched_truth, matched_ids)
    hours = args.minutes / 60
    named = {sid: name for sid, name in monitor.aggregator.names.items()}
    correct_names = 0
    if named:
        owner = {}
        for ss, ii in zip(matched_truth, matched_ids):
            for s, i in zip(ss, ii):
                owner.setdefault(i, s)
        correct_names = sum(gallery.names[owner[i]] == n for i, n in named.items() if i in owner)
    report = {
        "students": args.students, "minutes": args.minutes, "frames": len(truth), "fps_video": args.fps,
        "face_observations": faces, "missed_by_detector": missed, "ids_created": len(monitor.tracker.students),
        "id_switches": switches, "id_switches_per_student_per_hour": round(switches / args.students / hours, 3),
        "processing_frames_per_s": round(len(truth) / elapsed, 2),
        "monitoring_ms_per_frame": round(1000 * monitoring_s / len(truth), 2),  # tracker+aggregator, no pipeline
        "realtime_factor": round(args.minutes * 60 / elapsed, 2),
        "names_read": len(named), "names_correct": correct_names,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
