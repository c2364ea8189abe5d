"""Exponential moving average over time, so emotions do not flicker frame to frame."""

from __future__ import annotations

import math

import numpy as np


class TimeEMA:
    """EMA with a time constant ``tau_s`` seconds: irregular frame rates are handled exactly."""

    def __init__(self, tau_s: float = 1.5) -> None:
        self.tau_s = tau_s
        self.value: np.ndarray | None = None
        self.timestamp: float | None = None

    def update(self, sample: np.ndarray, timestamp: float) -> np.ndarray:
        sample = np.asarray(sample, np.float64)
        if self.value is None or self.timestamp is None or self.tau_s <= 0:
            self.value = sample.copy()
        else:
            dt = max(timestamp - self.timestamp, 0.0)
            alpha = 1.0 - math.exp(-dt / self.tau_s)
            self.value = self.value + alpha * (sample - self.value)
        self.timestamp = timestamp
        return self.value

    def reset(self) -> None:
        self.value = None
        self.timestamp = None
