"""The ``Source`` abstraction: anything that yields timestamped ``Frame``s."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from classmood.types import Frame


class Source(ABC):
    """An iterable of ``Frame``s; use it as a context manager so devices get released.

    ``live`` sources (webcam, screen, stream) drop frames when the consumer is slow,
    so a slow analysis never lags behind the class; files are read frame by frame.
    """

    #: short human-readable description, e.g. ``video lecture.mp4``
    name: str = "source"
    #: True for webcam, screen and stream sources (frames are dropped, never queued)
    live: bool = False
    #: True when consecutive frames show the same scene a moment apart (video, live sources)
    continuous: bool = False

    @property
    def fps(self) -> float | None:
        """Nominal frames per second (after any stride), or ``None`` when unknown."""
        return None

    @property
    def frame_count(self) -> int | None:
        """How many frames iteration will yield, when known in advance."""
        return None

    @abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield frames in order; raise ``ClassmoodError`` when nothing can be read."""

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release files and devices (idempotent)."""

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
