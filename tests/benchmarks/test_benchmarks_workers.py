"""Worker protocol and the classmood worker run for real in a subprocess on tiny inputs."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.workers import protocol
from fixtures.paths import ROOT

WORKER = ROOT / "benchmarks" / "workers" / "classmood_worker.py"


def test_run_e2e_times_every_frame_and_skips_warmup():
    seen = []

    def process(frame):
        seen.append(frame)
        return [[0, 0, 1, 1]], {"detect": 0.001}

    job = {"groups": [{"faces": 1, "frames": ["a", "b"]}], "warmup": 1, "repeats": 2}
    out = protocol.run_e2e(job, lambda p: p, process)
    (group,) = out["groups"]
    assert seen == ["a", "a", "b", "a", "b"]  # 1 warm-up, then 2 passes
    assert len(group["latencies_s"]) == 4 and all(t >= 0 for t in group["latencies_s"])
    assert group["boxes"] == [[[0, 0, 1, 1]], [[0, 0, 1, 1]]]  # boxes of the first pass only
    assert len(group["stages_s"]) == 4


def test_write_result_is_atomic_and_has_memory(tmp_path):
    out = tmp_path / "r.json"
    protocol.write_result(out, {"x": 1})
    data = json.loads(out.read_text())
    assert data["x"] == 1 and data["peak_rss_mb"] > 1
    assert not (tmp_path / "r.json.tmp").exists()


def run_worker(tmp_path, job: dict) -> tuple[subprocess.CompletedProcess, Path]:
    job_path, result = tmp_path / "job.json", tmp_path / "result.json"
    job_path.write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, str(WORKER), str(job_path), str(result)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    return proc, result


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory):
    """Two real FER-2013 crops and one webcam frame made from one of them."""
    from benchmarks.fer2013 import load_crops
    from benchmarks.gallery import build_frame

    folder = tmp_path_factory.mktemp("bench")
    crops = load_crops(per_class=1)
    np.savez(folder / "crops.npz", images=crops.images[:2], labels=crops.labels[:2])
    scene = build_frame(crops.images[3:4], crops.labels[3:4], np.random.default_rng(0))
    cv2.imwrite(str(folder / "frame.png"), scene.image)
    return folder, scene


def test_classmood_worker_classifies_crops(tmp_path, tiny_inputs):
    folder, _ = tiny_inputs
    proc, result = run_worker(tmp_path, {"task": "classify", "crops": str(folder / "crops.npz"), "model": "realtime"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(result.read_text())
    probs = np.array(data["probabilities"])
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert data["model"]["name"] == "realtime" and data["versions"]["onnxruntime"] != "-"


def test_classmood_worker_end_to_end_finds_the_face(tmp_path, tiny_inputs):
    folder, scene = tiny_inputs
    job = {"task": "e2e", "groups": [{"faces": 1, "frames": [str(folder / "frame.png")]}], "warmup": 1, "repeats": 2}
    proc, result = run_worker(tmp_path, job)
    assert proc.returncode == 0, proc.stderr
    (group,) = json.loads(result.read_text())["groups"]
    assert len(group["latencies_s"]) == 2
    assert set(group["stages_s"][0]) >= {"detect", "classify"}
    from benchmarks.metrics import detection_report

    assert detection_report(group["boxes"], [scene.boxes]).recall == 1.0


def test_worker_failure_leaves_no_result(tmp_path):
    proc, result = run_worker(tmp_path, {"task": "classify", "crops": str(tmp_path / "missing.npz")})
    assert proc.returncode != 0 and not result.exists()
    proc, result = run_worker(tmp_path, {"task": "no-such-task"})
    assert proc.returncode != 0 and "unknown task" in proc.stderr and not result.exists()


def test_fer_worker_feeds_exactly_the_crop_and_maps_labels_by_name():
    sys.path.insert(0, str(WORKER.parent))
    import fer_worker

    x, y, w, h = fer_worker.crop_rectangle(48, 48)
    offset = fer_worker.FER_OFFSET  # fer widens the box by this much on every side
    assert (x - offset, y - offset, x + w + offset, y + h + offset) == (0, 0, 48, 48)
    fer_scores = {"angry": 0.1, "disgust": 0.0, "fear": 0.05, "happy": 0.6, "sad": 0.05, "surprise": 0.1,
                  "neutral": 0.1}  # fer's own order puts neutral last
    probs = fer_worker.to_probabilities(fer_scores)
    assert probs[protocol.EMOTIONS.index("happy")] == 0.6 and probs[protocol.EMOTIONS.index("neutral")] == 0.1


def test_protocol_class_order_matches_classmood():
    from classmood.emotions import EMOTIONS

    assert protocol.EMOTIONS == EMOTIONS  # workers in peer venvs cannot import classmood, so it is copied
