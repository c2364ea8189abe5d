"""Constant-velocity Kalman filter on a face box, as in SORT (Bewley et al., 2016).

State: centre x, centre y, area s, aspect ratio r, and the velocities of x, y and s.
"""

from __future__ import annotations

import numpy as np

_F = np.eye(7)
_F[0, 4] = _F[1, 5] = _F[2, 6] = 1.0
_H = np.eye(4, 7)
_R = np.diag([1.0, 1.0, 10.0, 0.01])
_Q = np.diag([1.0, 1.0, 1.0, 0.01, 0.01, 0.01, 1e-4])


def box_to_z(box: np.ndarray) -> np.ndarray:
    x, y, w, h = (float(v) for v in box)
    return np.array([x + w / 2.0, y + h / 2.0, w * h, w / max(h, 1e-6)])


def z_to_box(z: np.ndarray) -> np.ndarray:
    s, r = max(float(z[2]), 1e-6), max(float(z[3]), 1e-6)
    w = np.sqrt(s * r)
    h = s / max(w, 1e-6)
    return np.array([z[0] - w / 2.0, z[1] - h / 2.0, w, h], np.float32)


class BoxKalman:
    """Predict/update one face box; ``box`` is the current estimate as ``(x, y, w, h)``."""

    def __init__(self, box: np.ndarray) -> None:
        self.x = np.zeros(7)
        self.x[:4] = box_to_z(box)
        self.P = np.diag([10.0, 10.0, 10.0, 10.0, 1e4, 1e4, 1e4])

    def predict(self) -> np.ndarray:
        if self.x[2] + self.x[6] <= 0:
            self.x[6] = 0.0
        self.x = _F @ self.x
        self.P = _F @ self.P @ _F.T + _Q
        return self.box

    def update(self, box: np.ndarray) -> None:
        y = box_to_z(box) - _H @ self.x
        S = _H @ self.P @ _H.T + _R
        K = self.P @ _H.T @ np.linalg.inv(S)
        self.x = self.x + K @ y
        self.P = (np.eye(7) - K @ _H) @ self.P

    @property
    def box(self) -> np.ndarray:
        return z_to_box(self.x[:4])

