"""A browser-playable annotated video (H.264 in mp4 through PyAV), written atomically."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from classmood.output.atomic import AtomicWriter, partial_path


class BrowserVideoWriter(AtomicWriter):
    """H.264/yuv420p mp4 that Chromium and Firefox play; the file appears only on ``close()``."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 25.0
        self._tmp = partial_path(self.path)
        self._container = None
        self._stream = None

    def write(self, image: np.ndarray) -> None:
        import av

        if self._container is None:
            height, width = (d - d % 2 for d in image.shape[:2])
            self._container = av.open(str(self._tmp), mode="w", format="mp4")
            self._stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000))
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"preset": "veryfast", "crf": "26"}
        image = image[: self._stream.height, : self._stream.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> Path | None:
        """Finish the file and move it into place; None when no frame was written."""
        if self._container is None:
            return None
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
        self._tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._tmp.unlink(missing_ok=True)
