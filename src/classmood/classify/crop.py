"""Face crops for the emotion model: square around the box, grayscale, model input size.

Alignment is by box only (the detector's five landmarks are not used yet): a square of side
``max(w, h) * (1 + margin)`` centred on the box (FER-2013 faces are framed about
that tightly), padded by edge replication where it leaves the frame.

Margin measured with the realtime model v1 on the 741 faces YuNet found among the first 120
publictest images of each class: -0.1: 66.8%, 0.0: 68.3%, 0.1: 68.2%, 0.2: 68.0%, 0.3: 66.1%
(the uncropped 48x48 images: 69.0%). Hence no margin by default.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_MARGIN = 0.0


def square_box(box, width: int, height: int, margin: float = DEFAULT_MARGIN) -> tuple[int, int, int]:
    """Integer ``(x0, y0, side)`` of the square crop for an ``(x, y, w, h)`` box."""
    x, y, w, h = (float(v) for v in box)
    side = max(1, int(round(max(w, h) * (1.0 + margin))))
    cx, cy = x + w / 2.0, y + h / 2.0
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side


def crop_face(image: np.ndarray, box, size: int, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Square crop of a BGR or gray frame, resized to ``size x size`` gray uint8.

    Only the face's pixels are touched (resize first, then gray), so the cost does
    not grow with the frame size.
    """
    height, width = image.shape[:2]
    x0, y0, side = square_box(box, width, height, margin)
    xa, ya = max(0, x0), max(0, y0)
    xb, yb = min(width, x0 + side), min(height, y0 + side)
    if xb <= xa or yb <= ya:
        return np.zeros((size, size), np.uint8)
    patch = image[ya:yb, xa:xb]
    pads = (ya - y0, y0 + side - yb, xa - x0, x0 + side - xb)
    if any(pads):
        patch = cv2.copyMakeBorder(patch, *pads, cv2.BORDER_REPLICATE)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return to_gray(cv2.resize(patch, (size, size), interpolation=interp))


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR (or already gray) uint8 -> gray uint8."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def crop_faces(image: np.ndarray, boxes: np.ndarray, size: int, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """All faces of a frame as one ``(N, size, size)`` uint8 batch."""
    if len(boxes) == 0:
        return np.zeros((0, size, size), np.uint8)
    return np.stack([crop_face(image, b, size, margin) for b in boxes])
