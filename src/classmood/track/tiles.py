"""Whose camera is off: follow each student's gallery tile and notice the tiles shown without a face.

A meeting app keeps a tile for everyone in the meeting. When a student's camera goes off (or they
step out of the picture) their tile stays, with a name or an initials avatar and no face; when
they leave the meeting the tile goes. ``TileWatch`` looks at the gallery once per session second
(``find_tiles``: ~60 ms on a 1920x1080 window, ~8 ms when it only checks that the last look's tiles
are still there), remembers the tile in which each student's face was last seen, and calls a
student whose face is not in this frame *camera off* when their tile is still there, empty. A frame
that is not a gallery (a slide, one webcam) says nothing about cameras.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from classmood.track.layout import Box, GalleryLayout, find_tiles
from classmood.track.names import name_key

#: an empty tile is a student's own when it overlaps the tile their face was last seen in this much
SAME_TILE_IOU = 0.6
#: reads of an empty tile's label before giving up on it (until a face shows in it again)
LABEL_TRIES = 3
#: every this many looks the tiles are searched from scratch; in between, the last look's tiles are
#: only checked (the same background and tolerance must still cut the same tiles, else a full search)
FULL_SEARCH_EVERY = 10


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``x, y, w, h`` boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass(slots=True)
class TileWatch:
    """Once every ``every_s`` session seconds: the gallery's tiles, each student's tile, and the
    students whose tile is on screen without their face (``camera_off``). When the tiles moved (a
    re-order, someone joined or left), an empty tile that is nobody's by position is attributed by
    its name label: ``read_label(image, tile)`` reads it and ``names()`` gives the students' names."""

    every_s: float = 1.0
    read_label: Callable[[np.ndarray, Box], str | None] | None = None
    names: Callable[[], dict[int, str]] | None = None
    layout: GalleryLayout | None = None
    camera_off: frozenset[int] = frozenset()
    tiles: dict[int, tuple[Box, float]] = field(default_factory=dict)  # student -> (tile, when seen in it)
    _looked_at: float = -math.inf
    _looks: int = 0
    _label_tries: dict[Box, int] = field(default_factory=dict)

    def step(self, image: np.ndarray, faces: list[tuple[int, tuple[float, float, float, float]]], t: float) -> bool:
        """Look at the gallery of this frame (``faces``: the student id and box of each face seen
        in it, ``t``: its session time) when ``every_s`` has passed; returns whether it looked."""
        due = t >= self._looked_at + self.every_s or t < self._looked_at  # (every_s = inf: never)
        if not due:
            return False
        self._looked_at = t
        self.layout = find_tiles(image, previous=self.layout if self._looks % FULL_SEARCH_EVERY else None)
        self._looks += 1
        if not self.layout.tiles:  # not a gallery: no tile tells whose camera is off
            self.camera_off = frozenset()
            return True
        occupied = set()
        for student_id, box in faces:
            tile = self.layout.tile_of(box)
            if tile is not None:
                self.tiles[student_id] = (tile, t)
                occupied.add(tile)
        seen = {student_id for student_id, _ in faces}
        off = set()
        unattributed = []
        for empty in (tile for tile in self.layout.tiles if tile not in occupied):
            owners = [(when, student_id) for student_id, (tile, when) in self.tiles.items()
                      if student_id not in seen and box_iou(tile, empty) >= SAME_TILE_IOU]
            if owners:  # the student seen there last (a tile may have changed hands in a re-order)
                off.add(max(owners)[1])
            else:
                unattributed.append(empty)
        self._label_tries = {tile: n for tile, n in self._label_tries.items() if tile not in occupied}
        for empty in unattributed:
            student_id = self._owner_by_label(image, empty, seen | off)
            if student_id is not None:
                off.add(student_id)
                self.tiles[student_id] = (empty, t)
        self.camera_off = frozenset(off)
        return True

    def _owner_by_label(self, image: np.ndarray, tile: Box, taken: set[int]) -> int | None:
        """The student, not seen now, whose name an empty tile's label shows (a few tries per tile)."""
        if self.read_label is None or self.names is None or self._label_tries.get(tile, 0) >= LABEL_TRIES:
            return None
        self._label_tries[tile] = self._label_tries.get(tile, 0) + 1
        text = self.read_label(image, tile)
        if not text:
            return None
        key = name_key(text)
        matches = [student_id for student_id, name in self.names().items()
                   if student_id not in taken and student_id in self.tiles and name_key(name) == key]
        return matches[0] if len(matches) == 1 else None

    def merge(self, from_id: int, into_id: int) -> None:
        """``from_id`` is ``into_id``: the newer one's tile is theirs."""
        if from_id in self.tiles:
            self.tiles[into_id] = self.tiles.pop(from_id)
        self.camera_off = self.camera_off - {from_id}

    def forget(self, student_id: int) -> None:
        self.tiles.pop(student_id, None)
        self.camera_off = self.camera_off - {student_id}
