"""Pictures of training results: confusion matrix and loss/accuracy curves.

The numbers themselves (accuracy, confusion matrix, per-class precision/recall) come from
``classmood.metrics``, shared with ``classmood evaluate``; re-exported here for the trainer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classmood.metrics import confusion_matrix, summarize

__all__ = ["confusion_matrix", "plot_confusion", "plot_curves", "summarize"]


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
