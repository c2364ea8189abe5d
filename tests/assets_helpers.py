"""Shared checks for the asset tests: match true face boxes against the real detector's boxes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from classmood.detect.yunet import YuNetDetector
from classmood.track.kalman import iou_matrix

_DETECTOR: YuNetDetector | None = None


def detector() -> YuNetDetector:
    """The project's default face detector, searching at up to 960 px (enough for every sample face)."""
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = YuNetDetector(score_threshold=0.5, max_side=960)
    return _DETECTOR


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``(x, y, w, h)`` boxes (the tracker's own IoU)."""
    return float(iou_matrix(np.asarray([a]), np.asarray([b]))[0, 0])


def _mostly_inside(box: Sequence[float], region: Sequence[float]) -> bool:
    x, y, w, h = box
    rx, ry, rw, rh = region
    ix = max(0.0, min(x + w, rx + rw) - max(x, rx))
    iy = max(0.0, min(y + h, ry + rh) - max(y, ry))
    return ix * iy >= 0.5 * w * h


def match_faces(truth: Sequence[Sequence[float]], image: np.ndarray, min_iou: float = 0.5,
                ignore: Sequence[Sequence[float]] = ()) -> tuple[int, int, list[float]]:
    """Detect faces in ``image`` and greedily match them to ``truth``: (found, extra detections, IoUs).

    Unmatched detections mostly inside an ``ignore`` region are not counted as extra.
    """
    found = detector().detect(image).boxes.tolist()
    used: set[int] = set()
    ious = []
    for box in truth:
        scored = [(box_iou(box, d), j) for j, d in enumerate(found) if j not in used]
        best, j = max(scored, default=(0.0, -1))
        if best >= min_iou:
            used.add(j)
            ious.append(best)
    extra = [d for j, d in enumerate(found) if j not in used and not any(_mostly_inside(d, r) for r in ignore)]
    return len(ious), len(extra), ious
