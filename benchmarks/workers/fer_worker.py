"""Runs the ``fer`` package (TensorFlow mini-Xception + OpenCV Haar cascade) on a benchmark job.

Runs inside the fer virtual environment: ``python fer_worker.py JOB.json RESULT.json``.
``fer`` is used as its README shows (``FER().detect_emotions(bgr_image)``) with an explicit
Haar cascade file (``job["cascade"]`` or the one OpenCV 4.x ships).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from protocol import EMOTIONS, main, run_e2e

_JOB: dict = {}


def cascade_path(job: dict) -> str:
    """The Haar cascade file to give fer: the job's, else OpenCV 4.x's own copy."""
    import cv2

    path = job.get("cascade") or os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
    if not os.path.isfile(path):
        raise SystemExit(f"Haar cascade file not found: {path}")
    return path


def load():
    from fer.fer import FER

    return FER(cascade_file=cascade_path(_JOB))


def to_probabilities(emotions: dict[str, float]) -> list[float]:
    """fer's per-face dict -> probabilities in classmood's ``EMOTIONS`` order."""
    return [float(emotions[name]) for name in EMOTIONS]


#: fer widens every face box by 10 px on each side (its default ``offsets``) before classifying.
FER_OFFSET = 10


def crop_rectangle(width: int, height: int, offset: int = FER_OFFSET) -> tuple[int, int, int, int]:
    """The face box that, once fer adds its offsets, makes its classifier see exactly the crop.

    Passing the whole crop ``(0, 0, 48, 48)`` instead would make fer add 10 px of flat padding
    around the face (measured here: 50% instead of 65% accuracy), which is not how it sees a
    face in a photo.
    """
    return (offset, offset, width - 2 * offset, height - 2 * offset)


def classify(detector, job: dict) -> dict:
    """Each 48x48 crop given to fer as one image; its classifier input is exactly that crop."""
    import cv2

    images = np.load(job["crops"])["images"]
    probabilities, start = [], time.perf_counter()
    for crop in images:
        bgr = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
        faces = detector.detect_emotions(bgr, face_rectangles=[crop_rectangle(crop.shape[1], crop.shape[0])])
        probabilities.append(to_probabilities(faces[0]["emotions"]) if faces else [float("nan")] * 7)
    return {"probabilities": probabilities, "seconds": time.perf_counter() - start}


def read_frame(path: str):
    import cv2

    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise SystemExit(f"cannot read frame: {path}")
    return frame


def boxes_of(faces) -> list[list[int]]:
    return [[int(v) for v in f["box"]] for f in faces]


def detect(detector, job: dict) -> dict:
    found, start = [], time.perf_counter()
    for path in job["images"]:
        found.append([[int(v) for v in b] for b in detector.find_faces(read_frame(path))])
    return {"boxes": found, "seconds": time.perf_counter() - start}


def e2e(detector, job: dict) -> dict:
    def process(frame):
        return boxes_of(detector.detect_emotions(frame)), None

    def stages(frame):
        t0 = time.perf_counter()
        rects = detector.find_faces(frame)
        t1 = time.perf_counter()
        if len(rects):
            detector.detect_emotions(frame, face_rectangles=rects)
        t2 = time.perf_counter()
        return {"detect": t1 - t0, "classify": t2 - t1}

    return run_e2e(job, read_frame, process, stages)


if __name__ == "__main__":
    from protocol import read_job

    _JOB.update(read_job()[0])
    main({"classify": classify, "detect": detect, "e2e": e2e}, load,
         ("fer", "tensorflow-cpu", "tensorflow", "keras", "opencv-python-headless", "numpy"))
