"""Annotated media writers: a still image, or an mp4 video built frame by frame."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import cv2
import numpy as np

from classmood.errors import ClassmoodError
from classmood.opencv_paths import opencv_path
from classmood.output.atomic import AtomicWriter, atomic_path, naming, partial_path


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Encode ``image`` (BGR) by the path's extension and write it atomically."""
    path = Path(path)
    ok, data = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise ClassmoodError(f"{path}: cannot encode image as {path.suffix}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())
    return path


class VideoWriter(AtomicWriter):
    """mp4 (MPEG-4 Part 2, ``mp4v``) writer; the file appears only after ``close()`` succeeds.

    The frame size is taken from the first frame; later frames of another size are resized.
    Frames are encoded in a background thread (OpenCV releases the GIL: the encoding, ~3.5 ms a
    960x540 frame, overlaps the next frame's analysis), a few frames queued at most; a written
    image must not be changed afterwards. Use as a context manager: on an exception the partial
    file is deleted.
    """

    QUEUED = 4  # frames waiting for the encoder before ``write`` waits

    def __init__(self, path: str | Path, fps: float, fourcc: str = "mp4v") -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.fourcc = fourcc
        self.frames = 0
        self._tmp = partial_path(self.path)
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._last: np.ndarray | None = None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=self.QUEUED)
        self._encoder: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = image.shape[:2]
            self._size = (width - width % 2, height - height % 2)  # codecs want even sizes
            self._writer = cv2.VideoWriter(opencv_path(self._tmp), cv2.VideoWriter_fourcc(*self.fourcc), self.fps,
                                           self._size)
            if not self._writer.isOpened():
                self._writer = None
                raise ClassmoodError(f"{self.path}: cannot open a {self.fourcc} video writer")
            self._encoder = threading.Thread(target=self._encode, args=(self._writer,), name="classmood-video",
                                             daemon=True)
            self._encoder.start()
        if self._error is not None:
            raise self._error
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size)
        self._queue.put(image)
        self.frames += 1

    def _encode(self, writer: cv2.VideoWriter) -> None:
        """The encoder thread: writes queued frames until ``None``; an error is kept for the caller."""
        while (image := self._queue.get()) is not None:
            if self._error is None:
                try:
                    writer.write(image)
                except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
                    self._error = error

    def _stop_encoder(self) -> None:
        if self._encoder is not None:
            self._queue.put(None)
            self._encoder.join()
            self._encoder = None

    def write_at(self, image: np.ndarray, timestamp: float) -> None:
        """Write ``image`` as the frame shown at ``timestamp`` seconds, repeating the previous
        frame over any gap, so a live source whose frames were dropped plays at real speed."""
        target = int(round(timestamp * self.fps))
        while self._last is not None and self.frames < target:
            self.write(self._last)
        self.write(image)
        self._last = image

    def finish(self) -> None:
        """Complete the temp file and check it holds every frame: OpenCV's writer ignores write
        errors, so a full disk would otherwise give a short, unplayable video under the final name."""
        if self._writer is None:
            return
        self._stop_encoder()
        self._writer.release()
        self._writer = None
        if self._error is not None:
            self.abort()
            raise ClassmoodError(f"{self.path}: the video could not be written ({self._error})")
        check = cv2.VideoCapture(opencv_path(self._tmp))
        try:
            complete = check.isOpened() and int(check.get(cv2.CAP_PROP_FRAME_COUNT)) == self.frames
        finally:
            check.release()
        if not complete:
            self.abort()
            raise ClassmoodError(f"{self.path}: the video could not be written completely (is the disk full?)")

    def commit(self) -> Path | None:
        """Move the finished file into place; ``None`` when no frame was written."""
        if not self.frames or not self._tmp.exists():
            return None
        with naming(self.path, self._tmp):
            self._tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file."""
        self._stop_encoder()
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._tmp.unlink(missing_ok=True)
