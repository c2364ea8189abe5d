"""Draw a whole meeting window: the app's title bar and toolbar, a side panel, and the tiles of a layout.

Layouts: ``gallery`` (a centred grid, last row shorter and centred, up to 49 tiles), ``speaker``
(one big tile under a strip of small ones) and ``share`` (a slide beside a strip of a few tiles).
Each tile is a webcam picture (``gallery.render_tile``) or, camera off, the app's placeholder with
an initials avatar (``gallery.camera_off_tile``); the name label sits bottom-left in the app's style (``labels.draw_label``),
corners are rounded and the active speaker has a coloured border.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import cv2
import numpy as np

from classmood.assets.apps import AppStyle
from classmood.assets.gallery import Participant, TrueFace, camera_off_tile, gallery_layout, render_tile
from classmood.assets.labels import draw_label, draw_text
from classmood.assets.portraits import Box

PAGE = 49  # tiles on one gallery page (7x7, as Zoom and Teams show at most)
STRIP_TILES = 5  # small tiles beside a speaker or a shared screen
PANEL_SHARE = 0.2  # of the window width


@dataclass(frozen=True, slots=True)
class ShownTile:
    """A student's tile in a frame: its box, the label on it, and whether a face shows in it."""

    student_id: str
    box: Box
    name: str | None
    camera_on: bool


@dataclass(frozen=True, slots=True)
class WindowFrame:
    """One rendered window (BGR uint8): its layout, tiles and true faces (``TrueFace.tile`` indexes ``tiles``)."""

    image: np.ndarray
    timestamp: float
    layout: str
    tiles: tuple[ShownTile, ...]
    faces: tuple[TrueFace, ...]

    @property
    def students(self) -> list[str]:
        """The student of each true face, in the order of ``boxes``."""
        return [f.student_id for f in self.faces]

    @property
    def boxes(self) -> np.ndarray:
        """The true face boxes, ``(N, 4)`` float32 ``x, y, w, h``."""
        return np.array([f.box for f in self.faces], np.float32).reshape(-1, 4)


def regions(style: AppStyle, width: int, height: int, panel: str | None) -> dict[str, Box]:
    """The window's parts: ``title``, ``toolbar``, ``panel`` (when shown) and ``area`` (the gallery's)."""
    panel_w = round(PANEL_SHARE * width) if panel else 0
    inner_h = height - style.title_h - style.toolbar_h
    parts = {"title": (0, 0, width, style.title_h), "toolbar": (0, height - style.toolbar_h, width, style.toolbar_h),
             "area": (style.margin, style.title_h + style.margin, width - panel_w - 2 * style.margin,
                      inner_h - 2 * style.margin)}
    if panel:
        parts["panel"] = (width - panel_w, style.title_h, panel_w, inner_h)
    return parts


def layout_boxes(layout: str, count: int, area: Box, gap: int, page: int = PAGE) -> tuple[list[Box], Box | None]:
    """Tile boxes for ``count`` students in ``layout`` (fewer when the layout shows fewer: at most
    ``page`` in a gallery), and the slide's box in ``share``. In ``speaker`` the first box is the big one."""
    x, y, w, h = area
    if layout == "gallery":
        tiles = gallery_layout(min(count, page), w, h, gap)
        return [(x + tx, y + ty, tw, th) for tx, ty, tw, th in tiles], None
    if layout == "speaker":
        strip_h = int(h * 0.17)
        small = _row(min(count - 1, STRIP_TILES), (x, y, w, strip_h), gap)
        big_w = min(w, int((h - strip_h - gap) * 16 / 9))
        big_h = int(big_w * 9 / 16)
        big = (x + (w - big_w) // 2, y + strip_h + gap + (h - strip_h - gap - big_h) // 2, big_w, big_h)
        return [big, *small], None
    if layout == "share":
        strip_w = int(w * 0.18)
        tile_h = int(strip_w * 9 / 16)
        shown = min(count, STRIP_TILES, max(1, (h + gap) // (tile_h + gap)))
        top = y + (h - shown * tile_h - (shown - 1) * gap) // 2
        strip = [(x + w - strip_w, top + i * (tile_h + gap), strip_w, tile_h) for i in range(shown)]
        return strip, (x, y, w - strip_w - gap, h)
    raise ValueError(f"unknown layout {layout!r}")


def _row(count: int, band: Box, gap: int) -> list[Box]:
    """``count`` 16:9 tiles side by side, centred in ``band``."""
    if count <= 0:
        return []
    x, y, w, h = band
    tile_w = min(int(h * 16 / 9), (w - (count - 1) * gap) // count)
    tile_h = int(tile_w * 9 / 16)
    left = x + (w - count * tile_w - (count - 1) * gap) // 2
    return [(left + i * (tile_w + gap), y + (h - tile_h) // 2, tile_w, tile_h) for i in range(count)]


def render_window(style: AppStyle, size: tuple[int, int], layout: str, people: Sequence[Participant],
                  camera_off: frozenset[str] = frozenset(), speaker: str | None = None, panel: str | None = None,
                  t: float = 0.0, page: int = PAGE) -> WindowFrame:
    """The window at ``t`` showing ``people`` (in tile order) in ``layout``; in speaker view the
    speaker (default: the first) takes the big tile."""
    width, height = size
    image = _chrome(style, width, height, panel, tuple(p.label or p.student_id for p in people)).copy()
    parts = regions(style, width, height, panel)
    if layout == "speaker" and people:
        first = next((p for p in people if p.student_id == speaker), people[0])
        people = [first, *(p for p in people if p is not first)]
    boxes, slide = layout_boxes(layout, len(people), parts["area"], style.gap, page) if people else ([], None)
    if slide is not None:
        x, y, w, h = slide
        image[y:y + h, x:x + w] = _slide(w, h)
    tiles, faces = [], []
    for person, box in zip(people, boxes):
        on = person.student_id not in camera_off
        face = _draw_tile(image, style, person, box, on, person.student_id == speaker, t)
        if face is not None:
            faces.append(TrueFace(person.student_id, person.portrait.portrait_id, person.portrait.person,
                                  len(tiles), face))
        tiles.append(ShownTile(person.student_id, box, person.label, on))
    return WindowFrame(image, t, layout, tuple(tiles), tuple(faces))


def _draw_tile(image: np.ndarray, style: AppStyle, person: Participant, box: Box, camera_on: bool,
               speaking: bool, t: float) -> Box | None:
    """Draw one tile in place; the face box in window pixels, or None when no face shows."""
    x, y, w, h = box
    face = None
    if camera_on:
        picture, inner = render_tile(person, w, h, t)
        image[y:y + h, x:x + w] = picture
        if inner is not None:
            face = (x + inner[0], y + inner[1], inner[2], inner[3])
    else:
        image[y:y + h, x:x + w] = camera_off_tile(person.label or person.student_id, w, h, style.tile_off, style.avatar)
    if person.label:
        draw_label(image, box, person.label, style=style.label)
    if speaking:
        inset = style.border // 2  # the border lies inside the tile, which keeps its size
        cv2.rectangle(image, (x + inset, y + inset), (x + w - 1 - inset, y + h - 1 - inset), style.accent, style.border)
    _round_corners(image, box, style.radius, style.background)
    return face


@cache
def _corner_mask(radius: int) -> np.ndarray:
    """True where a ``radius`` square's top-left corner lies outside the rounded corner."""
    yy, xx = np.mgrid[0:radius, 0:radius]
    return (radius - 0.5 - xx) ** 2 + (radius - 0.5 - yy) ** 2 > radius ** 2


def _round_corners(image: np.ndarray, box: Box, radius: int, colour: tuple[int, int, int]) -> None:
    """Paint the four corners of ``box`` outside a ``radius`` arc in ``colour`` (the background)."""
    x, y, w, h = box
    radius = min(radius, w // 2, h // 2)
    if radius < 2:
        return
    mask = _corner_mask(radius)
    for flip_x, flip_y in ((False, False), (True, False), (False, True), (True, True)):
        cx = x + w - radius if flip_x else x
        cy = y + h - radius if flip_y else y
        corner = mask[::-1 if flip_y else 1, ::-1 if flip_x else 1]
        image[cy:cy + radius, cx:cx + radius][corner] = colour


TOOLBAR = {
    "zoom": ("Mute", "Stop Video", "Participants", "Chat", "Share Screen", "Record", "Reactions"),
    "meet": ("", "", "", "", "", ""),
    "teams": ("Chat", "People", "Raise", "React", "View", "More", "Camera", "Mic", "Share"),
    "webex": ("Mute", "Stop video", "Share", "Record", "Apps", "Participants", "Chat"),
    "jitsi": ("", "", "", "", "", "", ""),
}


@lru_cache(maxsize=32)
def _chrome(style: AppStyle, width: int, height: int, panel: str | None, names: tuple[str, ...]) -> np.ndarray:
    """The window without tiles: background, title bar, toolbar and side panel (read-only; copy it)."""
    image = np.full((height, width, 3), style.background, np.uint8)
    k = height / 1080
    for part, box in regions(style, width, height, panel).items():
        if part in ("title", "toolbar", "panel"):
            x, y, w, h = box
            image[y:y + h, x:x + w] = style.panel if part == "panel" else style.bar
    if style.title_h:
        middle = style.title_h // 2
        if style.app == "zoom":
            for i, colour in enumerate(((95, 87, 255), (46, 189, 254), (64, 200, 40))):
                cv2.circle(image, (round((18 + 22 * i) * k), middle), max(2, round(7 * k)), colour, -1, cv2.LINE_AA)
        centred = style.app == "zoom"  # beside the window buttons, Zoom centres its title
        draw_text(image, (width // 2 if centred else round(24 * k), middle), style.title, max(8, round(17 * k)), style.ink,
              anchor="mm" if centred else "lm")
        draw_text(image, (width - round(24 * k), middle), "10:24", max(8, round(16 * k)), style.ink, anchor="rm")
    _toolbar(image, style, k)
    if panel:
        _panel(image, style, regions(style, width, height, panel)["panel"], panel, names, k)
    image.setflags(write=False)
    return image


def _toolbar(image: np.ndarray, style: AppStyle, k: float) -> None:
    """Buttons centred on the toolbar (round or rounded, some with a caption) and a red leave button."""
    if not style.toolbar_h:
        return
    top = image.shape[0] - style.toolbar_h
    middle = top + style.toolbar_h // 2
    captions = TOOLBAR[style.app]
    step = round(110 * k) if any(captions) else round(64 * k)
    left = image.shape[1] // 2 - step * (len(captions) - 1) // 2
    shade = tuple(int(c * 0.8 + (70 if style.theme == "dark" else 0)) for c in style.bar)
    radius = max(4, round(20 * k))
    for i, caption in enumerate(captions):
        cx = left + i * step
        cy = middle - (round(10 * k) if caption else 0)
        if style.app in ("meet", "webex", "jitsi"):
            cv2.circle(image, (cx, cy), radius, shade, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(image, (cx - radius, cy - radius * 3 // 4), (cx + radius, cy + radius * 3 // 4), shade, -1)
        cv2.circle(image, (cx, cy), max(2, radius // 3), style.ink, -1, cv2.LINE_AA)
        if caption:
            draw_text(image, (cx, cy + radius + round(10 * k)), caption, max(7, round(13 * k)), style.ink, anchor="mm")
    right = image.shape[1] - round(40 * k)
    cv2.rectangle(image, (right - round(70 * k), middle - radius), (right, middle + radius), style.leave, -1)
    draw_text(image, (right - round(35 * k), middle), "Leave", max(7, round(14 * k)), (255, 255, 255), anchor="mm")


def _panel(image: np.ndarray, style: AppStyle, box: Box, kind: str, names: tuple[str, ...], k: float) -> None:
    """A chat or participants panel: a heading, then messages or names (as many as fit)."""
    x, y, _, h = box
    line = max(10, round(34 * k))
    heading = f"Participants ({len(names)})" if kind == "participants" else "Chat"
    draw_text(image, (x + round(16 * k), y + line // 2 + round(8 * k)), heading, max(8, round(18 * k)), style.ink, bold=True)
    if kind == "participants":
        rows = list(names)
    else:
        said = ("Can you share the slides?", "Thanks!", "I have a question on part 2", "Yes", "Page 14?")
        rows = [f"{name}: {said[i % len(said)]}" for i, name in enumerate(names[:8])]
    for i, row in enumerate(rows):
        top = y + line * (i + 2)
        if top + line > y + h:
            break
        draw_text(image, (x + round(16 * k), top), row[:40], max(7, round(14 * k)), style.ink)


@lru_cache(maxsize=8)
def _slide(width: int, height: int) -> np.ndarray:
    """A shared lecture slide: a title and a few bullet points on white."""
    slide = np.full((height, width, 3), 250, np.uint8)
    size = max(8, height // 14)
    draw_text(slide, (width // 12, height // 8), "Fourier series", size, (90, 50, 20), bold=True)
    points = ("A periodic signal is a sum of sines", "Coefficients by integration", "Convergence at jumps",
              "Exercise: the square wave")
    for i, point in enumerate(points):
        draw_text(slide, (width // 10, height // 4 + i * int(size * 1.6)), f"\u2022 {point}", max(7, size * 2 // 3),
              (40, 40, 40))
    slide.setflags(write=False)
    return slide
