"""The ``Source`` abstraction: anything that yields timestamped ``Frame``s."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from classmood.types import Frame


@dataclass(frozen=True, slots=True)
class Truncation:
    """A file whose frames ran out before its container said they would (cut short or corrupt)."""

    frames_read: int  # frames of the file decoded (or skipped by a stride) before it ended
    frames_expected: int  # frames the container announced
    reason: str  # one line for a person


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
    #: set once iteration ended early because the file is truncated or corrupt
    truncation: Truncation | None = None

    @property
    def truncated(self) -> bool:
        return self.truncation is not None

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
