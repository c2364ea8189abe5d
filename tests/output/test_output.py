"""Outputs of an analysis: annotated video and face tables that read back, written atomically."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from classmood.emotions import EMOTIONS
from classmood.output import FaceTableWriter, VideoWriter, atomic_path, write_image
from classmood.pipeline import Pipeline
from classmood.sources import VideoFileSource
from fixtures.media import two_face_video


def test_outputs_round_trip_and_are_atomic(tmp_path, classifier, detector):
    src_path = two_face_video(tmp_path / "in.mp4", n=6)
    pipe = Pipeline(detector, classifier, annotate=True)
    with VideoFileSource(src_path) as src, VideoWriter(tmp_path / "out.mp4", src.fps) as video, \
            FaceTableWriter(tmp_path / "t.csv", tmp_path / "t.parquet") as table:
        for r in pipe.run(src):
            video.write(r.annotated)
            table.add(r)
    with VideoFileSource(tmp_path / "out.mp4") as back:
        assert back.frame_count == 6 and next(iter(back)).image.shape == (480, 640, 3)
    csv, pq = pd.read_csv(tmp_path / "t.csv"), pd.read_parquet(tmp_path / "t.parquet")
    assert len(csv) == len(pq) == 12 and list(csv.columns) == list(pq.columns)
    assert set(csv["frame"]) == set(range(6)) and csv["emotion"].isin(EMOTIONS).all()
    assert np.allclose(csv[[f"p_{c}" for c in EMOTIONS]].sum(axis=1), 1, atol=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4", "t.csv", "t.parquet"]

    # a failure mid-way leaves nothing that looks complete
    with pytest.raises(RuntimeError), VideoWriter(tmp_path / "broken.mp4", 10) as video, \
            FaceTableWriter(tmp_path / "b.csv", tmp_path / "b.parquet"):
        video.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "c.json") as tmp:
        tmp.write_text("{")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4", "t.csv", "t.parquet"]
    with VideoWriter(tmp_path / "live.mp4", fps=10) as live:  # frames at 0, 0.1 and 0.5 s
        for t in (0.0, 0.1, 0.5):
            live.write_at(np.full((48, 64, 3), int(t * 400), np.uint8), t)
    with VideoFileSource(tmp_path / "live.mp4") as back:
        levels = [int(f.image.mean().round()) for f in back]
    assert len(levels) == 6 and levels[2:5] == [levels[1]] * 3 and levels[5] > levels[1]  # gap filled
    (tmp_path / "live.mp4").unlink()
    write_image(tmp_path / "img.png", np.zeros((4, 4, 3), np.uint8))
    assert cv2.imread(str(tmp_path / "img.png")).shape == (4, 4, 3)


def test_the_video_encoder_thread_keeps_every_frame_in_order(tmp_path):
    """Frames are encoded in a background thread: all of them reach the file, in the order written."""
    path = tmp_path / "ramp.mp4"
    with VideoWriter(path, fps=25) as video:
        for level in range(0, 250, 5):  # 50 frames, each one grey level brighter
            video.write(np.full((96, 128, 3), level, np.uint8))
    levels = [float(frame.image.mean()) for frame in VideoFileSource(path)]
    assert len(levels) == 50
    assert np.allclose(levels, np.arange(0, 250, 5), atol=4)
