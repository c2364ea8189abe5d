"""Reading names under meeting tiles with real OCR on rendered tiles: real portraits, real TrueType
fonts, the label styles of meeting apps. RapidOCR's packaged model reads Latin names (accents kept),
leaves a label it cannot read empty rather than garbled, and fetches nothing."""

from __future__ import annotations

import socket

import pytest

from classmood.assets.gallery import gallery_layout, render_tile, varied_participants
from classmood.assets.labels import STYLES, draw_label, label_fonts
from classmood.track.names import (
    NameReader, RapidOcrEngine, TesseractEngine, rapidocr_available, tesseract_available, tile_label_strip,
)

LATIN = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Hedy Lamarr", "José Núñez", "Chloé Lefèvre",
         "Ana María Pérez", "Barbara Liskov"]
OTHER_SCRIPTS = ["Дмитрий Петров", "Ελένη Παππά", "Анна Смирнова"]

pytestmark = pytest.mark.skipif(not label_fonts(), reason="no TrueType font (apt-get install fonts-dejavu-core)")


def _tile_strips(names: list[str], grid: int = 5) -> list[tuple[str, object]]:
    """Each name on its own 1920x1080 gallery tile, in rotating styles and fonts; the tile's label strip."""
    _, _, width, height = gallery_layout(grid * grid, 1920, 1080)[0]
    people, fonts, strips = varied_participants(len(names), seed=3), label_fonts(), []
    for k, name in enumerate(names):
        tile, _ = render_tile(people[k], width, height)
        draw_label(tile, (0, 0, width, height), name, style=STYLES[k % len(STYLES)], font=fonts[k % len(fonts)])
        strips.append((name, tile_label_strip(tile, (0, 0, width, height))))
    return strips


@pytest.fixture()
def no_network(monkeypatch):
    """Any connection attempt fails the test: the OCR models must come from the wheel."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network use during OCR: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.skipif(not rapidocr_available(), reason="rapidocr not installed (pip install -e '.[ocr]')")
def test_rapidocr_reads_latin_names_on_rendered_tiles_and_fetches_nothing(no_network):
    reader = NameReader(RapidOcrEngine())
    read = {name: reader.read_region(strip) for name, strip in _tile_strips(LATIN)}
    right = [name for name, text in read.items() if text == name]
    assert len(right) >= 6, read  # benchmarks/name_ocr.py: 83% of Latin labels over 4 styles and 5 fonts
    assert any("í" in name or "é" in name for name in right), read  # accents kept as read


@pytest.mark.skipif(not rapidocr_available(), reason="rapidocr not installed (pip install -e '.[ocr]')")
def test_a_label_the_model_cannot_read_stays_empty():
    reader = NameReader(RapidOcrEngine())
    read = [reader.read_region(strip) for _, strip in _tile_strips(OTHER_SCRIPTS)]
    assert sum(text is None for text in read) >= 2, read  # its model knows Latin and Chinese only
    blank = _tile_strips(["x"])[0][1].copy()
    blank[:] = 90
    assert reader.read_region(blank) is None


@pytest.mark.skipif(not (rapidocr_available() and tesseract_available()), reason="needs rapidocr and tesseract")
def test_rapidocr_reads_more_names_than_tesseract():
    strips = _tile_strips(LATIN)
    right = {engine.name: sum(NameReader(engine).read_region(strip) == name for name, strip in strips)
             for engine in (RapidOcrEngine(), TesseractEngine())}
    assert right["rapidocr"] > right["tesseract"], right
