"""The frame-to-frame speed-up of YuNetDetector must not search twice on every frame when a
face (often a false one) is visible only at full scale."""

from __future__ import annotations

import numpy as np

from classmood.detect import YuNetDetector
from classmood.types import Detections


class CountingDetector(YuNetDetector):
    """YuNetDetector whose raw search is scripted: ``at_full`` faces at full scale, ``at_reduced`` below it."""

    def __init__(self, at_full, at_reduced):
        super().__init__()
        self.at_full, self.at_reduced = at_full, at_reduced
        self.calls = {"full": 0, "reduced": 0}

    def detect_at(self, image, scale):
        full = scale == self.scale_for(image.shape[1], image.shape[0])
        self.calls["full" if full else "reduced"] += 1
        boxes = self.at_full if full else self.at_reduced
        return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32), None)


TRUE_FACE = [300, 100, 200, 200]
FALSE_FACE = [10, 10, 150, 200]  # like the astronaut close-up's edge box: found at full scale only


def test_a_face_seen_only_at_full_scale_costs_two_searches_once_per_cycle_not_every_frame():
    detector = CountingDetector([TRUE_FACE, FALSE_FACE], [TRUE_FACE])
    detector.reset(continuous=True)
    frame = np.zeros((480, 640, 3), np.uint8)
    counts = [len(detector.detect(frame)) for _ in range(30)]
    # without the baseline every frame after the first searches twice: 59 searches for 30 frames
    assert sum(detector.calls.values()) <= 30 + 2 * 3 + 1, detector.calls
    assert detector.calls["reduced"] >= 20
    assert detector.calls["full"] >= 3  # the periodic full-scale search still happens
    assert counts[0] == 2 and 1 in counts


def test_a_face_the_reduced_scale_loses_entirely_is_still_searched_at_full_scale():
    detector = CountingDetector([TRUE_FACE], [])
    detector.reset(continuous=True)
    frame = np.zeros((480, 640, 3), np.uint8)
    counts = [len(detector.detect(frame)) for _ in range(12)]
    assert counts == [1] * 12  # never dropped: a reduced search with no face always falls back
