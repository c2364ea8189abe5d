"""Small builders shared by tests of several rooms."""

from __future__ import annotations

import numpy as np

from classmood.emotions import EMOTIONS

from classmood.types import Detections


def seen(student_id: int, probabilities, box=(0, 0, 0, 0)) -> tuple:
    """One tracked face: its student id, emotion probabilities (EMOTIONS order) and x, y, w, h box."""
    return student_id, probabilities, box


def tracked(faces: list[tuple]) -> Detections:
    """The record the aggregator reads (student ids, probabilities, boxes) from ``seen(...)`` faces."""
    n = len(faces)
    boxes = np.array([box for _, _, box in faces], np.float32).reshape(n, 4)
    return Detections(boxes, np.ones(n, np.float32), student_ids=np.array([s for s, _, _ in faces], np.int64),
                      probabilities=np.array([p for _, p, _ in faces], np.float32).reshape(n, len(EMOTIONS)))
