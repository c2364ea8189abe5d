"""Video files (mp4, avi, mkv, webm, ...) decoded with OpenCV, with an optional frame stride."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

from classmood.errors import ClassmoodError
from classmood.sources.base import Source, Truncation
from classmood.types import Frame

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})


def quiet_opencv() -> None:
    """Silence OpenCV's and FFmpeg's own stderr chatter; classmood reports problems itself."""
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when FFmpeg starts
    import cv2

    with contextlib.suppress(AttributeError):  # older builds without the logging module
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


class VideoFileSource(Source):
    """Frames of a video file; ``every=N`` keeps every N-th frame (others are skipped undecoded).

    Frame ``index`` is the index in the file, ``timestamp`` the video time in seconds. ``seek``
    starts at a later frame (``--resume``). When decoding stops before the container's frame
    count (a cut or corrupt file), ``truncation`` says so once iteration has ended. Messages name
    the file ``shown_as`` (default: its path), e.g. the name a visitor uploaded it under.
    """

    continuous = True

    def __init__(self, path: str | Path, every: int = 1, max_frames: int | None = None,
                 shown_as: str | None = None) -> None:
        import cv2

        quiet_opencv()
        self.path = Path(path)
        self.every = max(1, int(every))
        self.max_frames = max_frames
        self.name = f"video {self.path.name}"
        self.shown_as = shown_as or str(self.path)
        if not self.path.is_file():
            raise ClassmoodError(f"{self.shown_as}: no such file")
        if self.path.stat().st_size == 0:
            raise ClassmoodError(f"{self.shown_as}: file is empty (0 bytes)")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise ClassmoodError(f"{self.shown_as}: not a readable video")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._native_fps = fps if 0 < fps < 1000 else 25.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._native_count = count if count > 0 else None
        self._start = 0

    def seek(self, seconds: float) -> None:
        """Start at the first frame at or after ``seconds`` of video time (before iterating)."""
        self._start = max(0, math.ceil(seconds * self._native_fps - 1e-6))

    @property
    def fps(self) -> float:
        return self._native_fps / self.every

    @property
    def frame_count(self) -> int | None:
        if self._native_count is None:
            return self.max_frames
        first = -(-self._start // self.every) * self.every  # the stride keeps the file's own frame indices
        count = max(0, (self._native_count - first + self.every - 1) // self.every)
        return count if self.max_frames is None else min(count, self.max_frames)

    def frames(self) -> Iterator[Frame]:
        if self._cap is None:
            raise ClassmoodError(f"{self.shown_as}: source already closed")
        index = self._go_to(self._start)
        cap = self._cap
        yielded = 0
        while self.max_frames is None or yielded < self.max_frames:
            if index % self.every:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, image = cap.read()
            if not ok or image is None:
                break
            if image.ndim == 2:  # some codecs decode to gray
                import cv2

                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            yield Frame(image, index, index / self._native_fps)
            yielded += 1
            index += 1
        if self._native_count and index < self._native_count - 1 and yielded != self.max_frames:
            self.truncation = Truncation(index, self._native_count, f"{self.shown_as}: video ended at frame {index} of "
                                         f"{self._native_count} (the file is truncated or corrupt)")
        if yielded == 0 and not (self._start and self.truncation):  # resumed past a cut: truncated, not unreadable
            raise ClassmoodError(f"{self.shown_as}: video has no decodable frames")

    def _go_to(self, start: int) -> int:
        """Position the decoder on frame ``start``: a seek when OpenCV reports it exact, else read-and-skip."""
        import cv2

        if not start or (self._cap.set(cv2.CAP_PROP_POS_FRAMES, start)
                         and int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == start):
            return start
        self._cap.release()
        self._cap = cv2.VideoCapture(str(self.path))
        index = 0
        while index < start and self._cap.grab():
            index += 1
        return index

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
