"""Frame sources: what kind a path or URL is, videos with stride and limits, folders that skip junk,
single images, and live captures that drop frames instead of queueing them."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from classmood.errors import ClassmoodError
from classmood.sources import FolderSource, ImageSource, VideoFileSource, open_source, source_kind
from classmood.sources.live import LatestFrameGrabber
from fixtures.media import fer_face, scene, two_face_video


def test_source_kinds(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "v.mp4").write_bytes(b"x")
    assert source_kind("0") == "webcam" and source_kind(3) == "webcam"
    assert source_kind("screen") == "screen" and source_kind("screen:0,0,640,480") == "screen"
    assert source_kind("rtsp://127.0.0.1/cam") == "stream"
    assert source_kind(tmp_path) == "folder"
    assert source_kind(tmp_path / "a.jpg") == "image"
    assert source_kind(tmp_path / "v.mp4") == "video"
    with pytest.raises(ClassmoodError, match="no such"):
        source_kind(tmp_path / "missing.mp4")


def test_video_round_trip_with_stride(tmp_path):
    path = two_face_video(tmp_path / "two.mp4", n=9, fps=10)
    with VideoFileSource(path) as src:
        assert src.frame_count == 9 and src.fps == pytest.approx(10)
        frames = list(src)
    assert [f.index for f in frames] == list(range(9))
    assert frames[3].timestamp == pytest.approx(0.3) and frames[0].image.shape == (480, 640, 3)
    with open_source(str(path), every=4) as src:
        assert [f.index for f in src] == [0, 4, 8]
    with open_source(str(path), every=2, max_frames=3) as src:
        assert src.frame_count == 3 and [f.index for f in src] == [0, 2, 4]


def test_folder_source_keeps_paths_and_skips_junk(tmp_path, caplog):
    for i, cls in enumerate(("happy", "sad")):
        cv2.imwrite(str(tmp_path / f"{i}.png"), scene(faces=((cls, 0, (100, 100), 150),))[0])
    (tmp_path / "notes.txt").write_text("not an image")
    src = FolderSource(tmp_path)
    frames = list(src)
    assert len(frames) == 2 and [p.name for p in src.paths] == ["0.png", "1.png"]
    assert [p.name for p, _ in src.skipped] == ["notes.txt"]


def test_image_source_reads_one_frame(tmp_path):
    path = tmp_path / "x.jpg"
    cv2.imwrite(str(path), fer_face())
    frames = list(ImageSource(path))
    assert len(frames) == 1 and frames[0].image.shape == (48, 48, 3)


def test_latest_frame_grabber_drops_frames_for_a_slow_consumer():
    counter = iter(range(10_000))

    def fast_camera():
        time.sleep(0.002)
        n = next(counter, None)
        return None if n is None or n >= 300 else np.full((2, 2), n, np.int32)

    grabber = LatestFrameGrabber(fast_camera)
    seen, seq = [], 0
    while True:
        got = grabber.next(seq, timeout=2.0)
        if got is None:
            break
        seq, image, _ = got
        seen.append(int(image[0, 0]))
        time.sleep(0.02)  # a consumer 10x slower than the camera
    grabber.stop()
    assert seen == sorted(seen) and seen[-1] == 299  # always the newest, ends with the last frame
    assert len(seen) < 100  # most frames were dropped, not queued


def test_stream_source_reads_live_without_queueing(tmp_path):
    """A capture read as a live stream (here a local file through OpenCV's FFmpeg backend)."""
    from classmood.sources import StreamSource

    path = two_face_video(tmp_path / "live.mp4", n=40)
    with StreamSource(str(path)) as live:
        assert live.live
        seen = []
        for frame in live:
            seen.append(frame.index)
            time.sleep(0.01)
        dropped = live.dropped
    assert seen == list(range(len(seen))) and 1 <= len(seen) <= 40
    assert len(seen) + dropped == 40  # every frame was either analysed or dropped, none queued twice
