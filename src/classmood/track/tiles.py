"""Whose camera is off: follow each student's gallery tile and notice the tiles shown without a face.

A meeting app keeps a tile for everyone in the meeting. When a student's camera goes off (or they
step out of the picture) their tile stays, with a name or an initials avatar and no face; when
they leave the meeting the tile goes. ``TileWatch`` looks at the gallery once per session second
(``find_tiles``: ~60 ms on a 1920x1080 window, ~8 ms when it only checks that the last look's tiles
are still there), remembers the tile in which each student's face was last seen, and calls a
student whose face is not in this frame *camera off* when their tile is still there, empty. A frame
that is not a gallery (a slide, one webcam) says nothing about cameras.

A camera-off tile is drawn, not filmed: one flat colour with an initials disc or a name. A face the
detector finds in such a tile (an initials disc can pass for one) is no student's face
(``drawn_faces``). When the tiles move, an empty tile is known as a student's by its name label or,
without a name, by looking as their tile looked when it was last empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from classmood.geometry import box_iou
from classmood.track.layout import Box, GalleryLayout, find_tiles, still_there
from classmood.track.names import name_key

#: an empty tile is a student's own when it overlaps the tile their face was last seen in this much
SAME_TILE_IOU = 0.6
#: reads of an empty tile's label before giving up on it (until a face shows in it again)
LABEL_TRIES = 3
#: every this many looks the tiles are searched from scratch; in between, the last look's tiles are
#: only checked (the same background and tolerance must still cut the same tiles, else a full search)
FULL_SEARCH_EVERY = 30
#: a tile is drawn (camera off) when this share of its picture lies within ``DRAWN_TOLERANCE`` of one
#: colour: rendered camera-off tiles measure 0.88-0.90, filmed ones at most 0.78 (a face on a plain wall)
DRAWN_SHARE = 0.85
DRAWN_TOLERANCE = 6
#: faces scoring at least this are not checked for a drawn tile (see ``TileWatch.drawn_faces``)
DRAWN_CHECK_BELOW = 0.8
#: an empty tile looks like a student's last empty tile when their small grey pictures correlate this well
SAME_LOOK = 0.9
LOOK_SIZE = (64, 36)


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
    _looks_off: dict[int, np.ndarray] = field(default_factory=dict)  # student -> their empty tile, small, grey

    def drawn_faces(self, image: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Which face ``boxes`` lie in a drawn tile of the last layout (see ``drawn``). Only faces the
        detector is unsure of (``scores`` below ``DRAWN_CHECK_BELOW``) are checked: a disc of initials
        scores ~0.6, real faces mostly 0.85 and more, and each check costs a look at the tile."""
        out = np.zeros(len(boxes), bool)
        if self.layout is None or not self.layout.tiles:
            return out
        verdicts: dict[Box, bool] = {}
        for i in np.flatnonzero(np.asarray(scores) < DRAWN_CHECK_BELOW).tolist():
            tile = self.layout.tile_of(tuple(boxes[i]))
            if tile is not None:
                if tile not in verdicts:
                    verdicts[tile] = drawn(image, tile)
                out[i] = verdicts[tile]
        return out

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
                _, owner = max(owners)
                off.add(owner)
                self._looks_off[owner] = _look(image, empty)
            else:
                unattributed.append(empty)
        self._label_tries = {tile: n for tile, n in self._label_tries.items()  # a face showed: try again later
                             if not any(box_iou(tile, seen_tile) >= SAME_TILE_IOU for seen_tile in occupied)}
        for empty in unattributed:
            look = _look(image, empty)
            student_id = self._owner_by_look(look, seen | off)
            if student_id is None:
                student_id = self._owner_by_label(image, empty, seen | off)
            if student_id is not None:
                off.add(student_id)
                self.tiles[student_id] = (empty, t)
                self._looks_off[student_id] = look
        self._looks_off = {s: look for s, look in self._looks_off.items() if s not in seen}
        self.camera_off = frozenset(off)
        return True

    def owner_of(self, image: np.ndarray, box: tuple[float, float, float, float], seen: set[int]) -> int | None:
        """The student whose camera was off at the last look in the tile that holds ``box`` in ``image``
        (one only, none of ``seen``), while the gallery is still as it was then: a face showing in that
        tile is most likely theirs, back on camera (after a re-flow it may be anyone's)."""
        tile = self.layout.tile_of(box) if self.layout is not None else None
        if tile is None:
            return None
        owners = [student_id for student_id in self.camera_off
                  if student_id not in seen and student_id in self.tiles
                  and box_iou(self.tiles[student_id][0], tile) >= SAME_TILE_IOU]
        if len(owners) != 1 or still_there(image, self.layout) is None:
            return None
        return owners[0]

    def _owner_by_look(self, look: np.ndarray, taken: set[int]) -> int | None:
        """The student, not seen now, whose last empty tile this one looks like (one clear best)."""
        scores = sorted(((_correlation(look, theirs), student_id) for student_id, theirs in self._looks_off.items()
                         if student_id not in taken and student_id in self.tiles), reverse=True)
        if scores and scores[0][0] >= SAME_LOOK and (len(scores) == 1 or scores[1][0] < SAME_LOOK):
            return scores[0][1]
        return None

    def _owner_by_label(self, image: np.ndarray, tile: Box, taken: set[int]) -> int | None:
        """The student, not seen now, whose name an empty tile's label shows (a few tries per tile)."""
        if self.read_label is None or self.names is None:
            return None
        # tries are counted per place in the grid: a compressed video's tile edges move by a pixel between looks
        tile_tried = next((tried for tried in self._label_tries if box_iou(tried, tile) >= SAME_TILE_IOU), tile)
        if self._label_tries.get(tile_tried, 0) >= LABEL_TRIES:
            return None
        self._label_tries[tile_tried] = self._label_tries.get(tile_tried, 0) + 1
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
        self._looks_off.pop(from_id, None)
        self.camera_off = self.camera_off - {from_id}

    def forget(self, student_id: int) -> None:
        self.tiles.pop(student_id, None)
        self._looks_off.pop(student_id, None)
        self.camera_off = self.camera_off - {student_id}


def drawn(image: np.ndarray, tile: Box) -> bool:
    """Whether a tile is drawn by the meeting app (camera off: a flat colour with an initials disc or a
    name), not filmed: ``DRAWN_SHARE`` of its picture above the name label is one colour."""
    x, y, w, h = tile
    picture = image[max(y, 0):y + int(h * 0.8):4, max(x, 0):x + w:4].reshape(-1, image.shape[2]).astype(np.int16)
    if not len(picture):
        return False
    flat = np.median(picture, axis=0)  # a drawn tile's own colour: most of its pixels
    return float((np.abs(picture - flat).max(axis=1) <= DRAWN_TOLERANCE).mean()) >= DRAWN_SHARE


def _look(image: np.ndarray, tile: Box) -> np.ndarray:
    """A tile as a small grey picture, to compare with others of any size."""
    x, y, w, h = tile
    grey = cv2.cvtColor(image[max(y, 0):y + h, max(x, 0):x + w], cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, LOOK_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two pictures of one size (-1..1; 0 when one is flat)."""
    if float(a.std()) == 0.0 or float(b.std()) == 0.0:
        return 0.0
    return float(cv2.matchTemplate(a, b, cv2.TM_CCOEFF_NORMED)[0, 0])
