"""Read the name label of a gallery tile with Tesseract OCR (optional).

Meeting apps print each participant's name at the bottom-left of their tile, under the face.
``NameReader`` reads the strip below a face box; a name is accepted once the same text is
read twice. Without the ``tesseract`` program or ``pytesseract`` it reports itself unavailable
and classmood keeps pseudonymous ids (S01, S02, ...) that the teacher can rename.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

_CLEAN = re.compile(r"[^\w .'-]", re.UNICODE)


def tesseract_available() -> bool:
    """True when both the ``tesseract`` program and the ``pytesseract`` module are installed."""
    return importlib.util.find_spec("pytesseract") is not None and shutil.which("tesseract") is not None


def label_region(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """The strip under a face box where a gallery tile shows the name (wide: labels start at the
    tile's left edge, left of the face), and the face's x-range inside that strip."""
    x, y, w, h = box
    height, width = image.shape[:2]
    y0, y1 = int(max(y + h * 1.05, 0)), int(min(y + h * 1.7, height))
    x0, x1 = int(max(x - w * 1.0, 0)), int(min(x + w * 2.0, width))
    return image[y0:y1, x0:x1], (int(x - x0), int(x + w - x0))


def prepare_for_ocr(region: np.ndarray, face_span: tuple[int, int] | None = None) -> np.ndarray:
    """Grayscale, enlarged, binarised with dark text on white, cut to the label's line and to
    the run of text nearest the face (not a neighbouring tile's label), with a margin."""
    gray = region if region.ndim == 2 else cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if (binary == 0).mean() > 0.5:  # light text on a dark tile: make the background white
        binary = 255 - binary
    binary = _main_text_line(binary)
    if face_span is not None:
        binary = _text_run_near(binary, (face_span[0] * 3, face_span[1] * 3))
    return cv2.copyMakeBorder(binary, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


def _runs(on: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Start/end of the runs of True, joining runs separated by at most ``max_gap`` False."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(on):
        if runs and i - runs[-1][1] <= max_gap + 1:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    return [(a, b + 1) for a, b in runs]


def _text_run_near(binary: np.ndarray, span: tuple[int, int]) -> np.ndarray:
    """Keep the run of text (words closer than ~0.7 line height) that overlaps the face most."""
    columns = (binary == 0).any(axis=0)
    runs = _runs(columns, max_gap=int(0.7 * binary.shape[0]))
    if len(runs) <= 1:
        return binary

    def closeness(run: tuple[int, int]) -> tuple[int, int]:
        overlap = min(run[1], span[1]) - max(run[0], span[0])
        return (overlap, -abs((run[0] + run[1]) // 2 - (span[0] + span[1]) // 2))

    a, b = max(runs, key=closeness)
    return binary[:, max(a - 6, 0) : b + 6]


def _main_text_line(binary: np.ndarray) -> np.ndarray:
    """Keep the band of rows holding the most ink (the label), dropping bits of other tiles."""
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
    return binary[max(best[0] - 4, 0) : best[1] + 4]


@dataclass(slots=True)
class NameReader:
    """Reads and confirms tile names per student id; ``min_confidence`` is Tesseract's (0-100)."""

    min_confidence: float = 70.0
    confirmations: int = 2
    readings: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    names: dict[int, str] = field(default_factory=dict)
    available: bool = field(default_factory=tesseract_available)

    def read(self, image: np.ndarray, box: tuple[float, float, float, float]) -> str | None:
        """The text under ``box``, or None when nothing legible is there."""
        region, span = label_region(image, box)
        return self.read_region(region, span)

    def read_region(self, region: np.ndarray, face_span: tuple[int, int] | None = None) -> str | None:
        """The text of a label strip (see ``label_region``), or None."""
        if not self.available or region.size == 0 or min(region.shape[:2]) < 6:
            return None
        import pytesseract

        try:
            data = pytesseract.image_to_data(prepare_for_ocr(region, face_span), config="--psm 7",
                                             output_type=pytesseract.Output.DICT, timeout=2)
        except (RuntimeError, pytesseract.TesseractError, OSError):
            return None
        words = [_CLEAN.sub("", w).strip() for w, c in zip(data["text"], data["conf"])
                 if w.strip() and float(c) >= self.min_confidence]
        text = " ".join(w for w in words if w)
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
    wall-clock seconds (bounded CPU, ~0.25 s a read) and ``attempts`` reads per student."""

    def __init__(self, reader: NameReader, every_s: float = 1.0, attempts: int = 6) -> None:
        self.reader, self.every_s, self.attempts = reader, every_s, attempts
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classmood-ocr")
        self.pending: tuple[int, Future] | None = None
        self.tries: dict[int, int] = {}
        self.last = 0.0

    def step(self, image: np.ndarray, faces: list[tuple[int, tuple]]) -> list[tuple[int, str]]:
        """Collect a finished read and maybe start the next; returns the (student, name) pairs confirmed."""
        named: list[tuple[int, str]] = []
        if self.pending is not None and self.pending[1].done():
            student, future = self.pending
            self.pending = None
            name = self.reader.confirm(student, future.result())
            if name:
                named.append((student, name))
        now = time.monotonic()
        if self.pending is None and now - self.last >= self.every_s:
            # a student with one reading already goes first, so that names are confirmed one by one
            todo = [(student not in self.reader.readings, self.tries.get(student, 0), student, box)
                    for student, box in faces
                    if student not in self.reader.names and self.tries.get(student, 0) < self.attempts]
            if todo:
                *_, student, box = min(todo, key=lambda item: item[:2])
                self.tries[student] = self.tries.get(student, 0) + 1
                region, span = label_region(image, box)
                self.pending = (student, self.pool.submit(self.reader.read_region, region.copy(), span))
                self.last = now
        return named

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
