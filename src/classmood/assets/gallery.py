"""Compose a video meeting's gallery view from real portraits, with true face boxes and identities.

A gallery is a centred grid of 16:9 webcam tiles on a dark frame (last row centred, as meeting
apps draw it), each tile one participant: a portrait framed, mirrored, lit and gently swaying
like a webcam picture, an optional name label, or a "camera off" placeholder. Every frame
comes with the exact box of each visible face, so detection, tracking (tiles re-order,
students leave and return) and benchmarks at 1/9/25/49 faces can be checked against truth.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from classmood.assets.labels import draw_text
from classmood.assets.portraits import Box, Portrait, load_portraits

TILE_ASPECT = 16 / 9
GALLERY_BACKGROUND = (26, 26, 26)
CAMERA_OFF_FILL = (48, 48, 48)
CAMERA_OFF_AVATAR = (110, 90, 70)
#: A face cut by the tile edge to less than this share of its area is not counted as a true face.
MIN_VISIBLE_SHARE = 0.6
#: The largest face height, as a share of the tile height, that zooming in to fill a tile may reach.
MAX_FACE_HEIGHT = 0.7


@dataclass(frozen=True, slots=True)
class Look:
    """How one webcam shows its portrait: framing, mirror, lighting, colour and gentle motion.

    ``face_height`` and ``offset`` are fractions of the tile; ``sway`` is the motion amplitude
    as a fraction of the tile width (0 = still).
    """

    face_height: float = 0.42
    offset: tuple[float, float] = (0.0, 0.0)
    mirror: bool = False
    gain: float = 1.0
    bias: float = 0.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gray: bool = False
    sway: float = 0.03
    sway_hz: float = 0.25
    phase: float = 0.0


@dataclass(frozen=True, slots=True)
class Participant:
    """One student in the meeting: a stable id, the real portrait shown, its look, a name label.

    ``camera_on=False`` shows the meeting app's placeholder; ``away=True`` an empty room (no face).
    """

    student_id: str
    portrait: Portrait
    look: Look = field(default_factory=Look)
    label: str | None = None
    camera_on: bool = True
    away: bool = False  # camera on, nobody in front of it


@dataclass(frozen=True, slots=True)
class TrueFace:
    """A face known to be in a gallery frame: which student, which real person, which tile, its box in frame pixels."""

    student_id: str
    portrait_id: str
    person: str
    tile: int
    box: Box

    def to_dict(self) -> dict:
        return {"student_id": self.student_id, "portrait_id": self.portrait_id, "person": self.person,
                "tile": self.tile, "box": list(self.box)}


@dataclass(frozen=True, slots=True)
class GalleryFrame:
    """One composed gallery picture (BGR uint8), its true faces and its tile rectangles."""

    image: np.ndarray
    faces: tuple[TrueFace, ...]
    tiles: tuple[Box, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """Something one student does from ``start`` to ``end`` seconds.

    ``kind``: ``camera_off`` (the app's placeholder), ``away`` (camera on, nobody there) or ``left``
    (the tile is gone; on return it comes back last, as meeting apps add a rejoining participant).
    """

    student_id: str
    kind: str
    start: float
    end: float = math.inf

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; choose from {', '.join(EVENT_KINDS)}")
        if not self.end > self.start:
            raise ValueError(f"event of {self.student_id} ends ({self.end}) before it starts ({self.start})")


@dataclass(frozen=True, slots=True)
class Reorder:
    """From ``at`` seconds on, the named students take the first tiles in this order; the rest follow as before."""

    at: float
    order: tuple[str, ...]


EVENT_KINDS = ("camera_off", "away", "left")


def roster_at(people: Sequence[Participant], t: float, events: Sequence[Event] = (),
              reorders: Sequence[Reorder] = ()) -> list[Participant]:
    """The gallery's participants at time ``t``, in tile order, after the events and re-orders so far."""
    order = [p.student_id for p in people]
    changes = [(r.at, 0, r) for r in reorders if r.at <= t]
    changes += [(e.end, 1, e) for e in events if e.kind == "left" and e.end <= t]
    for _, _, change in sorted(changes, key=lambda c: (c[0], c[1])):
        if isinstance(change, Reorder):
            named = [sid for sid in change.order if sid in order]
            order = named + [sid for sid in order if sid not in named]
        else:
            order.remove(change.student_id)
            order.append(change.student_id)
    by_id = {p.student_id: p for p in people}
    roster = []
    for sid in order:
        now = {e.kind for e in events if e.student_id == sid and e.start <= t < e.end}
        if "left" in now:
            continue
        person = by_id[sid]
        if now:
            person = replace(person, camera_on="camera_off" not in now, away="away" in now)
        roster.append(person)
    return roster


def gallery_layout(n_tiles: int, width: int, height: int, gap: int = 6) -> list[Box]:
    """Tile rectangles ``(x, y, w, h)`` of the largest centred 16:9 grid for ``n_tiles``.

    Columns are chosen to maximise the tile size (as meeting apps do); a last row that is not
    full is centred.
    """
    if n_tiles < 1:
        raise ValueError("a gallery needs at least one tile")
    if width < 16 or height < 9:
        raise ValueError(f"gallery frame {width}x{height} is too small")
    best = None
    for cols in range(1, n_tiles + 1):
        rows = math.ceil(n_tiles / cols)
        tile_w = min((width - gap * (cols + 1)) / cols, (height - gap * (rows + 1)) / rows * TILE_ASPECT)
        if best is None or tile_w > best[0]:
            best = (tile_w, cols, rows)
    tile_w, cols, rows = best
    tw, th = int(tile_w), int(tile_w / TILE_ASPECT)
    if tw < 16 or th < 9:
        raise ValueError(f"{n_tiles} tiles do not fit in {width}x{height}")
    y0 = (height - (rows * th + (rows - 1) * gap)) // 2
    rects = []
    for row in range(rows):
        in_row = min(cols, n_tiles - row * cols)
        x0 = (width - (in_row * tw + (in_row - 1) * gap)) // 2
        rects.extend((x0 + c * (tw + gap), y0 + row * (th + gap), tw, th) for c in range(in_row))
    return rects


def _motion(look: Look, t: float) -> tuple[float, float, float]:
    """Horizontal and vertical shift (fractions of the tile) and zoom factor at time ``t``."""
    w = 2 * math.pi * look.sway_hz * t + look.phase
    return look.sway * math.sin(w), 0.5 * look.sway * math.sin(0.7 * w + 1.3), 1 + 0.5 * look.sway * math.sin(0.5 * w)


def render_tile(participant: Participant, width: int, height: int, t: float = 0.0) -> tuple[np.ndarray, Box | None]:
    """One webcam tile at time ``t`` (seconds) and the face box inside it (None when not visible)."""
    if not participant.camera_on:
        return camera_off_tile(participant.label or participant.student_id, width, height).copy(), None
    look, portrait = participant.look, participant.portrait
    if participant.away:
        return _relight(_backdrop(portrait, width, height, dim=1.0), look), None
    full_h, full_w = portrait.image.shape[:2]
    x, y, w, h = portrait.face_box
    if look.mirror:
        x = full_w - x - w
    dx, dy, zoom = _motion(look, t)
    scale = look.face_height * zoom * height / h
    # A webcam picture fills its tile: zoom in until the photo covers it, unless the face would get too big.
    cover = max(width / full_w, height / full_h)
    if cover > scale:
        scale = min(cover, MAX_FACE_HEIGHT * zoom * height / h)
    shift_x = _keep_covered(width * (0.5 + look.offset[0] + dx) - scale * (x + w / 2), scale * full_w, width)
    shift_y = _keep_covered(height * (0.46 + look.offset[1] + dy) - scale * (y + h / 2), scale * full_h, height)
    tile = _place_photo(portrait, look.mirror, scale, shift_x, shift_y, width, height)
    return _relight(tile, look), _visible_box((shift_x + scale * x, shift_y + scale * y, scale * w, scale * h),
                                              width, height)


def _place_photo(portrait: Portrait, mirror: bool, scale: float, shift_x: float, shift_y: float,
                 width: int, height: int) -> np.ndarray:
    """The photo scaled and shifted into a tile in one warp, from the pyramid level nearest above ``scale``.

    Where the photo does not reach, a blurred backdrop shows.
    """
    level = 0
    while level + 1 < len(portrait.levels) and scale * 2 ** (level + 1) <= 1.0:
        level += 1
    source = portrait.levels[level]
    ratio = scale * 2 ** level
    if mirror:
        matrix = np.float32([[-ratio, 0, shift_x + ratio * (source.shape[1] - 1)], [0, ratio, shift_y]])
    else:
        matrix = np.float32([[ratio, 0, shift_x], [0, ratio, shift_y]])
    covered = (shift_x <= 0.5 and shift_y <= 0.5 and shift_x + scale * portrait.image.shape[1] >= width - 0.5
               and shift_y + scale * portrait.image.shape[0] >= height - 0.5)
    if covered:
        return cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    tile = _backdrop(portrait, width, height)
    cv2.warpAffine(source, matrix, (width, height), dst=tile, flags=cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_TRANSPARENT)
    return tile


def _keep_covered(shift: float, scaled_size: float, tile_size: int) -> float:
    """Limit a shift so a photo at least as big as the tile leaves no gap at its edges."""
    if scaled_size < tile_size:
        return shift
    return min(0.0, max(tile_size - scaled_size, shift))


def _backdrop(portrait: Portrait, width: int, height: int, dim: float = 0.6) -> np.ndarray:
    """The photo stretched over the tile, blurred beyond recognition (no detectable face) and dimmed
    (made once per tile size and kept with the portrait; a copy is returned)."""
    key = ("backdrop", width, height, dim)
    if key not in portrait.derived:
        if len(portrait.derived) >= 32:  # tile sizes of a few layouts; forget the rest
            portrait.derived.clear()
        small = cv2.resize(portrait.image, (max(2, width // 16), max(2, height // 16)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 1.5)
        portrait.derived[key] = cv2.convertScaleAbs(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR),
                                                    alpha=dim)
    return portrait.derived[key].copy()


def _relight(tile: np.ndarray, look: Look) -> np.ndarray:
    """Apply the look's gain, bias, colour tint and optional grayscale (a different webcam)."""
    if look.gray:
        tile = cv2.cvtColor(cv2.cvtColor(tile, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if look.gain == 1.0 and look.bias == 0.0 and look.tint == (1.0, 1.0, 1.0):
        return np.ascontiguousarray(tile)
    gains = np.float32(look.tint) * look.gain
    matrix = np.zeros((3, 4), np.float32)
    matrix[[0, 1, 2], [0, 1, 2]] = gains
    matrix[:, 3] = look.bias
    return cv2.transform(tile, matrix)  # saturates to 0..255


def _visible_box(box: tuple[float, float, float, float], width: int, height: int) -> Box | None:
    """Clip a face box to the tile; None when too little of the face remains in view."""
    x, y, w, h = box
    x1, y1, x2, y2 = max(x, 0.0), max(y, 0.0), min(x + w, width), min(y + h, height)
    if x2 <= x1 or y2 <= y1 or (x2 - x1) * (y2 - y1) < MIN_VISIBLE_SHARE * w * h:
        return None
    return int(round(x1)), int(round(y1)), int(round(x2 - x1)), int(round(y2 - y1))


@lru_cache(maxsize=256)
def camera_off_tile(name: str, width: int, height: int, fill: tuple[int, int, int] = CAMERA_OFF_FILL,
                    avatar: tuple[int, int, int] = CAMERA_OFF_AVATAR) -> np.ndarray:
    """A meeting app's placeholder for a participant whose camera is off: the name's initials on a
    disc, on a flat fill (read-only: copy it to draw on it)."""
    tile = np.full((height, width, 3), fill, np.uint8)
    radius = max(6, height // 5)
    centre = (width // 2, height // 2)
    cv2.circle(tile, centre, radius, avatar, -1, cv2.LINE_AA)
    draw_text(tile, centre, initials(name), max(8, int(radius * 0.9)), (250, 250, 250), bold=True, anchor="mm")
    tile.setflags(write=False)
    return tile


def initials(name: str) -> str:
    """Up to two initials of a name, in any script, as meeting apps show on a camera-off tile."""
    words = [word for word in name.split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


def _draw_label(frame: np.ndarray, tile: Box, text: str) -> None:
    """A name label in the tile's bottom-left corner, white on a dark box, as meeting apps show."""
    x, y, w, h = tile
    scale = max(0.3, h / 400)
    thickness = 1
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(2, h // 60)
    left, bottom = x + pad, y + h - pad
    cv2.rectangle(frame, (left, bottom - th - base - 2 * pad), (min(x + w - 1, left + tw + 2 * pad), bottom), (20, 20, 20), -1)
    cv2.putText(frame, text, (left + pad, bottom - base - pad), cv2.FONT_HERSHEY_SIMPLEX, scale, (240, 240, 240),
                thickness, cv2.LINE_AA)


def compose_gallery(participants: Sequence[Participant], width: int, height: int, t: float = 0.0,
                    labels: bool = True, gap: int = 6) -> GalleryFrame:
    """The gallery frame at time ``t`` with one tile per participant, in the order given."""
    tiles = gallery_layout(len(participants), width, height, gap)
    frame = np.full((height, width, 3), GALLERY_BACKGROUND, np.uint8)
    faces = []
    for index, (participant, (tx, ty, tw, th)) in enumerate(zip(participants, tiles)):
        picture, box = render_tile(participant, tw, th, t)
        frame[ty:ty + th, tx:tx + tw] = picture
        if labels and participant.label:
            _draw_label(frame, (tx, ty, tw, th), participant.label)
        if box is not None:
            bx, by, bw, bh = box
            portrait = participant.portrait
            faces.append(TrueFace(participant.student_id, portrait.portrait_id, portrait.person, index,
                                  (tx + bx, ty + by, bw, bh)))
    return GalleryFrame(frame, tuple(faces), tuple(tiles))


def varied_participants(count: int, seed: int = 0, portraits: Sequence[Portrait] | None = None) -> list[Participant]:
    """``count`` participants cycling through the real portraits, each with its own random look.

    Ids are ``S01``, ``S02``... and labels ``Student 01``...; the same seed gives the same class.
    """
    portraits = list(portraits or load_portraits())
    if not portraits:
        raise ValueError("no portraits to build participants from")
    rng = np.random.default_rng(seed)
    people = []
    for i in range(count):
        look = Look(
            face_height=float(rng.uniform(0.38, 0.5)),
            offset=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.04, 0.04))),
            mirror=bool(rng.random() < 0.5),
            gain=float(rng.uniform(0.8, 1.15)),
            bias=float(rng.uniform(-12, 12)),
            tint=tuple(float(v) for v in rng.uniform(0.9, 1.1, size=3)),
            gray=bool(rng.random() < 0.15),
            sway=float(rng.uniform(0.015, 0.04)),
            sway_hz=float(rng.uniform(0.15, 0.35)),
            phase=float(rng.uniform(0, 2 * math.pi)),
        )
        people.append(Participant(f"S{i + 1:02d}", portraits[i % len(portraits)], look, f"Student {i + 1:02d}"))
    return people


def write_gallery_video(path: Path, frames: Iterable[GalleryFrame], fps: float) -> list[list[TrueFace]]:
    """Encode gallery frames as an MP4 (mp4v) and return each frame's true faces.

    Written to a temporary file first and renamed, so a failed run leaves no half video.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer = None
    truths: list[list[TrueFace]] = []
    try:
        for frame in frames:
            if writer is None:
                h, w = frame.image.shape[:2]
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                if not writer.isOpened():
                    raise OSError(f"cannot open a video writer for {path}")
            writer.write(frame.image)
            truths.append(list(frame.faces))
        if writer is None:
            raise ValueError("no frames to write")
        writer.release()
        writer = None
        tmp.replace(path)
    finally:
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)
    return truths
