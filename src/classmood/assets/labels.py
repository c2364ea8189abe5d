"""Name labels drawn as meeting apps draw them, with real TrueType fonts, at a tile's bottom-left.

Styles: ``box`` (white text on a dark translucent box, Zoom), ``shadow`` (white text with a drop
shadow straight on the video, Google Meet), ``pill`` (white text on a rounded dark pill, Teams,
Webex) and ``light`` (dark text on a light box, light themes). Fonts are the system's free
TrueType families (DejaVu, Liberation; Debian's ``fonts-dejavu-core`` and ``fonts-liberation``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from classmood.assets.portraits import Box

STYLES = ("box", "shadow", "pill", "light")
FONT_FILES = ("dejavu/DejaVuSans.ttf", "liberation/LiberationSans-Regular.ttf", "dejavu/DejaVuSans-Bold.ttf",
              "dejavu/DejaVuSansCondensed.ttf", "liberation/LiberationSansNarrow-Regular.ttf")
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/local/share/fonts"), Path("/Library/Fonts"))


@cache
def label_fonts(files: tuple[str, ...] = FONT_FILES) -> tuple[Path, ...]:
    """The TrueType fonts of ``files`` (default ``FONT_FILES``) found on this system (empty when none is)."""
    return tuple(folder / name for name in files for folder in FONT_DIRS if (folder / name).is_file())


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The first of ``label_fonts`` (bold or not) at ``size`` px."""
    fonts = label_fonts()
    if not fonts:
        raise FileNotFoundError("no TrueType font found (apt-get install fonts-dejavu-core)")
    wanted = [f for f in fonts if f.name.endswith("-Bold.ttf") == bold] or list(fonts)
    return _truetype(str(wanted[0]), size)


def draw_text(image: np.ndarray, at: tuple[int, int], text: str, size: int, colour: tuple[int, int, int],
              bold: bool = False, anchor: str = "lm") -> None:
    """Draw ``text`` (BGR ``colour``) on the BGR ``image`` in place; ``anchor`` as Pillow's (``lm``: left, middle)."""
    face = font(size, bold)
    left, top, right, bottom = face.getbbox(text, anchor=anchor)
    height, width = image.shape[:2]
    x0, y0 = max(0, at[0] + left - 2), max(0, at[1] + top - 2)
    x1, y1 = min(width, at[0] + right + 2), min(height, at[1] + bottom + 2)
    if x1 <= x0 or y1 <= y0:
        return
    picture = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1, ::-1]))
    ImageDraw.Draw(picture).text((at[0] - x0, at[1] - y0), text, font=face, fill=tuple(colour[::-1]), anchor=anchor)
    image[y0:y1, x0:x1] = np.asarray(picture)[:, :, ::-1]


def label_font_size(tile_height: int) -> int:
    """The label's font size for a tile ``tile_height`` pixels high (meeting apps: ~7% of it, 11-18 px)."""
    return int(np.clip(round(tile_height * 0.07), 11, 18))


def draw_label(frame: np.ndarray, tile: Box, text: str, *, style: str = "box", font: Path | None = None,
               size: int | None = None) -> None:
    """Draw ``text`` in the bottom-left corner of ``tile`` of the BGR ``frame``, in place."""
    if style not in STYLES:
        raise ValueError(f"unknown label style {style!r}; choose from {', '.join(STYLES)}")
    fonts = label_fonts()
    if font is None and not fonts:
        raise FileNotFoundError("no TrueType font found (apt-get install fonts-dejavu-core)")
    x, y, w, h = tile
    size = size or label_font_size(h)
    path = str(font or fonts[0])
    face = _truetype(path, size)
    pad = max(3, size // 3)
    ascent, descent = face.getmetrics()
    box_w, box_h = min(int(face.getlength(text)) + 2 * pad, w - 2 * pad), ascent + descent + 2 * pad
    bx, by = x + pad, y + h - pad - box_h
    region = frame[by:by + box_h, bx:bx + box_w]
    picture = Image.fromarray(cv2.cvtColor(region, cv2.COLOR_BGR2RGB)).convert("RGBA")
    overlay = _overlay(text, style, path, size, box_w, box_h, picture.size)
    blended = Image.alpha_composite(picture, overlay).convert("RGB")
    frame[by:by + box_h, bx:bx + box_w] = cv2.cvtColor(np.asarray(blended), cv2.COLOR_RGB2BGR)


@lru_cache(maxsize=64)
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=1024)
def _overlay(text: str, style: str, path: str, size: int, box_w: int, box_h: int,
             shape: tuple[int, int]) -> Image.Image:
    """The label drawn on transparency (``shape``: the part of the box inside the frame), made once."""
    face = _truetype(path, size)
    pad = max(3, size // 3)
    overlay = Image.new("RGBA", shape, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    ink = (250, 250, 250, 255)
    if style == "box":
        pen.rectangle((0, 0, box_w, box_h), fill=(0, 0, 0, 150))
    elif style == "pill":
        pen.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=box_h // 2, fill=(32, 32, 36, 220))
    elif style == "light":
        pen.rectangle((0, 0, box_w, box_h), fill=(245, 245, 245, 225))
        ink = (30, 30, 30, 255)
    elif style == "shadow":
        shadow = Image.new("RGBA", shape, (0, 0, 0, 0))
        ImageDraw.Draw(shadow).text((pad + 1, pad + 1), text, font=face, fill=(0, 0, 0, 230))
        overlay = Image.alpha_composite(overlay, shadow.filter(ImageFilter.GaussianBlur(1.2)))
        pen = ImageDraw.Draw(overlay)
    pen.text((pad, pad), text, font=face, fill=ink)
    return overlay
