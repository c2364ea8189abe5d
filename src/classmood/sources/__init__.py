"""Frame sources: photo, folder, video file, webcam, screen region, stream URL.

``open_source(spec)`` picks the right one from a string: a number is a webcam
index, ``screen[:...]`` a screen region, ``scheme://`` a stream, a folder a folder
of photos, otherwise a photo or video file by extension (or by content).
"""

from __future__ import annotations

import re
from pathlib import Path

from classmood.errors import ClassmoodError
from classmood.opencv_paths import opencv_path
from classmood.sources.base import Source
from classmood.sources.imageio import IMAGE_EXTENSIONS, read_image
from classmood.sources.images import FolderSource, ImageSource
from classmood.sources.live import StreamSource, WebcamSource
from classmood.sources.screen import ScreenRegion, ScreenSource
from classmood.sources.video import VIDEO_EXTENSIONS, VideoFileSource

__all__ = [
    "FolderSource", "ImageSource", "ScreenRegion", "ScreenSource", "Source", "StreamSource",
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "VideoFileSource", "WebcamSource", "open_source", "read_image",
    "source_kind",
]

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def source_kind(spec: str | int | Path) -> str:
    """Classify a source spec: image, folder, video, webcam, screen or stream."""
    if isinstance(spec, int) or (isinstance(spec, str) and re.fullmatch("[0-9]+", spec)):  # not "²"
        return "webcam"
    text = str(spec)
    if text == "screen" or text.startswith("screen:"):
        return "screen"
    if _URL.match(text) and not text.startswith("file://"):
        return "stream"
    path = Path(text.removeprefix("file://"))
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise ClassmoodError(f"{path}: no such file, folder, webcam index or stream")
    if not path.is_file():  # reading a pipe or a device would block or never end
        raise ClassmoodError(f"{path}: not a regular file (a pipe or a device?)")
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return _sniff(path)


def _sniff(path: Path) -> str:
    """Unknown extension: an image if Pillow recognises the header, else try it as a video."""
    from PIL import Image

    try:
        with Image.open(path):
            return "image"
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for what it cannot read
        return "video"


def open_source(spec: str | int | Path, *, every: int = 1, max_frames: int | None = None,
                max_fps: float = 15.0) -> Source:
    """Open ``spec`` as a ``Source`` (see module docstring). Raises ``ClassmoodError``."""
    kind = source_kind(spec)
    text = str(spec).removeprefix("file://")
    if kind == "webcam":
        return WebcamSource(int(spec), max_frames=max_frames)
    if kind == "screen":
        return ScreenSource(text, max_fps=max_fps, max_frames=max_frames)
    if kind == "stream":
        return StreamSource(text, max_frames=max_frames)
    if kind == "folder":
        return FolderSource(text, every=every, max_frames=max_frames)
    if kind == "image":
        return ImageSource(text)
    return VideoFileSource(opencv_path(text), every=every, max_frames=max_frames)
