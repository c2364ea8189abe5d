"""Face detectors behind one ``FaceDetector`` protocol: YuNet (default) and whole-image, and the
wrapper that follows known faces between full detections on videos and live sources."""

from __future__ import annotations

from classmood.detect.base import FaceDetector, clip_boxes
from classmood.detect.follow import FollowingDetector
from classmood.detect.whole import WholeImageDetector
from classmood.detect.yunet import YuNetDetector

DETECTORS = {"yunet": YuNetDetector, "whole-image": WholeImageDetector}

__all__ = ["DETECTORS", "FaceDetector", "FollowingDetector", "WholeImageDetector", "YuNetDetector", "clip_boxes",
           "follow_faces", "make_detector"]


def make_detector(name: str = "yunet", **kwargs) -> FaceDetector:
    """Build a detector by name (``yunet`` or ``whole-image``)."""
    from classmood.errors import ClassmoodError

    try:
        return DETECTORS[name](**kwargs)
    except KeyError:
        raise ClassmoodError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}") from None


def follow_faces(detector: FaceDetector) -> FaceDetector:
    """``detector`` wrapped in a ``FollowingDetector`` when it can search crops (``detect_at`` and
    ``scale_for``, as YuNet does); otherwise (whole-image, or already wrapped) ``detector`` itself."""
    if isinstance(detector, FollowingDetector) or not (hasattr(detector, "detect_at") and hasattr(detector, "scale_for")):
        return detector
    return FollowingDetector(detector)
