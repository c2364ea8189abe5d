"""The few-call Python API: ``analyze(image)`` for one picture."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from classmood.types import Face, Frame


@lru_cache(maxsize=4)
def _pipeline(model: str, max_faces: int | None):
    from classmood.pipeline import Pipeline

    return Pipeline(model=model, max_faces=max_faces)


def analyze(image: np.ndarray | str | Path, *, model: str = "realtime", max_faces: int | None = None) -> list[Face]:
    """Faces with emotion probabilities in a BGR uint8 image (or an image file path).

    Boxes are pixels of the original image; an image without faces gives ``[]``.
    Raises ``ClassmoodError`` for an unreadable file.
    """
    if isinstance(image, (str, Path)):
        from classmood.sources.imageio import read_image

        image = read_image(image)
    image = _as_bgr(image)
    return _pipeline(str(model), max_faces).process(Frame(image, 0, 0.0)).detections.to_faces()


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept gray ``(H, W)``, BGR or BGRA; any integer depth is scaled to uint8."""
    import cv2

    from classmood.errors import ClassmoodError

    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ClassmoodError(f"expected a uint8 or uint16 image, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise ClassmoodError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
