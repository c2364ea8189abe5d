"""Face detection on real faces: YuNet finds them at their place at every frame size, on the bundled
sample class, and follows a face's size in a video without losing a face that joins."""

from __future__ import annotations

import json

import numpy as np
import pytest

from classmood.detect import YuNetDetector
from classmood.pipeline import Pipeline
from classmood.sources import VideoFileSource, open_source
from classmood.geometry import box_iou
from fixtures.media import fer_face, scene, write_video


def test_yunet_finds_real_faces_at_their_place(detector):
    image, placed = scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))
    found = detector.detect(image)
    assert len(found) == 2 and found.landmarks.shape == (2, 5, 2)  # eyes, nose tip, mouth corners
    for box, points in zip(found.boxes, found.landmarks):  # the five points lie on the face they belong to
        x, y, w, h = box
        assert np.all((points >= (x, y)) & (points <= (x + w, y + h)))
    assert np.all(np.diff(found.scores) <= 0)  # best first
    for box in placed:
        assert max(box_iou(box, b) for b in found.boxes) > 0.4


def test_yunet_maps_boxes_back_from_downscaled_big_frames(detector):
    image, placed = scene(size=(1080, 1920), faces=(("happy", 2, (1500, 700), 240),))
    assert detector.scale_for(1920, 1080) < 1
    found = detector.detect(image)
    assert len(found) == 1
    assert box_iou(placed[0], found.boxes[0]) > 0.4
    x, y, w, h = found.boxes[0]
    assert x >= 0 and y >= 0 and x + w <= 1920 and y + h <= 1080


def test_yunet_upscales_tiny_frames_and_clips_boxes(detector):
    face = fer_face("happy", 0)  # a 48x48 crop: the face touches the border
    found = detector.detect(face)
    assert len(found) == 1
    x, y, w, h = found.boxes[0]
    assert x >= 0 and y >= 0 and x + w <= 48 and y + h <= 48 and w > 20


def test_no_face_gives_empty_detections(detector):
    assert len(detector.detect(np.full((240, 320, 3), 128, np.uint8))) == 0


def test_bundled_sample_video_faces_are_found():
    """The shipped sample class: YuNet must find the students the sample's truth file lists."""
    from classmood.assets import SAMPLE_TRUTH, SAMPLE_VIDEO

    if not SAMPLE_VIDEO.is_file():
        pytest.skip("bundled sample video not present")
    truth = json.loads(SAMPLE_TRUTH.read_text())["frames"]
    found = expected = 0
    with open_source(str(SAMPLE_VIDEO), every=30) as src:
        pipe = Pipeline()
        for result in pipe.run(src):
            boxes = result.detections.boxes
            for _student, *box in truth[result.frame.index]:
                expected += 1
                found += any(box_iou(box, b) > 0.3 for b in boxes)
            assert np.allclose(result.detections.probabilities.sum(axis=1), 1, atol=1e-4)
    assert expected > 0 and found / expected >= 0.9


class ScaleRecordingYuNet(YuNetDetector):
    """The real detector, noting the scale of every search it runs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scales: list[float] = []

    def detect_at(self, image, scale):
        self.scales.append(scale)
        return super().detect_at(image, scale)


def test_video_detection_follows_face_size_without_losing_faces(tmp_path, classifier):
    """A close-up face is searched at a smaller scale; a small face joining is still found."""
    frames = []
    for k in range(18):
        faces = [("happy", 0, (40 + 2 * k, 60), 320)]
        if k >= 6:
            faces.append(("surprise", 0, (480, 300), 90))  # a small second face joins at frame 6
        frames.append(scene(faces=tuple(faces))[0])
    path = write_video(tmp_path / "closeup.mp4", frames, fps=10)

    follow = ScaleRecordingYuNet(full_every=4)
    with VideoFileSource(path) as src:  # YuNet's own speed-up, without FollowingDetector around it
        followed = list(Pipeline(follow, classifier, follow=False).run(src))
    plain = YuNetDetector(follow_face_size=False)
    with VideoFileSource(path) as src:
        reference = list(Pipeline(plain, classifier, follow=False).run(src))

    full = follow.scale_for(640, 480)
    assert sum(s < full for s in follow.scales) >= 8  # most frames took the cheap path
    assert [len(r.detections) for r in followed[:6]] == [1] * 6
    assert all(len(r.detections) == 2 for r in followed[6 + 4:])  # found within full_every frames
    for a, b in zip(followed, reference, strict=True):
        for box in a.detections.boxes:
            assert max(box_iou(box, other) for other in b.detections.boxes) > 0.6
    assert follow._stream is None  # the state ends with the source: photos are searched at full scale
