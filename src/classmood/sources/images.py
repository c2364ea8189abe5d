"""Photo sources: one image file, or every image in a folder (junk is skipped with a warning)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from classmood.errors import ClassmoodError
from classmood.sources.base import Source
from classmood.sources.imageio import IMAGE_EXTENSIONS, read_image
from classmood.types import Frame

log = logging.getLogger(__name__)


class ImageSource(Source):
    """A single photo, yielded as one frame at timestamp 0."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"image {self.path.name}"

    @property
    def frame_count(self) -> int:
        return 1

    def frames(self) -> Iterator[Frame]:
        yield Frame(read_image(self.path), 0, 0.0)


class FolderSource(Source):
    """Every image in a folder, sorted by name; unreadable files are warned about and skipped.

    ``paths[i]`` is the file of the frame with ``index == i``; ``skipped`` lists
    ``(path, reason)`` for files that could not be read. Raises ``ClassmoodError``
    at the end when no image at all could be read.
    """

    def __init__(self, folder: str | Path, every: int = 1, max_frames: int | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ClassmoodError(f"{self.folder}: not a folder")
        self.name = f"folder {self.folder.name}"
        files = sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))
        self.candidates = files[:: max(1, every)]
        self.max_frames = max_frames
        self.paths: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []

    @property
    def frame_count(self) -> int:
        """Files to try (readable or not), capped by ``max_frames``."""
        n = len(self.candidates)
        return n if self.max_frames is None else min(n, self.max_frames)

    def frames(self) -> Iterator[Frame]:
        self.paths.clear()
        self.skipped.clear()
        for path in self.candidates:
            if self.max_frames is not None and len(self.paths) >= self.max_frames:
                break
            try:
                image = read_image(path)
            except ClassmoodError as exc:
                reason = str(exc) if path.suffix.lower() in IMAGE_EXTENSIONS else f"{path}: not an image"
                log.warning("skipped %s", reason)
                self.skipped.append((path, reason))
                continue
            self.paths.append(path)
            yield Frame(image, len(self.paths) - 1, 0.0)
        if not self.paths:
            raise ClassmoodError(f"{self.folder}: no readable image in folder ({len(self.skipped)} files skipped)")
