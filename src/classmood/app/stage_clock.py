"""Where a live frame's time goes on the server: per-stage durations of the last frames, logged.

``on_frame`` (streamlit-webrtc's thread) times turning the received frame into pixels, drawing the
faces and turning it back into a video frame; the analysis thread times the analysis and how old
the faces are when they are first drawn (from their frame's arrival). ``summary()`` gives medians
over the last ``window`` frames; the live stream logs it every ``every_s`` seconds and at the end
of a class, so an operator (and ``benchmarks/app_latency.py``) sees where the time goes.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict, deque

STAGES = ("to_pixels", "draw", "to_video", "analysis", "faces_age")


class StageClock:
    def __init__(self, window: int = 300, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._times: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))
        self._arrivals: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._last_report = time.monotonic()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._times[stage].append(seconds)

    def arrived(self, at: float) -> None:
        with self._lock:
            self._arrivals.append(at)

    def summary(self) -> dict[str, float]:
        """Median milliseconds per stage, and frames/s received, over the window."""
        with self._lock:
            out = {stage: round(1000 * statistics.median(self._times[stage]), 1)
                   for stage in STAGES if self._times[stage]}
            if len(self._arrivals) > 1:
                out["received_fps"] = round((len(self._arrivals) - 1) / (self._arrivals[-1] - self._arrivals[0]), 1)
        return out

    def due(self) -> bool:
        """True once every ``every_s`` seconds (for a periodic log line)."""
        now = time.monotonic()
        if now - self._last_report >= self.every_s:
            self._last_report = now
            return True
        return False

    def line(self) -> str:
        figures = self.summary()
        return "live timing (median ms): " + ", ".join(f"{k} {v}" for k, v in figures.items())
