"""Accuracy, confusion matrix, per-class precision/recall, and their pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classmood.emotions import EMOTIONS


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n: int = len(EMOTIONS)) -> np.ndarray:
    """Rows are true classes, columns predicted."""
    return np.bincount(true * n + pred, minlength=n * n).reshape(n, n)


def summarize(true: np.ndarray, pred: np.ndarray, classes=EMOTIONS) -> dict:
    """``{accuracy, n, classes, confusion, per_class: {c: {precision, recall, n}}}``."""
    cm = confusion_matrix(np.asarray(true), np.asarray(pred), len(classes))
    per_class = {}
    for i, name in enumerate(classes):
        predicted, actual = cm[:, i].sum(), cm[i].sum()
        per_class[name] = {
            "precision": float(cm[i, i] / predicted) if predicted else 0.0,
            "recall": float(cm[i, i] / actual) if actual else 0.0,
            "n": int(actual),
        }
    total = int(cm.sum())
    return {
        "accuracy": float(np.trace(cm) / total) if total else 0.0,
        "n": total,
        "classes": list(classes),
        "confusion": cm.tolist(),
        "per_class": per_class,
    }


def plot_confusion(summary: dict, path: str | Path, title: str = "") -> None:
    """Row-normalised confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(summary["confusion"], float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    classes = summary["classes"]
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{norm[i, j]:.2f}\n({int(cm[i, j])})", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {summary['accuracy']:.2%} (n={summary['n']})")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(log_csv: str | Path, path: str | Path, title: str = "") -> None:
    """Loss and accuracy per epoch, train and validation, from a training log CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    log = pd.read_csv(log_csv)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(log.epoch, log.train_loss, label="train")
    ax1.plot(log.epoch, log.val_loss, label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(log.epoch, log.train_acc, label="train (augmented)")
    ax2.plot(log.epoch, log.val_acc, label="validation")
    ax2.plot(log.epoch, log.val_acc_flip, label="validation, flip TTA", linestyle="--")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
