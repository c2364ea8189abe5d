"""Runs classmood (YuNet face detector + emotion model, both on ONNX Runtime) on a benchmark job.

Runs in classmood's own environment: ``python classmood_worker.py JOB.json RESULT.json``.
``job["model"]`` names the bundled emotion model (``realtime`` by default).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from protocol import main, read_job, run_e2e

_JOB: dict = {}
BATCH = 256


def load():
    """The face detector alone for ``detect`` jobs, else the whole pipeline with its model."""
    if _JOB.get("task") == "detect":
        from classmood.detect import YuNetDetector

        return YuNetDetector()
    from classmood.pipeline import Pipeline

    return Pipeline(model=_JOB.get("model", "realtime"))


def classify(pipeline, job: dict) -> dict:
    """The model on the crops themselves (resized only if its input size is not 48)."""
    import cv2

    images = np.load(job["crops"])["images"]
    size = pipeline.classifier.size
    if images.shape[1:] != (size, size):
        images = np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_LINEAR) for c in images])
    start = time.perf_counter()
    probs = [pipeline.classifier.predict_crops(images[i:i + BATCH]) for i in range(0, len(images), BATCH)]
    seconds = time.perf_counter() - start
    return {"probabilities": np.concatenate(probs).tolist(), "seconds": seconds,
            "model": {"name": pipeline.classifier.info.name, "version": pipeline.classifier.info.version,
                      "architecture": pipeline.classifier.info.architecture,
                      "params": pipeline.classifier.info.params,
                      "size_bytes": pipeline.classifier.info.size_bytes}}


def read_frame(path: str):
    from classmood.sources.imageio import read_image

    return read_image(path)


def detect(detector, job: dict) -> dict:
    found, start = [], time.perf_counter()
    for path in job["images"]:
        found.append(detector.detect(read_frame(path)).boxes.round().astype(int).tolist())
    return {"boxes": found, "seconds": time.perf_counter() - start}


def e2e(pipeline, job: dict) -> dict:
    """Each clip as a live stream (what ``Pipeline.run`` does for a webcam, video or screen source:
    the detector follows the faces of the previous frame, the classifier runs one mirror view a
    frame), then as a live stream with following off (``unfollowed``: YuNet's own frame-to-frame
    scale only), then as unrelated still pictures."""
    from classmood.types import Frame

    detector, reset = pipeline.detector, pipeline.reset  # reset(True): the stages may use the previous frame

    def process(image):
        result = pipeline.process(Frame(image, 0, 0.0))
        return [list(f.box) for f in result.detections.to_faces()], dict(result.timings)

    def unfollowed_pass():
        detector.follow = False
        reset(True)

    stream = run_e2e(job, read_frame, process, start_pass=lambda: reset(True))
    others = {}
    if hasattr(detector, "follow"):
        others["unfollowed"] = run_e2e({**job, "warmup": 0}, read_frame, process, start_pass=unfollowed_pass)
        detector.follow = True
    others["still"] = run_e2e({**job, "warmup": 0}, read_frame, process, start_pass=lambda: reset(False))
    reset(False)
    for mode, other in others.items():
        for group, its in zip(stream["groups"], other["groups"]):
            group[mode] = {k: its[k] for k in ("latencies_s", "boxes", "stages_s")}
    return stream


if __name__ == "__main__":
    _JOB.update(read_job()[0])
    main({"classify": classify, "detect": detect, "e2e": e2e}, load,
         ("classmood", "onnxruntime", "opencv-python-headless", "numpy"))
