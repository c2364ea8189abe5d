"""Live sources (webcam, stream URL): a grabber thread keeps only the newest frame.

A slow consumer therefore skips frames instead of falling behind the class;
``dropped`` counts the frames it never saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from classmood.errors import ClassmoodError
from classmood.opencv_paths import opencv_path
from classmood.sources.base import Source
from classmood.types import Frame


class LatestFrameGrabber:
    """Runs ``read()`` in a daemon thread, keeping only the latest image.

    ``read`` returns an image, or ``None`` when the source has ended.
    """

    def __init__(self, read: Callable[[], np.ndarray | None], name: str = "grabber") -> None:
        self._read = read
        self._cond = threading.Condition()
        self._image: np.ndarray | None = None
        self._stamp = 0.0
        self._seq = 0
        self._ended = False
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.grabbed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                image = self._read()
                if image is None:
                    break
                with self._cond:
                    self._image, self._stamp = image, time.monotonic()
                    self._seq += 1
                    self.grabbed += 1
                    self._cond.notify_all()
        except Exception as exc:  # noqa: BLE001 - handed to the consumer by next()
            self.error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def next(self, after_seq: int, timeout: float) -> tuple[int, np.ndarray, float] | None:
        """Wait for a frame newer than ``after_seq``; ``None`` when the source ended or timed out."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after_seq or self._ended, timeout=timeout)
            if self._seq > after_seq:
                return self._seq, self._image, self._stamp
            if self.error is not None:
                raise ClassmoodError(f"frame grabbing failed: {self.error}")
            return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


class CaptureSource(Source):
    """An OpenCV ``VideoCapture`` (webcam index or stream URL) read through a grabber thread."""

    live = True
    continuous = True

    def __init__(self, target: int | str, name: str, *, timeout: float = 10.0, max_frames: int | None = None) -> None:
        import cv2

        from classmood.sources.video import quiet_opencv

        quiet_opencv()
        self.name = name
        self.timeout = timeout
        self.max_frames = max_frames
        self.dropped = 0
        self._cap = cv2.VideoCapture(target if isinstance(target, int) else opencv_path(target))
        if not self._cap.isOpened():
            self._cap.release()
            raise ClassmoodError(f"cannot open {name}: no such device or stream")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise ClassmoodError(f"cannot read from {name}: it opened but gave no frame")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._fps = fps if 0 < fps < 1000 else None
        self._first = first
        self._grabber: LatestFrameGrabber | None = None

    @property
    def fps(self) -> float | None:
        return self._fps

    def _read(self) -> np.ndarray | None:
        if self._first is not None:
            image, self._first = self._first, None
            return image
        ok, image = self._cap.read()
        return image if ok else None

    def frames(self) -> Iterator[Frame]:
        self._grabber = LatestFrameGrabber(self._read, name=f"grab {self.name}")
        start = time.monotonic()
        seq = 0
        index = 0
        while self.max_frames is None or index < self.max_frames:
            got = self._grabber.next(seq, self.timeout)
            if got is None:
                break
            new_seq, image, stamp = got
            self.dropped += new_seq - seq - 1
            seq = new_seq
            if image.ndim == 2:
                import cv2

                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            yield Frame(image, index, stamp - start)
            index += 1

    def close(self) -> None:
        if self._grabber is not None:
            self._grabber.stop()
            self._grabber = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


#: OpenCV takes larger numbers as camera + capture backend, and C longs end at 2**63
MAX_WEBCAM_INDEX = 999


class WebcamSource(CaptureSource):
    """Webcam by index (0 = default camera)."""

    def __init__(self, index: int, **kwargs) -> None:
        if not 0 <= int(index) <= MAX_WEBCAM_INDEX:
            raise ClassmoodError(f"cannot open webcam {index}: camera numbers go from 0 to {MAX_WEBCAM_INDEX}")
        super().__init__(int(index), f"webcam {index}", **kwargs)


class StreamSource(CaptureSource):
    """A network stream (rtsp://, http(s)://, rtmp://, udp://) decoded by OpenCV's FFmpeg backend."""

    def __init__(self, url: str, **kwargs) -> None:
        super().__init__(url, f"stream {url}", **kwargs)
