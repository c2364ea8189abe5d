"""Measure an emotion model on a folder of labelled faces (one sub-folder per FER-2013 class).

Without ``detect`` each image is taken as a face crop (``WholeImageDetector``);
with it YuNet finds the face first and an image without a found face counts as
wrong (``undetected``). ``confusion`` rows are true classes, columns predictions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classmood.classify.crop import crop_faces
from classmood.classify.onnx_classifier import EmotionClassifier
from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError
from classmood.metrics import per_class_scores

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EvalReport:
    """Accuracy, confusion matrix and per-class precision/recall of one model on one folder."""

    model: str
    confusion: np.ndarray  # (7, 7) int, rows = true class
    n_per_class: np.ndarray  # (7,) images per true class, undetected included
    undetected: int
    skipped: int
    seconds: float
    detect: bool
    flip: bool = False

    @property
    def n(self) -> int:
        return int(self.n_per_class.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.n) if self.n else 0.0

    def model_card(self, evaluated_on: str | Path) -> dict:
        """What a model's metadata JSON says of its evaluation (the HTML report's footer shows it)."""
        per_class = per_class_scores(self.confusion, self.n_per_class, digits=4)
        return {"publictest_accuracy": round(self.accuracy, 4), "evaluated_on": str(evaluated_on),
                "per_class_recall": {c: v["recall"] for c, v in per_class.items()},
                "per_class_precision": {c: v["precision"] for c, v in per_class.items()},
                "confusion": self.confusion.astype(int).tolist()}

    def to_dict(self) -> dict:
        return {
            "accuracy": round(self.accuracy, 4),
            "n": self.n,
            "correct": int(np.trace(self.confusion)),
            "classes": list(EMOTIONS),
            "confusion": self.confusion.astype(int).tolist(),
            "per_class": per_class_scores(self.confusion, self.n_per_class, digits=4),
            "model": self.model,
            "detect": self.detect,
            "flip": self.flip,
            "undetected": self.undetected,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
            "images_per_s": round(self.n / self.seconds, 1) if self.seconds > 0 else None,
        }


def collect_dataset(root: str | Path, per_class: int | None = None) -> list[tuple[Path, int]]:
    """``(image path, class index)`` pairs from ``root/<class>/*``; other folders are warned about."""
    root = Path(root)
    if not root.is_dir():
        raise ClassmoodError(f"{root}: not a folder")
    items: list[tuple[Path, int]] = []
    found = False
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if sub.name not in EMOTIONS:
            log.warning("ignored folder %s: not one of %s", sub, ", ".join(EMOTIONS))
            continue
        found = True
        files = sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
        items.extend((p, EMOTIONS.index(sub.name)) for p in files[:per_class])
    if not found:
        raise ClassmoodError(f"{root}: no class sub-folder ({', '.join(EMOTIONS)})")
    if not items:
        raise ClassmoodError(f"{root}: the class folders hold no files")
    return items


def evaluate(root: str | Path, model: str | Path = "realtime", *, detect: bool = False,
             per_class: int | None = None, batch_size: int = 256, progress: bool = True,
             flip: bool = False) -> EvalReport:
    """Run ``model`` over every image under ``root`` and tally the results
    (``flip``: add mirror-image test-time augmentation outside the model)."""
    from tqdm import tqdm

    from classmood.detect import WholeImageDetector, YuNetDetector
    from classmood.sources.imageio import read_image

    items = collect_dataset(root, per_class)
    classifier = EmotionClassifier(model, flip=flip)
    detector = YuNetDetector() if detect else WholeImageDetector()
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
    n_per_class = np.zeros(len(EMOTIONS), np.int64)
    undetected = skipped = 0
    crops: list[np.ndarray] = []
    labels: list[int] = []

    def flush() -> None:
        if crops:
            predicted = classifier.predict_crops(np.stack(crops)).argmax(axis=1)
            np.add.at(confusion, (np.asarray(labels), predicted), 1)
            crops.clear()
            labels.clear()

    start = time.perf_counter()
    for path, label in tqdm(items, desc="evaluate", unit="img", disable=not progress, leave=False):
        try:
            image = read_image(path)
        except ClassmoodError as exc:
            log.warning("skipped %s", exc)
            skipped += 1
            continue
        n_per_class[label] += 1
        found = detector.detect(image)
        if len(found) == 0:
            undetected += 1
            continue
        crops.append(crop_faces(image, found.boxes[:1], classifier.size, classifier.margin)[0])
        labels.append(label)
        if len(crops) >= batch_size:
            flush()
    flush()
    if n_per_class.sum() == 0:
        raise ClassmoodError(f"{root}: no readable image ({skipped} skipped)")
    return EvalReport(classifier.name, confusion, n_per_class, undetected, skipped,
                      time.perf_counter() - start, detect, classifier.flip)
