"""Find the tiles of a meeting app's gallery view in a captured window.

Meeting apps draw a gallery as a grid of video tiles on a flat background (dark or light theme)
with gaps between them; the last row may be shorter and centred, and the app's title bar and
toolbar may frame it. ``find_tiles`` finds the background colour (the commonest colour of the
frame: its gaps), and the blobs of other pixels the gaps cut apart: each is a tile when its size is
like the others' and its shape like a video's (the title bar, toolbar or a side panel are not). A frame that is not a gallery (a slide, one webcam) gives
no tiles, and callers fall back to faces alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]

#: how far (0-255 per channel) a pixel may be from the background colour and still be background
TOLERANCE = 10
#: the tolerances tried: a compressed video blurs a light theme's thin gaps into its tiles' edges,
#: which only a wider tolerance separates; a narrow one keeps a grey camera-off tile apart from the gaps
TOLERANCES = (TOLERANCE, 16, 22)
MIN_TILE = 40  # px: smaller runs are gaps' noise or name labels, not tiles
ASPECT_RANGE = (1.2, 2.4)  # width / height of a video tile (16:9 = 1.78, some apps 4:3 or wider; a round
# toolbar button or an avatar disc is square, and may outnumber a 2x2 gallery's tiles)


@dataclass(frozen=True, slots=True)
class GalleryLayout:
    """The tiles found in one frame (``x, y, w, h``, row by row) and the gallery's background colour."""

    tiles: tuple[Box, ...]
    background: tuple[int, int, int]
    tolerance: int = TOLERANCE  # the one that cut the background from the tiles

    def tile_of(self, box: tuple[float, float, float, float]) -> Box | None:
        """The tile holding most of a face ``box``, or None."""
        x, y, w, h = box
        best, best_area = None, 0.25 * w * h  # at least a quarter of the face inside
        for tile in self.tiles:
            tx, ty, tw, th = tile
            area = max(0.0, min(x + w, tx + tw) - max(x, tx)) * max(0.0, min(y + h, ty + th) - max(y, ty))
            if area > best_area:
                best, best_area = tile, area
        return best


def find_tiles(image: np.ndarray, min_tiles: int = 2, previous: GalleryLayout | None = None) -> GalleryLayout:
    """The gallery tiles of a BGR frame; none when fewer than ``min_tiles`` look alike. The
    background is whichever of the few commonest flat colours cuts the frame into the most tiles
    (a white chat panel or a grey toolbar may be flatter and larger than the gaps), at whichever of
    ``TOLERANCES`` (the narrowest of equals) finds the most tiles.

    ``previous``: the layout of an earlier frame of the same window. When its background and
    tolerance still cut this frame into as many tiles, each where one was (within a pixel of the
    searched picture: a compressed video's edges move), those are the answer: one pass instead of the
    search over every colour and tolerance (~8 instead of ~60 ms at 1920x1080). Otherwise the full search."""
    if previous is not None and previous.tiles:
        same = still_there(image, previous)
        if same is not None:
            return same
    small, scale = _shrink(image)
    best: tuple[list[Box], tuple[int, int, int], int] = ([], (0, 0, 0), TOLERANCE)
    candidates = _background_candidates(small)
    for tolerance in TOLERANCES:  # on a tie the narrowest wins: a wide one may join a margin to a tile
        for background in candidates:
            tiles = _tiles_on(small, background, tolerance)
            if len(tiles) > len(best[0]):
                best = (tiles, background, tolerance)
    tiles, background, tolerance = best
    if len(tiles) < min_tiles:
        return GalleryLayout((), background)
    return GalleryLayout(_scaled(tiles, scale), background, tolerance)


def still_there(image: np.ndarray, layout: GalleryLayout) -> GalleryLayout | None:
    """``layout``'s tiles as measured in ``image`` when its background and tolerance still cut it into
    as many tiles, each where one was (within a pixel of the searched picture: a compressed video's
    edges move); None when the gallery changed (a re-flow, another page or view)."""
    small, scale = _shrink(image)
    tiles = _scaled(_tiles_on(small, layout.background, layout.tolerance), scale)
    if len(tiles) == len(layout.tiles) and all(
            max(abs(a - b) for a, b in zip(new, old)) <= scale for new, old in zip(tiles, layout.tiles)):
        return GalleryLayout(tiles, layout.background, layout.tolerance)
    return None


def _scaled(tiles: list[Box], scale: float) -> tuple[Box, ...]:
    return tuple((int(round(x * scale)), int(round(y * scale)), int(round(w * scale)), int(round(h * scale)))
                 for x, y, w, h in tiles)


def _tiles_on(image: np.ndarray, background: tuple[int, int, int], tolerance: int = TOLERANCE) -> list[Box]:
    """The alike, video-shaped blobs of pixels that are not ``background``, row by row."""
    colour = np.asarray(background, np.int16)
    is_background = cv2.inRange(image, np.clip(colour - tolerance, 0, 255).astype(np.uint8),
                                np.clip(colour + tolerance, 0, 255).astype(np.uint8)) > 0
    # each tile is a blob of non-background pixels, cut from the others by the gaps (connectivity 4:
    # a diagonal touch across a gap's corner does not join two tiles)
    _, _, stats, _ = cv2.connectedComponentsWithStats((~is_background).astype(np.uint8), connectivity=4)
    width, height = stats[1:, 2], stats[1:, 3]
    video_shaped = ((np.minimum(width, height) >= MIN_TILE / 2) & (width >= ASPECT_RANGE[0] * height)
                    & (width <= ASPECT_RANGE[1] * height))
    tiles = _alike([tuple(int(v) for v in row) for row in stats[1:, :4][video_shaped]])
    if tiles:
        size = (int(np.median([t[2] for t in tiles])), int(np.median([t[3] for t in tiles])))
        tiles = [_snap(t, size, is_background) for t in tiles]
    return sorted(tiles, key=lambda t: (t[1] + t[3] // 2, t[0]))


def _snap(tile: Box, size: tuple[int, int], is_background: np.ndarray) -> Box:
    """A tile whose picture ends in background-coloured pixels (a dark room on a dark theme) looks
    smaller than the others: give it the gallery's tile size, placed where gaps lie just outside it."""
    x, y, w, h = tile
    width, height = size
    if w < width - 1:
        x = _between_gaps(x, w, width, is_background[y:y + h].mean(axis=0))
        w = width
    if h < height - 1:
        y = _between_gaps(y, h, height, is_background[:, x:x + w].mean(axis=1))
        h = height
    return x, y, w, h


def _between_gaps(start: int, length: int, full: int, background_share: np.ndarray) -> int:
    """The start, among those keeping ``start..start+length`` inside, whose lines just outside are
    the most background."""
    def outside(s: int) -> float:
        before = background_share[s - 1] if s >= 1 else 1.0
        after = background_share[s + full] if s + full < len(background_share) else 1.0
        return float(before + after)

    first = max(0, start + length - full)
    return max(range(first, start + 1), key=outside)


def _shrink(image: np.ndarray, longest: int = 960) -> tuple[np.ndarray, float]:
    """Work on at most ``longest`` px (nearest neighbour: gap colours stay exact)."""
    height, width = image.shape[:2]
    step = max(1, int(np.ceil(max(height, width) / longest)))
    if step == 1:
        return image, 1.0
    height, width = height // step * step, width // step * step  # then the same pixels as image[::step, ::step]
    small = cv2.resize(image[:height, :width], (width // step, height // step), interpolation=cv2.INTER_NEAREST)
    return small, float(step)


def _background_candidates(image: np.ndarray, count: int = 3) -> list[tuple[int, int, int]]:
    """The ``count`` commonest colours of the rows and columns that are one colour end to end (gaps,
    margins, flat panels), then those of the whole frame (a gallery's margins, when a panel beside it
    breaks every line)."""
    rows = image[_flat(image, along=1)][:, 0]
    columns = image[:, _flat(image, along=0)][0]
    candidates: list[tuple[int, int, int]] = []
    for pixels in (np.concatenate([rows, columns]), image.reshape(-1, 3)):
        for colour in _commonest(pixels, count):
            if all(np.abs(np.subtract(colour, known)).max() > TOLERANCE for known in candidates):
                candidates.append(colour)
    return candidates


def _flat(image: np.ndarray, along: int) -> np.ndarray:
    """Which rows (``along=1``) or columns (``along=0``) are one colour end to end, within ``TOLERANCE``."""
    spread = cv2.reduce(image, along, cv2.REDUCE_MAX).astype(np.int16) - cv2.reduce(image, along, cv2.REDUCE_MIN)
    return (spread <= TOLERANCE).reshape(-1, 3).all(axis=1)


def _commonest(pixels: np.ndarray, count: int) -> list[tuple[int, int, int]]:
    if len(pixels) == 0:
        return []
    keys = (pixels >> 3).astype(np.int32)  # 32 levels per channel
    keys = keys[:, 0] << 10 | keys[:, 1] << 5 | keys[:, 2]
    counts = np.bincount(keys, minlength=1 << 15)
    commonest = [int(key) for key in np.argsort(counts)[::-1][:count] if counts[key] > 0]
    out = []
    for key in commonest:
        members = np.flatnonzero(keys == key)
        members = members[:: max(1, len(members) // 4096)]  # a few thousand pixels give the median colour
        out.append(tuple(int(v) for v in np.median(pixels[members], axis=0)))
    return out


def _alike(tiles: list[Box]) -> list[Box]:
    """Keep the tiles whose size is within 25% of the commonest tile size (a gallery's tiles are
    all one size; a toolbar or a slide is not)."""
    if not tiles:
        return []
    heights = np.array([t[3] for t in tiles], float)
    typical = float(np.median(heights))
    return [t for t in tiles if abs(t[3] - typical) <= 0.25 * typical]
