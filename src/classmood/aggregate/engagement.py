"""Engagement index from emotion probabilities, after the concentration index of Sharma et al.

Sharma, P., Joshi, S., Gautam, S., Maharjan, S., Filipe, V., Reis, M. J. C. S. (2019).
"Student Concentration Evaluation Index in an E-learning Context Using Facial Emotion Analysis".
In: Technology and Innovation in Learning, Teaching and Education (TECH-EDU 2018),
Communications in Computer and Information Science, vol. 993, Springer, pp. 529-538.

The paper multiplies a weight of the dominant emotion by a gaze weight. classmood uses the
expected emotion weight under the model's (smoothed) probabilities, which equals the paper's
weight when the model is certain and does not jump when two emotions are close, and uses the
presence of a frontal face as the gaze term (1 when the face is seen, 0 when the student is away).
"""

from __future__ import annotations

import numpy as np

from classmood.emotions import CONCENTRATION_WEIGHTS, EMOTIONS, HIGH_ENGAGEMENT, LOW_ENGAGEMENT

WEIGHT_VECTOR = np.array([CONCENTRATION_WEIGHTS[e] for e in EMOTIONS], np.float64)


def engagement_index(probabilities: np.ndarray, gaze: float = 1.0) -> float:
    """Expected concentration weight of a ``(7,)`` probability vector in EMOTIONS order, times gaze."""
    return float(np.dot(WEIGHT_VECTOR, probabilities) * gaze)


def engagement_band(index: float) -> str:
    if index >= HIGH_ENGAGEMENT:
        return "high"
    return "nominal" if index >= LOW_ENGAGEMENT else "low"
