"""What a run does around and after its last epoch: weight averaging, batch norm re-measured, the
quantisation-aware checkpoint, and the summary with its curves.

The loop updates a ``WeightAverage`` at each epoch's end and, once it stops, hands a ``RunEnd`` to the
finishers: ``remeasure_batchnorm`` (``best_bn.pt``, ``swa.pt``) or, for a quantisation-aware run,
``save_quantised`` (``qat.pt``); then ``write_summary``. Each returns what it measured.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

from classmood.train.architectures import count_parameters
from classmood.train.checkpoint import write_checkpoint
from classmood.train.config import TrainConfig
from classmood.train.data import FaceArrays
from classmood.train.inference import load_checkpoint_model
from classmood.train.metrics import plot_confusion, plot_curves, summarize
from classmood.train.soup import recalibrate_batchnorm


class WeightAverage:
    """Stochastic weight averaging (Izmailov et al. 2018): the mean of the weights at the end of each
    epoch from ``start`` of the schedule on, where the rate is held at ``swa_lr``."""

    def __init__(self, model: torch.nn.Module, start: float):
        self.average, self.start = AveragedModel(model), start

    def update(self, model: torch.nn.Module, progress: float) -> None:
        """Add ``model``'s weights at an epoch's end once ``progress`` reaches ``start``."""
        if progress >= self.start:
            self.average.update_parameters(model)

    @property
    def count(self) -> int:
        """How many epochs' weights the average holds."""
        return int(self.average.n_averaged)

    def state_dict(self) -> dict:
        return self.average.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.average.load_state_dict(state)


@dataclass
class RunEnd:
    """A run whose loop has stopped, as its finishers see it."""

    cfg: TrainConfig
    out: Path
    model: torch.nn.Module
    device: torch.device
    epoch: int
    seconds: float
    best: float  # best validation accuracy (flip TTA) of the loop
    evaluate: Callable[..., dict]  # (images, labels, model=None) -> metrics, as Trainer.evaluate
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor

    def accuracy(self, model: torch.nn.Module | None = None) -> float:
        """Validation accuracy (flip TTA) of ``model`` (default: the run's model)."""
        return self.evaluate(self.val_x, self.val_y, model)["val_acc_flip"]

    def save(self, name: str, state: dict) -> None:
        write_checkpoint(state, self.out / name)


def remeasure_batchnorm(end: RunEnd, average: WeightAverage | None) -> dict[str, float]:
    """``best_bn.pt`` and (with an average) ``swa.pt``: batch norm re-measured on ``bn_faces`` clean training
    faces and their mirrors (the running statistics of augmented batches are off for clean faces);
    returns their validation accuracies (flip TTA)."""
    cfg = end.cfg
    faces = FaceArrays(end.train_x.cpu().numpy(), end.train_y.cpu().numpy()).sample(cfg.bn_faces, cfg.seed).images
    models = {}
    best = end.out / "best.pt"
    if best.exists():
        models["best_bn"] = load_checkpoint_model(best, end.device)
    if average is not None and average.count > 0:
        models["swa"] = average.average.module
    accuracies = {}
    for name, model in models.items():
        recalibrate_batchnorm(model, faces)
        accuracies[name] = end.accuracy(model)
        end.save(f"{name}.pt", {"arch": cfg.arch, "model": model.state_dict(), "epoch": end.epoch,
                                "val_acc_flip": accuracies[name], "bn_faces": len(faces),
                                "swa_averaged": average.count if name == "swa" else None, "config": cfg.to_dict()})
        print(f"[{cfg.arch}] {name}.pt: batch norm re-measured on {len(faces)} faces + mirrors, "
              f"val flip {accuracies[name]:.4f}", flush=True)
    return accuracies


def save_quantised(end: RunEnd, weights: dict) -> dict[str, float]:
    """``qat.pt`` of a quantisation-aware run: its final ``weights`` with their int8 ranges (batch norm is
    folded into int8 weights, so it is not re-measured); returns its validation accuracy (flip TTA)."""
    accuracy = end.accuracy()
    end.save("qat.pt", {**weights, "epoch": end.epoch, "val_acc_flip": accuracy, "config": end.cfg.to_dict()})
    return {"qat": accuracy}


def write_summary(end: RunEnd, finished: dict[str, float]) -> None:
    """``summary.json``, ``val_probs.npy``, curves and confusion matrix of the final model, with the
    accuracies of what the other finishers wrote (``finished``: checkpoint name -> accuracy)."""
    cfg, out = end.cfg, end.out
    metrics = end.evaluate(end.val_x, end.val_y)
    summary = summarize(end.val_y.cpu().numpy(), metrics["pred_flip"])
    summary.update(arch=cfg.arch, epochs=end.epoch, train_seconds=round(end.seconds, 1),
                   params=count_parameters(end.model), device=str(end.device),
                   val_acc=metrics["val_acc"], val_acc_flip=metrics["val_acc_flip"], best_val_acc_flip=end.best,
                   **{f"{name}_val_acc_flip": acc for name, acc in finished.items()})
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    np.save(out / "val_probs.npy", metrics["probs_flip"].astype(np.float16))
    try:
        plot_curves(out / "log.csv", out / "curves.png", f"{cfg.arch} on FER-2013")
        plot_confusion(summary, out / "confusion.png", f"{cfg.arch}: publictest {summary['accuracy']:.2%} (flip TTA)")
    except ImportError:  # plotting is optional on a bare training machine
        pass
