"""A detector that takes the whole image as one face (for pre-cropped faces, e.g. FER-2013)."""

from __future__ import annotations

import numpy as np

from classmood.types import Detections


class WholeImageDetector:
    """Returns one box covering the full image with score 1."""

    name = "whole-image"

    def detect(self, image: np.ndarray) -> Detections:
        height, width = image.shape[:2]
        return Detections(np.array([[0, 0, width, height]], np.float32), np.ones(1, np.float32), None)
