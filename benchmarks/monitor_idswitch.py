"""ID switches per student per hour on a recorded gallery video with known students.

Either renders a meeting window (``classmood.assets.meeting``, 1280x720, ``--app``/``--theme``) of real
FER-2013 faces (read from the shared dataset folder, never copied) with name labels, tiles
re-ordering every 20 s and students leaving and rejoining, or reads the bundled, licensed sample class (``--sample``: 9 real people, 14 s, a camera
switched off, a student leaving and rejoining as the last tile, one away, the speaker moved to the
first tile; its per-frame truth ships beside it). Runs the real pipeline (detector + ONNX emotion
model) and the tracker on the decoded video and matches every detected face to the ground-truth
tile by box overlap.

    python benchmarks/monitor_idswitch.py --minutes 3 --students 25 --names
    python benchmarks/monitor_idswitch.py --sample
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classmood.assets import SAMPLE_TRUTH, SAMPLE_VIDEO
from classmood.class_session import ClassSession, ClassSettings
from classmood.pipeline import Pipeline
from classmood.sources import VideoFileSource
from classmood.geometry import iou_matrix
from classmood.assets.meeting import Meeting, class_of, scripted_meeting
from classmood.assets.portraits import load_face_images, portraits_from_faces
from classmood.assets.truth import count_id_switches

FER = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "fer2013" / "publictest"
NAMES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Katherine", "Edsger", "Barbara", "Donald Knuth",
         "Linus", "Margaret", "Dennis", "Ken Thompson", "Hedy Lamarr", "Claude", "John", "Frances", "Tim",
         "Radia", "Niklaus", "Sophie", "Fran", "Leslie", "Shafi", "Yoshua", "Fei-Fei", "Judea", "Geoffrey",
         "Yann", "Andrew", "Daphne", "Cynthia"]


def make_gallery(students: int, minutes: float, seed: int, app: str = "zoom", theme: str = "dark") -> Meeting:
    rng = np.random.default_rng(seed)
    away = {}
    for s in rng.choice(students, size=max(students // 5, 1), replace=False):  # a fifth step away once
        start = float(rng.uniform(10, minutes * 60 - 40))
        away[int(s)] = [(start, start + float(rng.uniform(15, 40)))]
    names = [NAMES[i % len(NAMES)] for i in range(students)]
    people = class_of(students, seed, portraits_from_faces(load_face_images(FER, students, seed=seed)), names,
                      varied=False)
    return scripted_meeting(people, 20.0, away, minutes * 60, seed, app=app, theme=theme, size=(1280, 720),
                            page=students)


@dataclass(frozen=True)
class Recording:
    """A class video and, for any timestamp, who is where: ``truth(t) -> (student keys, (N, 4) xywh)``."""

    video: Path
    frames: int
    seconds: float
    students: int
    truth: Callable[[float], tuple[list, np.ndarray]]
    names: dict | None = None  # student key -> the name written under the tile


@contextlib.contextmanager
def gallery_recording(students: int, minutes: float, fps: float, seed: int, app: str = "zoom",
                      theme: str = "dark") -> Iterator[Recording]:
    gallery = make_gallery(students, minutes, seed, app, theme)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "gallery.mp4"
        truth = gallery.write(video, minutes * 60, fps)["frames"]

        def who(t: float) -> tuple[list, np.ndarray]:
            frame = gallery.frame(t)
            return list(frame.students), frame.boxes

        yield Recording(video, len(truth), minutes * 60, students, who, {p.student_id: p.label for p in gallery.participants})


@contextlib.contextmanager
def sample_recording() -> Iterator[Recording]:
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    frames, fps = truth["frames"], truth["fps"]

    def who(t: float) -> tuple[list, np.ndarray]:
        faces = frames[min(round(t * fps), len(frames) - 1)]
        return [f[0] for f in faces], np.array([f[1:] for f in faces], np.float32).reshape(-1, 4)

    yield Recording(SAMPLE_VIDEO, len(frames), len(frames) / fps, len(truth["students"]), who)


def measure(recording: Recording, read_names: bool) -> dict:
    """Run pipeline + monitor over the recording; id switches, misses, speed and names read."""
    pipeline = Pipeline()
    monitor = ClassSession(settings=ClassSettings(read_names=read_names))
    matched_truth, matched_ids = [], []
    missed = faces = 0
    monitoring_s = 0.0
    started = time.perf_counter()
    with VideoFileSource(recording.video) as source:
        for result in tqdm(pipeline.run(source), total=recording.frames, unit="frame"):
            keys, truth_boxes = recording.truth(result.frame.timestamp)
            t0 = time.perf_counter()
            monitor.process(result)
            monitoring_s += time.perf_counter() - t0
            boxes = result.detections.boxes
            iou = iou_matrix(truth_boxes, boxes)
            students, ids = [], []
            for g, student in enumerate(keys):
                j = int(iou[g].argmax()) if boxes.size else -1
                if j >= 0 and iou[g, j] >= 0.3:
                    students.append(student)
                    ids.append(int(result.detections.student_ids[j]))
                else:
                    missed += 1
            faces += len(keys)
            matched_truth.append(students)
            matched_ids.append(ids)
    elapsed = time.perf_counter() - started
    monitor.finish()
    switches = count_id_switches(matched_truth, matched_ids)
    hours = recording.seconds / 3600
    named = dict(monitor.aggregator.names.items())
    correct_names = None
    if recording.names is not None:
        owner = {}
        for ss, ii in zip(matched_truth, matched_ids):
            for s, i in zip(ss, ii):
                owner.setdefault(i, s)
        correct_names = sum(recording.names[owner[i]] == n for i, n in named.items() if i in owner)
    return {
        "students": recording.students, "seconds": round(recording.seconds, 1), "frames": recording.frames,
        "face_observations": faces, "missed_by_detector": missed, "ids_created": len(monitor.tracker.students),
        "id_switches": switches, "id_switches_per_student_per_hour": round(switches / recording.students / hours, 3),
        "processing_frames_per_s": round(recording.frames / elapsed, 2),
        "monitoring_ms_per_frame": round(1000 * monitoring_s / recording.frames, 2),  # tracker+aggregator only
        "realtime_factor": round(recording.seconds / elapsed, 2),
        "names_read": len(named), "names_correct": correct_names,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", action="store_true", help="the bundled sample class instead of a built gallery")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--app", default="zoom", help="the meeting app whose window is rendered")
    parser.add_argument("--theme", default="dark")
    parser.add_argument("--names", action="store_true", help="also read tile names with OCR")
    args = parser.parse_args()
    recording = (sample_recording() if args.sample
                 else gallery_recording(args.students, args.minutes, args.fps, args.seed, args.app, args.theme))
    with recording as rec:
        report = measure(rec, args.names)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
