"""Face detectors behind one ``FaceDetector`` protocol: YuNet (default) and whole-image."""

from __future__ import annotations

from classmood.detect.base import FaceDetector, clip_boxes
from classmood.detect.whole import WholeImageDetector
from classmood.detect.yunet import YuNetDetector

DETECTORS = {"yunet": YuNetDetector, "whole-image": WholeImageDetector}

__all__ = ["DETECTORS", "FaceDetector", "WholeImageDetector", "YuNetDetector", "clip_boxes", "make_detector"]


def make_detector(name: str = "yunet", **kwargs) -> FaceDetector:
    """Build a detector by name (``yunet`` or ``whole-image``)."""
    from classmood.errors import ClassmoodError

    try:
        return DETECTORS[name](**kwargs)
    except KeyError:
        raise ClassmoodError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}") from None
