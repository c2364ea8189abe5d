"""Classification metrics from a confusion matrix (numpy only; training and evaluation share them)."""

from __future__ import annotations

import numpy as np

from classmood.emotions import EMOTIONS


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int = len(EMOTIONS)) -> np.ndarray:
    """Rows are true classes, columns predicted."""
    return np.bincount(np.asarray(true) * n + np.asarray(pred), minlength=n * n).reshape(n, n)


def per_class_scores(confusion: np.ndarray, support: np.ndarray | None = None, classes=EMOTIONS,
                     digits: int | None = None) -> dict:
    """``{class: {precision, recall, n}}``. ``support`` counts the faces of each true class when
    some never reached the matrix (undetected faces count against recall); default: row sums."""
    confusion = np.asarray(confusion)
    support = confusion.sum(axis=1) if support is None else np.asarray(support)
    predicted = confusion.sum(axis=0)

    def ratio(a, b) -> float:
        value = float(a / b) if b else 0.0
        return round(value, digits) if digits is not None else value

    return {name: {"precision": ratio(confusion[i, i], predicted[i]), "recall": ratio(confusion[i, i], support[i]),
                   "n": int(support[i])} for i, name in enumerate(classes)}


def summarize(true: np.ndarray, pred: np.ndarray, classes=EMOTIONS) -> dict:
    """``{accuracy, n, classes, confusion, per_class: {c: {precision, recall, n}}}``."""
    cm = confusion_matrix(true, pred, len(classes))
    total = int(cm.sum())
    return {
        "accuracy": float(np.trace(cm) / total) if total else 0.0,
        "n": total,
        "classes": list(classes),
        "confusion": cm.tolist(),
        "per_class": per_class_scores(cm, classes=classes),
    }
