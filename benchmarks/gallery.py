"""Synthetic meeting frames built from real FER-2013 faces, with face boxes known by construction.

A video meeting's gallery view is a grid of 16:9 tiles on a dark frame, one webcam
picture per tile. We paste one real face crop per tile (on a smooth, random "room"
background, edges feathered so the crop's border is not a hard square) at the size a
webcam face has in such a tile. One face per frame is a plain 640x480 webcam frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Meeting layouts measured: faces per frame -> frame size (width, height).
LAYOUTS: dict[int, tuple[int, int]] = {1: (640, 480), 9: (1920, 1080), 25: (1920, 1080), 49: (1920, 1080)}

TILE_ASPECT = 16 / 9
TILE_GAP = 6
MEETING_BACKGROUND = (30, 30, 30)


@dataclass(frozen=True, slots=True)
class SceneFrame:
    """One BGR frame with the true face boxes (x, y, w, h) and emotion labels of its faces."""

    image: np.ndarray
    boxes: np.ndarray  # float32 (N, 4)
    labels: np.ndarray  # int64 (N,)


def grid_shape(n: int) -> tuple[int, int]:
    """Columns and rows of a gallery grid for ``n`` tiles (as square as possible, columns first)."""
    if n < 1:
        raise ValueError("a gallery needs at least one tile")
    cols = math.ceil(math.sqrt(n))
    return cols, math.ceil(n / cols)


def tile_rects(n: int, width: int, height: int, gap: int = TILE_GAP) -> list[tuple[int, int, int, int]]:
    """Tile rectangles (x, y, w, h) of a centred 16:9 gallery grid of ``n`` tiles."""
    cols, rows = grid_shape(n)
    tile_w = min((width - gap * (cols + 1)) / cols, ((height - gap * (rows + 1)) / rows) * TILE_ASPECT)
    tile_h = tile_w / TILE_ASPECT
    tile_w, tile_h = int(tile_w), int(tile_h)
    x0 = (width - (cols * tile_w + (cols - 1) * gap)) // 2
    y0 = (height - (rows * tile_h + (rows - 1) * gap)) // 2
    rects = []
    for i in range(n):
        r, c = divmod(i, cols)
        rects.append((x0 + c * (tile_w + gap), y0 + r * (tile_h + gap), tile_w, tile_h))
    return rects


def room_background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random colour background (a blurry room behind a webcam user), BGR uint8."""
    base = rng.uniform(60, 180) + rng.uniform(-20, 20, size=3)  # a muted wall colour
    coarse = (base + rng.uniform(-35, 35, size=(4, 6, 1))).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 4, size=(height, width, 3)).astype(np.float32)
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def paste_face(canvas: np.ndarray, face_gray: np.ndarray, x: int, y: int, size: int) -> None:
    """Paste a gray face crop scaled to ``size`` px at (x, y), with feathered edges, in place."""
    face = cv2.resize(face_gray, (size, size), interpolation=cv2.INTER_CUBIC)
    face_bgr = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR).astype(np.float32)
    ramp = max(2, size // 12)
    edge = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32)
    line = np.clip(edge / ramp, 0, 1)
    alpha = np.outer(line, line)[..., None]
    region = canvas[y:y + size, x:x + size].astype(np.float32)
    canvas[y:y + size, x:x + size] = (alpha * face_bgr + (1 - alpha) * region).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class _Webcam:
    """One participant's webcam picture: a fixed room, a face, where it sits and how it sways."""

    room: np.ndarray
    face: np.ndarray
    x: int
    y: int
    size: int
    sway: tuple[float, float]  # amplitude in px (x, y)
    phase: float

    def render(self, t: float, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """The picture at time ``t`` seconds (face swaying, fresh sensor noise) and its face box."""
        height, width = self.room.shape[:2]
        angle = 2 * math.pi * SWAY_HZ * t + self.phase
        x = int(round(min(max(self.x + self.sway[0] * math.sin(angle), 0), width - self.size)))
        y = int(round(min(max(self.y + self.sway[1] * math.sin(2 * angle), 0), height - self.size)))
        picture = self.room.copy()
        paste_face(picture, self.face, x, y, self.size)
        if t > 0:
            noise = rng.normal(0, SENSOR_NOISE, size=picture.shape)
            picture = np.clip(picture + noise, 0, 255).astype(np.uint8)
        return picture, (x, y, self.size, self.size)


SWAY_HZ = 0.25
SENSOR_NOISE = 2.0
CLIP_FPS = 15.0


def _webcam(face_gray: np.ndarray, width: int, height: int, rng: np.random.Generator,
            face_fraction: tuple[float, float] = (0.45, 0.6)) -> _Webcam:
    """A face of ``face_fraction`` of the picture height on a room background, gently swaying."""
    size = max(8, min(int(height * rng.uniform(*face_fraction)), width, height))
    x = int((width - size) / 2 + rng.uniform(-0.1, 0.1) * width)
    y = int((height - size) * rng.uniform(0.3, 0.5))
    x = min(max(x, 0), width - size)
    y = min(max(y, 0), height - size)
    return _Webcam(room_background(width, height, rng), face_gray, x, y, size,
                   (0.02 * width, 0.01 * height), float(rng.uniform(0, 2 * math.pi)))


def webcam_tile(face_gray: np.ndarray, width: int, height: int,
                rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """One still webcam picture (a face about half the picture high) and its face box."""
    return _webcam(face_gray, width, height, rng).render(0.0, rng)


def build_clip(faces: np.ndarray, labels: np.ndarray, n_frames: int, rng: np.random.Generator,
               size: tuple[int, int] | None = None, fps: float = CLIP_FPS) -> list[SceneFrame]:
    """``n_frames`` consecutive frames of one meeting (faces sway, sensor noise changes).

    One face gives a plain webcam frame; more give a gallery with one face per tile.
    """
    n = len(faces)
    width, height = size or LAYOUTS.get(n, (1920, 1080))
    labels = np.asarray(labels, np.int64)
    if n == 1:
        cams, tiles = [_webcam(faces[0], width, height, rng)], [(0, 0, width, height)]
    else:
        tiles = tile_rects(n, width, height)
        cams = [_webcam(face, tw, th, rng) for face, (_, _, tw, th) in zip(faces, tiles)]
    clip = []
    for i in range(n_frames):
        image = np.full((height, width, 3), MEETING_BACKGROUND, np.uint8)
        boxes = []
        for cam, (tx, ty, tw, th) in zip(cams, tiles):
            picture, (fx, fy, fw, fh) = cam.render(i / fps, rng)
            image[ty:ty + th, tx:tx + tw] = picture
            boxes.append((tx + fx, ty + fy, fw, fh))
        clip.append(SceneFrame(image, np.array(boxes, np.float32), labels))
    return clip


def build_frame(faces: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                size: tuple[int, int] | None = None) -> SceneFrame:
    """One meeting frame with one face per tile (a plain webcam frame for one face)."""
    return build_clip(faces, labels, 1, rng, size)[0]


def build_scene(faces: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                size: tuple[int, int] = (1280, 720), face_px: tuple[int, int] = (36, 160)) -> SceneFrame:
    """A 'group photo': faces of random sizes at random non-overlapping places on one background.

    Used as the detection set when no annotated photos are available; faces that do not fit
    after a few tries are left out, so the returned labels may be fewer than given.
    """
    width, height = size
    image = room_background(width, height, rng)
    placed: list[tuple[int, int, int, int]] = []
    kept: list[int] = []
    for i, face in enumerate(faces):
        for _ in range(50):
            s = int(rng.uniform(*face_px))
            x, y = int(rng.integers(0, width - s)), int(rng.integers(0, height - s))
            if all(_gap_ok((x, y, s, s), other) for other in placed):
                paste_face(image, face, x, y, s)
                placed.append((x, y, s, s))
                kept.append(i)
                break
    boxes = np.array(placed, np.float32).reshape(-1, 4)
    return SceneFrame(image, boxes, np.asarray(labels, np.int64)[kept])


def _gap_ok(a: tuple[int, int, int, int], b: tuple[int, int, int, int], margin: float = 0.15) -> bool:
    """True when boxes ``a`` and ``b`` are apart by at least ``margin`` of the larger one."""
    m = margin * max(a[2], b[2])
    return (a[0] + a[2] + m <= b[0] or b[0] + b[2] + m <= a[0]
            or a[1] + a[3] + m <= b[1] or b[1] + b[3] + m <= a[1])
