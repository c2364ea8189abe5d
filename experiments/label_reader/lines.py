"""Rendered name-label strips with their text: the training and test data of the label-reader study.

A random name (Latin with accents, Cyrillic or Greek; made of random letters, so no real name is
learnt by heart) is drawn as a meeting app draws it (``labels.draw_label``: style, font and size of a
tile of random size) on a random tile background (flat, gradient, noise, a licensed portrait), the
picture is degraded as a captured video degrades it (JPEG, blur, rescale), and the product's own cut
(``track.names.tile_label_strip``, from a tile found a few pixels off) gives the grey strip the reader sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from classmood.assets.labels import FONT_FILES, STYLES, _truetype, draw_label, label_font_size, label_fonts

LATIN = "abcdefghijklmnopqrstuvwxyz"
ACCENTED = "áàâäãåāăąçćčďđéèêëēėęěğíìîïīįıłľĺñńňóòôöõøōőœŕřśšşșťţțúùûüūůűųýÿźżžßðþæ"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ"
GREEK = "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώϊϋΐΰς"
PUNCTUATION = " '-."
#: every character the reader can give, in its output order (index 0 is CTC's blank)
ALPHABET = "".join(sorted(set(LATIN + LATIN.upper() + ACCENTED + "".join(c.upper() for c in ACCENTED if c.upper() != c
                                                                          and len(c.upper()) == 1)
                              + CYRILLIC + CYRILLIC.upper() + GREEK
                              + "".join(c.upper() for c in GREEK if len(c.upper()) == 1 and c.upper() != c)
                              + "ΆΈΉΊΌΎΏ" + PUNCTUATION)))
#: the reader learns from these (the label fonts and more sans and serif faces of the same families) ...
TRAINING_FONT_FILES = (*FONT_FILES, "dejavu/DejaVuSans-Oblique.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf",
                       "liberation/LiberationSansNarrow-Bold.ttf", "liberation/LiberationSans-Italic.ttf",
                       "dejavu/DejaVuSerif.ttf", "liberation/LiberationSerif-Regular.ttf")
#: ... and is checked on these, which it never saw
UNSEEN_FONT_FILES = ("liberation/LiberationSans-Bold.ttf", "dejavu/DejaVuSans-ExtraLight.ttf",
                     "dejavu/DejaVuSerifCondensed.ttf")
SCRIPTS = {"latin": LATIN, "accented": LATIN * 3 + ACCENTED, "cyrillic": CYRILLIC, "greek": GREEK}


@dataclass(frozen=True, slots=True)
class LabelLine:
    """One rendered label line: the grey picture the reader gets and the text drawn."""

    line: np.ndarray
    text: str
    script: str
    style: str
    font: str


def random_name(rng: np.random.Generator, script: str) -> str:
    """One to three capitalised words of random letters of ``script`` (sometimes hyphenated or with an
    apostrophe, as names are)."""
    letters = SCRIPTS[script]
    words = []
    for _ in range(int(rng.choice([1, 2, 2, 2, 3]))):
        word = "".join(rng.choice(list(letters), size=int(rng.integers(2, 11))))
        if script == "greek" and word.endswith("σ"):
            word = word[:-1] + "ς"
        word = word[0].upper() + word[1:] if rng.random() > 0.05 else word.upper()
        if rng.random() < 0.06:
            word = word + ("-" if rng.random() < 0.5 else "'") + word[::-1].capitalize()
        words.append(word)
    name = " ".join(words)
    if rng.random() < 0.04:
        name = name.split()[0] + " " + name[-1].upper() + "."
    return "".join(c for c in name if c in ALPHABET)


@cache
def _backdrops() -> tuple[np.ndarray, ...]:
    from classmood.assets.portraits import load_portraits

    return tuple(p.image for p in load_portraits())


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    kind = rng.integers(4)
    if kind == 0:  # flat (a camera-off tile, a plain wall)
        return np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    if kind == 1:  # a vertical or horizontal gradient
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ramp = np.linspace(0, 1, height if rng.random() < 0.5 else width)[:, None]
        colours = (a + (b - a) * ramp).astype(np.uint8)
        return np.broadcast_to(colours[:, None] if len(colours) == height else colours[None],
                               (height, width, 3)).copy()
    if kind == 2:  # blotchy noise (clothes, a room)
        small = rng.integers(0, 256, (max(2, height // 16), max(2, width // 16), 3)).astype(np.uint8)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    portrait = _backdrops()[int(rng.integers(len(_backdrops())))]
    picture = cv2.resize(portrait, (width, int(width * portrait.shape[0] / portrait.shape[1])))
    top = int(rng.integers(0, max(1, picture.shape[0] - height)))
    out = picture[top:top + height]
    return out if out.shape[0] == height else cv2.resize(picture, (width, height))


def _degrade(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """As a captured, compressed window: a rescale, a blur, JPEG at a random quality."""
    if rng.random() < 0.4:
        factor = rng.uniform(0.6, 1.0)
        small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.3, 0.9))
    if rng.random() < 0.8:
        _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return image


def render_line(rng: np.random.Generator, fonts: Sequence[Path] | None = None, script: str | None = None,
                text: str | None = None, style: str | None = None) -> LabelLine:
    """One label line: a random (or the given) name in a random style, font (of ``fonts``, default
    ``TRAINING_FONT_FILES``) and tile size."""
    from classmood.track.names import tile_label_strip

    fonts = list(fonts or label_fonts(TRAINING_FONT_FILES))
    script = script or str(rng.choice(list(SCRIPTS), p=[0.3, 0.3, 0.2, 0.2]))
    text = text or random_name(rng, script)
    height = int(rng.integers(90, 380))
    width = int(height * rng.uniform(1.4, 1.9))
    tile = _background(rng, width, height)
    style = style or str(rng.choice(STYLES))
    font = fonts[int(rng.integers(len(fonts)))]
    size = label_font_size(height) if rng.random() < 0.7 else int(rng.integers(10, label_font_size(height) + 3))
    room = 0.75 * width - 3 * max(3, size // 3) - 4  # the label box, inside the strip the reader cuts
    face = _truetype(str(font), size)
    while len(text) > 3 and face.getlength(text) > room:  # apps cut long names; the truth must show whole
        text = text.rsplit(" ", 1)[0] if " " in text else text[:-1]
    draw_label(tile, (0, 0, width, height), text, style=style, font=font, size=size)
    tile = _degrade(rng, tile)
    jitter = (rng.uniform(-0.03, 0.03, 4) * (width, height, width, height)).astype(int)  # a tile found a little off
    x, y = max(0, jitter[0]), max(0, jitter[1])
    strip = tile_label_strip(tile, (x, y, width - x + min(0, jitter[2]), height - y + min(0, jitter[3])))
    return LabelLine(cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY), text, script, style, font.stem)
