"""The ``FaceDetector`` protocol every detector implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from classmood.types import Detections


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in a BGR uint8 image; boxes in that image's pixels, clipped to it, best first.

    A detector may also define ``reset(continuous: bool)``: ``Pipeline.run`` calls it at
    the start (and end) of each source so it can use the previous frame of a video.
    """

    name: str

    def detect(self, image: np.ndarray) -> Detections: ...


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip ``(N, 4)`` x, y, w, h boxes to the image; degenerate boxes get w or h 0."""
    x1 = np.clip(boxes[:, 0], 0, width)
    y1 = np.clip(boxes[:, 1], 0, height)
    x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).astype(np.float32)
