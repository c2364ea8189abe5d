"""Read the name label of a gallery tile with OCR (optional): RapidOCR or Tesseract.

Meeting apps print each participant's name at the bottom-left of their tile, under the face.
``NameReader`` cuts the strip below a face box down to the label's line of text and reads it with
an OCR engine; a name is accepted once the same text is read twice. Two engines:

* ``RapidOcrEngine`` (the ``ocr`` extra: ``rapidocr``): PP-OCR's text recogniser on ONNX Runtime,
  with the model that ships in the wheel (nothing is downloaded); the default when installed, as
  it read the rendered labels of ``benchmarks/name_ocr.py`` far better (accents, light and dark themes);
* ``TesseractEngine`` (``pytesseract`` and the ``tesseract`` program, English data).

Without either, classmood keeps pseudonymous ids (S01, S02, ...) that the teacher can rename.
"""

from __future__ import annotations

import importlib.util
import math
import re
import shutil
import time
import unicodedata
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

import cv2
import numpy as np

from classmood.track.layout import GalleryLayout, find_tiles

_CLEAN = re.compile(r"[^\w .'-]", re.UNICODE)


class OcrEngine(Protocol):
    """Reads the label in a strip of a tile (``label_region``): ``(text, confidence 0-1)``, empty
    text when it sees none. ``face_span`` is the face's x-range in the strip (None: the tile's own
    strip, whose label starts at its left edge). ``attempt`` counts the reads of one label: an engine
    may look at it a little differently each time, so that a name confirmed by two equal reads is
    not one misreading repeated."""

    name: str
    min_confidence: float  # a reading below it is no reading

    def read(self, region: np.ndarray, face_span: tuple[int, int] | None = None,
             attempt: int = 0) -> tuple[str, float]: ...


def tesseract_available() -> bool:
    """True when both the ``tesseract`` program and the ``pytesseract`` module are installed."""
    return importlib.util.find_spec("pytesseract") is not None and shutil.which("tesseract") is not None


def rapidocr_available() -> bool:
    """True when the ``rapidocr`` package (the ``ocr`` extra) is installed."""
    return importlib.util.find_spec("rapidocr") is not None


class TesseractEngine:
    """Tesseract on the label's line (``prepare_for_ocr``), binarised, read as one line (``--psm 7``);
    the confidence is its least sure word's."""

    name = "tesseract"
    min_confidence = 0.7  # its least sure word, 0-1

    def read(self, region: np.ndarray, face_span: tuple[int, int] | None = None,
             attempt: int = 0) -> tuple[str, float]:
        import pytesseract

        line = prepare_for_ocr(region, face_span)
        _, binary = cv2.threshold(line, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        try:
            data = pytesseract.image_to_data(binary, config="--psm 7", output_type=pytesseract.Output.DICT, timeout=2)
        except (RuntimeError, pytesseract.TesseractError, OSError):
            return "", 0.0
        words = [(w.strip(), float(c) / 100.0) for w, c in zip(data["text"], data["conf"]) if w.strip()]
        if not words:
            return "", 0.0
        return " ".join(w for w, _ in words), min(c for _, c in words)


class RapidOcrEngine:
    """RapidOCR's PP-OCR text detector finds the lines of text in the strip, enlarged 2x or 3x by
    attempt (at most 960 px on its long side), its recogniser reads them; the label is the line that
    overlaps the face's x-range most (or the leftmost one in a tile's own strip)."""

    name = "rapidocr"
    min_confidence = 0.85  # below it, the garbled readings of scripts its model does not know
    #: enlargement per attempt: labels of small tiles are 11-13 px high, and the recogniser reads 48-px
    #: lines far better; two scales in turn halved the names accepted wrong (benchmarks/name_ocr.py)
    scales = (2.0, 3.0)

    def __init__(self) -> None:
        self._ocr = _rapidocr()

    def read(self, region: np.ndarray, face_span: tuple[int, int] | None = None,
             attempt: int = 0) -> tuple[str, float]:
        image = cv2.cvtColor(region, cv2.COLOR_GRAY2BGR) if region.ndim == 2 else region
        scale = self.scales[attempt % len(self.scales)]
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        try:
            result = self._ocr(image, use_cls=False)
        except Exception:  # noqa: BLE001 - an unreadable strip is no name, never a crash
            return "", 0.0
        if not result.txts:
            return "", 0.0
        spans = [(float(box[:, 0].min()), float(box[:, 0].max())) for box in result.boxes]

        def fit(i: int) -> tuple[float, float]:
            left, right = spans[i]
            if face_span is None:
                return (0.0, -left)
            a, b = face_span[0] * scale, face_span[1] * scale
            return (min(right, b) - max(left, a), -abs(left - a))

        best = max(range(len(result.txts)), key=fit)
        return result.txts[best].strip(), float(result.scores[best])


@cache
def _rapidocr():
    """One RapidOCR per process, on its packaged models, logging only errors, on one thread: it reads
    beside the face pipeline, whose ONNX Runtime sessions already use every core (two threads of its own
    made both wait on each other)."""
    import logging

    from rapidocr import RapidOCR

    ocr = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False, "Det.limit_type": "max",
                           "Det.limit_side_len": 960, "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                           "EngineConfig.onnxruntime.inter_op_num_threads": 1})
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return ocr


ENGINES = {"rapidocr": RapidOcrEngine, "tesseract": TesseractEngine}


def default_engine() -> OcrEngine | None:
    """RapidOCR when installed, else Tesseract when installed, else None (names are not read)."""
    if rapidocr_available():
        return RapidOcrEngine()
    if tesseract_available():
        return TesseractEngine()
    return None


def name_key(name: str) -> str:
    """The form in which names are compared: NFC, case-folded, single spaces, trimmed."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def tile_label_strip(image: np.ndarray, tile: tuple[int, int, int, int]) -> np.ndarray:
    """Where meeting apps print a participant's name: the bottom fifth and left three quarters of the tile."""
    x, y, w, h = tile
    return image[y + int(h * 0.8): y + h, x: x + int(w * 0.75)]


def label_region(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """The strip under a face box where a gallery tile shows the name (wide: labels start at the
    tile's left edge, left of the face), and the face's x-range inside that strip."""
    x, y, w, h = box
    height, width = image.shape[:2]
    y0, y1 = int(max(y + h * 1.05, 0)), int(min(y + h * 1.7, height))
    x0, x1 = int(max(x - w * 1.0, 0)), int(min(x + w * 2.0, width))
    return image[y0:y1, x0:x1], (int(x - x0), int(x + w - x0))


def prepare_for_ocr(region: np.ndarray, face_span: tuple[int, int] | None = None, scale: int = 3) -> np.ndarray:
    """The label's line of text from a label strip: grayscale, enlarged, dark text on a light
    ground, cut to the band of rows with the most ink and to the run of text nearest the face (not
    a neighbouring tile's label), with a margin. The cut is found on a binarised copy; the engine
    gets the gray pixels (an OCR model reads anti-aliased text better than a thresholded one)."""
    gray = region if region.ndim == 2 else cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if (binary == 0).mean() > 0.5:  # light text on a dark tile: dark text on light instead
        binary, gray = 255 - binary, 255 - gray
    top, bottom = _main_text_rows(binary)
    span = (0, 1) if face_span is None else (face_span[0] * scale, face_span[1] * scale)  # else the first run
    left, right = _text_run_near(binary[top:bottom], span)
    return cv2.copyMakeBorder(gray[top:bottom, left:right], 12, 12, 12, 12, cv2.BORDER_REPLICATE)


def _runs(on: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Start/end of the runs of True, joining runs separated by at most ``max_gap`` False."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(on):
        if runs and i - runs[-1][1] <= max_gap + 1:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    return [(a, b + 1) for a, b in runs]


def _text_run_near(binary: np.ndarray, span: tuple[int, int]) -> tuple[int, int]:
    """The columns of the run of text (words closer than ~0.7 line height) that overlaps the face most."""
    columns = (binary == 0).any(axis=0)
    runs = _runs(columns, max_gap=int(0.7 * binary.shape[0]))
    if len(runs) <= 1:
        return 0, binary.shape[1]

    def closeness(run: tuple[int, int]) -> tuple[int, int]:
        overlap = min(run[1], span[1]) - max(run[0], span[0])
        return (overlap, -abs((run[0] + run[1]) // 2 - (span[0] + span[1]) // 2))

    a, b = max(runs, key=closeness)
    return max(a - 6, 0), b + 6


def _main_text_rows(binary: np.ndarray) -> tuple[int, int]:
    """The band of rows holding the most ink (the label), without bits of other tiles."""
    ink = (binary == 0).sum(axis=1)
    rows = ink > 0
    best, best_ink, start = (0, binary.shape[0]), -1, None
    for i, on in enumerate(np.append(rows, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            total = int(ink[start:i].sum())
            if total > best_ink:
                best, best_ink = (start, i), total
            start = None
    return max(best[0] - 4, 0), best[1] + 4


@dataclass(slots=True)
class NameReader:
    """Reads and confirms tile names per student id with ``engine`` (default: ``default_engine()``);
    a reading below ``min_confidence`` (0-1; default the engine's) is no reading: a label that
    cannot be read stays empty."""

    engine: OcrEngine | None = field(default_factory=default_engine)
    min_confidence: float | None = None
    confirmations: int = 2
    readings: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    names: dict[int, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.engine is not None

    def read(self, image: np.ndarray, box: tuple[float, float, float, float],
             layout: GalleryLayout | None = None, attempt: int = 0) -> str | None:
        """The name label of the face at ``box``: in its tile when ``layout`` has one for it, else in
        the strip under the face; None when nothing legible is there."""
        tile = layout.tile_of(box) if layout is not None else None
        if tile is not None:
            return self.read_region(tile_label_strip(image, tile), attempt=attempt)
        region, span = label_region(image, box)
        return self.read_region(region, span, attempt)

    def read_region(self, region: np.ndarray, face_span: tuple[int, int] | None = None,
                    attempt: int = 0) -> str | None:
        """The text of a label strip (see ``label_region``), or None."""
        if self.engine is None or region.size == 0 or min(region.shape[:2]) < 6:
            return None
        text, confidence = self.engine.read(region, face_span, attempt)
        if confidence < (self.min_confidence if self.min_confidence is not None else self.engine.min_confidence):
            return None
        text = " ".join(_CLEAN.sub("", text).split())
        return text if len(text) >= 3 else None

    def confirm(self, student_id: int, text: str | None) -> str | None:
        """Count one reading for ``student_id``; returns the name when it becomes confirmed."""
        if text is None or student_id in self.names:
            return None
        counts = self.readings[student_id]
        counts[text] += 1
        if counts[text] >= self.confirmations:
            self.names[student_id] = text
            del self.readings[student_id]
            return text
        return None

    def observe(self, student_id: int, image: np.ndarray, box: tuple[float, float, float, float]) -> str | None:
        """Read and confirm in one call (synchronous)."""
        if student_id in self.names:
            return None
        return self.confirm(student_id, self.read(image, box))


class NameScheduler:
    """Reads tile labels in a background thread, one read at a time, at most one every ``every_s``
    seconds (bounded CPU, ~0.05-0.25 s a read; every ``first_every_s`` while a face shown has not had
    its first two reads, so that a class is named within seconds) and ``attempts`` reads per student. The
    gallery's tiles are found again (``find_tiles``) at most every ``layout_every_s`` seconds, in the
    same thread, so that a label is read in its own tile."""

    def __init__(self, reader: NameReader, every_s: float = 1.0, attempts: int = 6,
                 layout_every_s: float = 2.0, first_every_s: float = 0.25) -> None:
        self.reader, self.every_s, self.attempts = reader, every_s, attempts
        self.first_every_s = first_every_s  # pace while a face shown has not had its two reads yet
        self.layout_every_s = layout_every_s
        self.layout: GalleryLayout | None = None
        self._layout_at = -math.inf
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classmood-ocr")
        self.pending: tuple[int, Future] | None = None
        self.tries: dict[int, int] = {}
        self.last = -math.inf

    def step(self, image: np.ndarray, faces: list[tuple[int, tuple]], at: float | None = None,
             layout: GalleryLayout | None = None) -> list[tuple[int, str]]:
        """Collect a finished read and maybe start the next; returns the (student, name) pairs confirmed.
        ``layout``: the gallery's tiles in this frame when the caller knows them (else found here); a
        face outside every tile then has no label to read (a slide, a speaker view's big picture, the
        app's toolbar under a face: reading there gives button captions, not names).

        ``at`` is the session time of a recording: reads are then paced per second of video, and a
        read still running when the next is due is waited for, so a recording analysed faster than
        real time gets its labels read as a live class does (the do-not-analyse list depends on it).
        Without it (a live feed), wall-clock pacing; a slow read never holds a frame back."""
        named: list[tuple[int, str]] = []
        now = time.monotonic() if at is None else at
        # a student with one reading already goes first, so that names are confirmed one by one
        todo = [(student not in self.reader.readings, self.tries.get(student, 0), student, box)
                for student, box in faces
                if student not in self.reader.names and self.tries.get(student, 0) < self.attempts
                and (layout is None or layout.tile_of(box) is not None)]  # labels are read in tiles only
        first_reads = any(tries < self.reader.confirmations for _, tries, _, _ in todo)
        due = now - self.last >= (min(self.first_every_s, self.every_s) if first_reads else self.every_s)
        if self.pending is not None and (self.pending[1].done() or (at is not None and due)):
            student, future = self.pending
            self.pending = None
            name = self.reader.confirm(student, future.result())
            if name:
                named.append((student, name))
                todo = [item for item in todo if item[2] != student]
        if self.pending is None and due and todo:
            *_, student, box = min(todo, key=lambda item: item[:2])
            attempt = self.tries.get(student, 0)
            self.tries[student] = attempt + 1
            self.pending = (student, self.pool.submit(self._read, image.copy(), box, attempt, layout))
            self.last = now
        return named

    def _read(self, image: np.ndarray, box: tuple, attempt: int, layout: GalleryLayout | None = None) -> str | None:
        """In the reading thread: the tiles (``layout``, or found again when stale), then the label of ``box``."""
        now = time.monotonic()
        if layout is not None:
            self.layout, self._layout_at = layout, now
        elif now - self._layout_at >= self.layout_every_s:
            self.layout, self._layout_at = find_tiles(image), now
        return self.reader.read(image, box, self.layout, attempt)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
