"""The command line as a user runs it (a real process): analyze, evaluate and models, with their JSON contracts."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from classmood.classify import resolve_model
from classmood.emotions import EMOTIONS
from classmood.sources import VideoFileSource

from fixtures.cli import run_cli
from fixtures.faces import box_iou
from fixtures.media import fer_files, scene, two_face_video


def test_help_lists_the_pipeline_commands():
    res = run_cli("--help")
    assert res.returncode == 0
    for cmd in ("analyze", "evaluate", "models"):
        assert cmd in res.stdout
    analyze_help = " ".join(run_cli("analyze", "--help").stdout.split())  # whatever the terminal width
    assert '"box": [x, y, w, h]' in analyze_help and "exit status 0" in analyze_help


def test_analyze_photo_json_contract_and_annotated_output(tmp_path):
    image, placed = scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))
    path = tmp_path / "class.png"
    cv2.imwrite(str(path), image)
    res = run_cli("analyze", path, "--json", "--out", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)  # stdout is exactly one JSON object
    assert set(data) == {"faces", "width", "height"} and (data["width"], data["height"]) == (640, 480)
    assert len(data["faces"]) == 2
    for face in data["faces"]:
        assert set(face) == {"box", "score", "emotion", "probabilities", "landmarks"}
        assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
        x, y, w, h = face["box"]
        assert len(face["landmarks"]) == 5 and all(x <= px <= x + w and y <= py <= y + h for px, py in face["landmarks"])
        assert 0 <= face["score"] <= 1 and face["emotion"] in EMOTIONS
        assert list(face["probabilities"]) == list(EMOTIONS)
        assert abs(sum(face["probabilities"].values()) - 1) < 1e-3
        assert face["emotion"] == max(face["probabilities"], key=face["probabilities"].get)
    for box in placed:
        assert max(box_iou(box, f["box"]) for f in data["faces"]) > 0.4
    annotated = cv2.imread(str(tmp_path / "out" / "class.annotated.jpg"))
    assert annotated.shape == image.shape


def test_analyze_photo_without_face_is_empty_not_an_error(tmp_path):
    path = tmp_path / "wall.jpg"
    cv2.imwrite(str(path), np.full((200, 300, 3), 128, np.uint8))
    res = run_cli("analyze", path, "--json")
    assert res.returncode == 0
    assert json.loads(res.stdout) == {"faces": [], "width": 300, "height": 200}
    plain = run_cli("analyze", path)
    assert plain.returncode == 0 and "No face" in plain.stdout


def test_analyze_video_writes_mp4_csv_parquet(tmp_path):
    video = two_face_video(tmp_path / "lesson.mp4", n=8)
    out = tmp_path / "out"
    res = run_cli("analyze", video, "--out", out, "--every", "2", "--json", "--max-faces", "1")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["frames"] == 4 and summary["faces"] == 4 and summary["kind"] == "video"
    assert set(summary["stage_ms"]) == {"decode", "detect", "classify", "annotate"}
    assert [r["index"] for r in summary["results"]] == [0, 2, 4, 6]
    assert sorted(p.name for p in out.iterdir()) == ["lesson.annotated.mp4", "lesson.faces.csv", "lesson.faces.parquet"]
    with VideoFileSource(out / "lesson.annotated.mp4") as back:
        frames = list(back)
    assert len(frames) == 4 and frames[0].image.shape == (480, 640, 3)
    table = pd.read_parquet(out / "lesson.faces.parquet")
    assert table["frame"].tolist() == [0, 2, 4, 6]
    assert table.equals(pd.read_csv(out / "lesson.faces.csv").astype(table.dtypes.to_dict()))
    plain = run_cli("analyze", video, "--quiet")
    assert plain.returncode == 0 and "frames/s" in plain.stdout


def test_analyze_folder_json(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, cls in enumerate(("happy", "surprise")):
        cv2.imwrite(str(folder / f"{i}.jpg"), scene(faces=((cls, 0, (200, 150), 160),))[0])
    res = run_cli("analyze", folder, "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert [r["path"].rsplit("/", 1)[-1] for r in data["results"]] == ["0.jpg", "1.jpg"]
    assert all(len(r["faces"]) == 1 for r in data["results"])


def test_evaluate_json_contract(tmp_path):
    root = tmp_path / "eval"
    counts = {"happy": 12, "surprise": 10, "angry": 8}
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for f in fer_files(cls, n):
            (root / cls / f.name).write_bytes(f.read_bytes())
    res = run_cli("evaluate", root, "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["n"] == 30 and data["classes"] == list(EMOTIONS) and 0 <= data["accuracy"] <= 1
    conf = np.array(data["confusion"])
    assert conf.shape == (7, 7)
    assert {c: int(conf[EMOTIONS.index(c)].sum()) for c in counts} == counts
    assert data["correct"] == int(np.trace(conf)) and abs(data["accuracy"] - data["correct"] / 30) < 1e-3
    assert set(data["per_class"]) == set(EMOTIONS)
    assert all(set(v) == {"precision", "recall", "n"} for v in data["per_class"].values())
    assert data["per_class"]["happy"]["n"] == 12
    model_file = resolve_model("realtime").path  # a model given by path, as new models are measured
    limited = run_cli("evaluate", root, "--json", "--quiet", "--per-class", "5", "--model", model_file, "--flip")
    limited = json.loads(limited.stdout)
    assert limited["n"] == 15 and limited["model"] == "realtime" and limited["flip"] is True


def test_models_lists_bundled_models_with_size_accuracy_speed():
    res = run_cli("models", "--json")
    assert res.returncode == 0, res.stderr
    models = {m["name"]: m for m in json.loads(res.stdout)["models"]}
    assert "realtime" in models
    for m in models.values():
        assert m["size_mb"] > 0 and m["ms_per_face_batch1"] > 0 and m["ms_per_face_batch25"] > 0
        assert "publictest_accuracy" in m
    table = run_cli("models")
    assert table.returncode == 0 and "realtime" in table.stdout


def test_analyze_stream_url_from_a_local_http_server(tmp_path):
    """A stream URL (http on localhost) read live through OpenCV's FFmpeg backend."""
    import functools
    import http.server
    import threading

    two_face_video(tmp_path / "class.mp4", n=10)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/class.mp4"
        res = run_cli("analyze", url, "--json", "--quiet", "--max-frames", "3", timeout=120)
        missing = run_cli("analyze", url.replace("class.mp4", "nothing.mp4"), "--max-frames", "1", timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["kind"] == "stream" and 1 <= data["frames"] <= 3
    assert all(len(r["faces"]) == 2 for r in data["results"])
    assert missing.returncode == 1 and missing.stderr.startswith("error: cannot open stream")


def test_analysis_never_imports_torch(tmp_path):
    """Runtime needs no torch (it is only in the train extra)."""
    import subprocess
    import sys

    path = tmp_path / "p.png"
    cv2.imwrite(str(path), scene()[0])
    code = (f"import sys, classmood; faces = classmood.analyze({str(path)!r}); "
            "print(len(faces), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False"]


def test_analysis_runs_without_any_network(tmp_path):
    """Fully offline: the CLI works inside a network namespace with no interface up."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), scene()[0])
    out = subprocess.run(["unshare", "-n", sys.executable, "-m", "classmood", "analyze", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["faces"]) == 1
