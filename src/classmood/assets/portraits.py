"""The real, redistributable portraits classmood ships, each with its true face box."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from classmood.assets import ASSETS_DIR

PORTRAITS_MANIFEST = ASSETS_DIR / "portraits.json"

Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Portrait:
    """One photo of one real person: BGR uint8 image and the face box ``(x, y, w, h)`` in it.

    ``person`` names who is shown; two portraits of the same person share it.
    """

    portrait_id: str
    person: str
    image: np.ndarray
    face_box: Box
    licence: str
    #: The image halved again and again (``cv2.pyrDown``), so any downscale stays sharp and cheap.
    levels: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)
    #: Pictures made from the image once and reused (the gallery's blurred backdrops), by the caller's key.
    derived: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = [self.image]
        while min(levels[-1].shape[:2]) >= 64:
            levels.append(cv2.pyrDown(levels[-1]))
        object.__setattr__(self, "levels", tuple(levels))
        object.__setattr__(self, "derived", {})


@cache
def load_portraits() -> tuple[Portrait, ...]:
    """All shipped portraits, in manifest order (read once, then cached; do not modify the images)."""
    entries = json.loads(PORTRAITS_MANIFEST.read_text(encoding="utf-8"))["portraits"]
    portraits = []
    for entry in entries:
        path = ASSETS_DIR / entry["file"]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"portrait image missing or unreadable: {path}")
        image.setflags(write=False)
        portraits.append(Portrait(entry["id"], entry["person"], image, tuple(int(v) for v in entry["face_box"]), entry["licence"]))
    return tuple(portraits)


def load_face_images(folder: Path, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` distinct face images (``*.jpg``, BGR) picked at random under ``folder``: faces the
    caller supplies, such as FER-2013 read in place (nothing of it is shipped)."""
    files = sorted(Path(folder).rglob("*.jpg"))
    if len(files) < count:
        raise ValueError(f"need {count} face images under {folder}, found {len(files)}")
    picks = np.random.default_rng(seed).choice(len(files), size=count, replace=False)
    return [cv2.imread(str(files[i]), cv2.IMREAD_COLOR) for i in picks]


def portraits_from_faces(images: list[np.ndarray], licence: str = "supplied by the caller") -> list[Portrait]:
    """Face crops (the whole image is the face, as in FER-2013) as portraits, ``face01``, ``face02``..."""
    portraits = []
    for i, image in enumerate(images, 1):
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        height, width = image.shape[:2]
        portraits.append(Portrait(f"face{i:02d}", f"face{i:02d}", image, (0, 0, width, height), licence))
    return portraits
