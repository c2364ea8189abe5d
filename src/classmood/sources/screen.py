"""Screen capture (the meeting's gallery view on the teacher's screen) with ``mss``.

Each frame is grabbed when the consumer asks for it, so it is always the newest
picture of the screen: a slow consumer simply samples the screen less often.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from classmood.errors import ClassmoodError
from classmood.sources.base import Source
from classmood.types import Frame


@dataclass(frozen=True, slots=True)
class ScreenRegion:
    """A rectangle in screen pixels; ``monitor`` 0 is all monitors, 1 the first one."""

    monitor: int = 1
    left: int | None = None
    top: int | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def parse(cls, spec: str) -> ScreenRegion:
        """``screen``, ``screen:2`` (monitor 2) or ``screen:LEFT,TOP,WIDTH,HEIGHT``."""
        _, _, rest = spec.partition(":")
        if not rest:
            return cls()
        parts = rest.split(",")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            raise ClassmoodError(f"bad screen region {spec!r}: use screen, screen:N or screen:LEFT,TOP,WIDTH,HEIGHT") from None
        if len(numbers) == 1:
            return cls(monitor=numbers[0])
        if len(numbers) == 4 and numbers[2] > 0 and numbers[3] > 0:
            return cls(0, *numbers)
        raise ClassmoodError(f"bad screen region {spec!r}: use screen, screen:N or screen:LEFT,TOP,WIDTH,HEIGHT")


class ScreenSource(Source):
    """Grabs a screen region at up to ``max_fps`` frames per second."""

    live = True
    continuous = True

    def __init__(self, region: ScreenRegion | str = ScreenRegion(), *, max_fps: float = 15.0,
                 max_frames: int | None = None) -> None:
        try:
            import mss
        except ImportError:  # pragma: no cover - mss is a dependency
            raise ClassmoodError("screen capture needs the 'mss' package: pip install mss") from None
        self.region = ScreenRegion.parse(region) if isinstance(region, str) else region
        self.max_fps = max_fps
        self.max_frames = max_frames
        self.name = "screen"
        try:
            self._mss = getattr(mss, "MSS", mss.mss)()  # mss >= 10 renamed the class
            monitors = self._mss.monitors
        except Exception as exc:  # noqa: BLE001 - no X display / Wayland without portal ...
            raise ClassmoodError(f"cannot capture the screen: {exc}") from None
        self._box = self._resolve(monitors)

    def _resolve(self, monitors: list[dict]) -> dict:
        r = self.region
        if r.width is not None:
            return {"left": r.left, "top": r.top, "width": r.width, "height": r.height}
        if not 0 <= r.monitor < len(monitors):
            raise ClassmoodError(f"no monitor {r.monitor}: this screen has {len(monitors) - 1} monitor(s)")
        return dict(monitors[r.monitor])

    @property
    def fps(self) -> float:
        return self.max_fps

    def frames(self) -> Iterator[Frame]:
        start = time.monotonic()
        period = 1.0 / self.max_fps if self.max_fps > 0 else 0.0
        index = 0
        next_at = start
        while self.max_frames is None or index < self.max_frames:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.monotonic()
            next_at = max(next_at + period, now)
            try:
                shot = self._mss.grab(self._box)
            except Exception as exc:  # noqa: BLE001 - mss raises its own and the OS's errors
                raise ClassmoodError(f"screen capture failed: {exc}") from None
            bgra = np.frombuffer(shot.bgra, np.uint8).reshape(shot.height, shot.width, 4)
            yield Frame(np.ascontiguousarray(bgra[:, :, :3]), index, now - start)
            index += 1

    def close(self) -> None:
        if getattr(self, "_mss", None) is not None:
            self._mss.close()
            self._mss = None
