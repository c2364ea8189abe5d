"""Study (issue 21, not shipped): a reader of name labels, a small CRNN on ONNX Runtime that reads a
gallery tile's label strip whole (no text detector), in Latin with accents, Cyrillic and Greek.
Trained by ``train.py`` on rendered labels of random names; README.md has the results.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import cv2
import numpy as np

MODEL = Path(__file__).with_name("model") / "label_reader.onnx"
HEIGHT = 32  # px: the strip's height as the model sees it
MAX_WIDTH = 400  # px: wider strips are squeezed to it


def to_input(strip: np.ndarray) -> np.ndarray:
    """A grey (or BGR) label strip as the model's input: ``HEIGHT`` px high, normalised float32."""
    grey = strip if strip.ndim == 2 else cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY)
    width = int(np.clip(round(grey.shape[1] * HEIGHT / max(grey.shape[0], 1)), 16, MAX_WIDTH))
    resized = cv2.resize(grey, (width, HEIGHT), interpolation=cv2.INTER_AREA if grey.shape[0] > HEIGHT else cv2.INTER_CUBIC)
    return (resized.astype(np.float32) / 255.0 - 0.5) / 0.25


def decode(log_probs: np.ndarray, alphabet: str) -> tuple[str, float]:
    """Greedy CTC decoding of one strip's ``(T, classes)`` log-probabilities: the text and its least
    sure character's probability (0 when nothing is read)."""
    best = log_probs.argmax(-1)
    sure = np.exp(log_probs.max(-1))
    chars, confidences, last = [], [], 0
    for t, k in enumerate(best.tolist()):
        if k != 0 and k != last:
            chars.append(alphabet[k - 1])
            confidences.append(float(sure[t]))
        last = k
    return "".join(chars), min(confidences, default=0.0)


@cache
def _model():
    from classmood.classify.onnx_classifier import cpu_session

    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    return cpu_session(MODEL, threads=1), meta


def model_available() -> bool:
    return MODEL.is_file() and MODEL.with_suffix(".json").is_file()


class LabelReaderEngine:
    """The ``OcrEngine`` of classmood's own reader: the tile's label strip read whole; each attempt
    cuts it a little differently (so that two equal reads are not one misreading repeated)."""

    name = "classmood"
    min_confidence = 0.6  # the least sure character's probability

    def read(self, region: np.ndarray, face_span: tuple[int, int] | None = None,
             attempt: int = 0) -> tuple[str, float]:
        session, meta = _model()
        trim = int(round(region.shape[0] * 0.06)) if attempt % 2 else 0  # the second look: a little less above
        x = to_input(region[trim:])[None, None]
        (log_probs,) = session.run(None, {"strip": x})
        return decode(log_probs[:, 0], meta["alphabet"])
