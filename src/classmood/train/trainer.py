"""The training loop: schedule, bf16 autocast, distillation loss, evaluation, checkpoints, resume, logs.

Soft targets come from ``targets`` (one source per kind of teacher, picked from the config); what
happens after the last epoch (weights averaged, batch norm re-measured, the QAT checkpoint, the summary
and curves) lives in ``finishers``.

A run directory holds ``config.yaml``, ``log.csv`` (one row per epoch), ``last.pt``
(resumable), ``best.pt`` (best validation accuracy with flip test-time augmentation),
``best_bn.pt`` (those weights with batch norm re-measured on clean training faces: the running
statistics of augmented batches are off for clean faces), ``swa.pt`` when ``swa_start`` is set
(the mean of the weights at the end of each epoch of the constant-rate tail, batch norm
re-measured: stochastic weight averaging, Izmailov et al. 2018), ``curves.png``,
``confusion.png`` and ``summary.json``; with ``teachers`` and ``teacher_views`` also
``teacher_views_K.npz`` (the augmented views and the teachers' targets, replayed later). A
quantisation-aware run (``qat_observe_steps``) keeps batch norm frozen and ends with ``qat.pt``
(the final weights and their int8 activation ranges) instead of the re-measured checkpoints.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from classmood.train.architectures import count_parameters, create_model
from classmood.train.augment import AugmentConfig, augment, normalize
from classmood.train.checkpoint import read_checkpoint, with_qat_ranges, write_checkpoint
from classmood.train.config import TrainConfig
from classmood.train.data import FaceArrays, load_split
from classmood.train.finishers import RunEnd, WeightAverage, remeasure_batchnorm, save_quantised, write_summary
from classmood.train.inference import load_checkpoint_model, predict_logits
from classmood.train.metrics import summarize
from classmood.train.qat import QuantSim, plain_state_dict
from classmood.train.targets import make_targets

LOG_FIELDS = ["epoch", "seconds", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_acc_flip"]


@dataclass
class TrainResult:
    out_dir: Path
    best_val_acc: float
    epochs: int
    seconds: float


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay over ``progress`` in [0, 1]: to zero at the end, or with
    ``swa_start`` to ``swa_lr`` at that point and held there."""
    if progress < cfg.warmup_frac:
        return cfg.lr * progress / cfg.warmup_frac
    end, floor = (1.0, 0.0) if cfg.swa_start is None else (cfg.swa_start, cfg.swa_lr)
    if progress >= end:
        return floor
    p = (progress - cfg.warmup_frac) / max(1e-9, end - cfg.warmup_frac)
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def loss_of(logits: torch.Tensor, y: torch.Tensor, soft: torch.Tensor | None, cfg: TrainConfig) -> torch.Tensor:
    """Cross-entropy with label smoothing; with soft targets, mixed with the distillation loss (KL
    divergence at ``distill_temperature``, weighted ``distill_alpha``)."""
    ce = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
    if soft is None:
        return ce
    t = cfg.distill_temperature
    kd = F.kl_div(logits.div(t).log_softmax(1), soft, reduction="batchmean") * t * t
    return cfg.distill_alpha * kd + (1 - cfg.distill_alpha) * ce


def channels_last_format(model: torch.nn.Module, device: torch.device) -> torch.memory_format:
    """channels_last where it pays: always with cuDNN; on the CPU (1.1-1.5x faster steps here) only for
    models without grouped/depthwise convolutions, whose backward crashes in that layout (torch 2.13)."""
    grouped = any(isinstance(m, torch.nn.Conv2d) and m.groups > 1 for m in model.modules())
    return torch.channels_last if device.type == "cuda" or not grouped else torch.contiguous_format


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.out = Path(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = pick_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.aug = AugmentConfig(**cfg.augment)
        kwargs = {"imagenet_checkpoint": cfg.imagenet_checkpoint} if cfg.imagenet_checkpoint else {}
        model = create_model(cfg.arch, **kwargs)
        self.memory_format = channels_last_format(model, self.device)
        self.model = model.to(self.device).to(memory_format=self.memory_format)
        if cfg.init_checkpoint:
            init = load_checkpoint_model(cfg.init_checkpoint)
            self.model.load_state_dict(init.state_dict())
        self.qat = None
        if cfg.qat_observe_steps is not None:
            self.qat = QuantSim(self.model, cfg.qat_observe_steps)
        decay = [p for n, p in self.model.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in self.model.named_parameters() if p.ndim <= 1]
        self.optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
        )
        self.targets = make_targets(cfg, self.out, self.device)  # teachers' soft targets, or none
        self.swa = WeightAverage(self.model, cfg.swa_start) if cfg.swa_start is not None else None
        self.epoch, self.step, self.elapsed, self.best = 0, 0, 0.0, 0.0

    # --- data ---------------------------------------------------------------------------------
    def _load(self, source, split) -> tuple[torch.Tensor, torch.Tensor, np.ndarray | None]:
        """Faces and labels on the device, and which faces of the split a ``limit_per_class`` run kept."""
        arrays: FaceArrays = load_split(source, split, self.cfg.image_size)
        keep = arrays.subset_indices(self.cfg.limit_per_class, self.cfg.seed)
        arrays = arrays.select(keep)
        return torch.from_numpy(arrays.images).to(self.device), torch.from_numpy(arrays.labels).to(self.device), keep

    # --- checkpoints --------------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "arch": self.cfg.arch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "elapsed": self.elapsed,
            "best": self.best,
            "config": self.cfg.to_dict(),
            "rng": torch.get_rng_state(),
            "swa": self.swa.state_dict() if self.swa is not None else None,
        }

    def _resume(self) -> bool:
        last = self.out / "last.pt"
        if not last.exists():
            return False
        state = read_checkpoint(last, self.device)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.swa is not None and state.get("swa") is not None:
            self.swa.load_state_dict(state["swa"])
        self.epoch, self.step, self.elapsed, self.best = state["epoch"], state["step"], state["elapsed"], state["best"]
        torch.set_rng_state(state["rng"].cpu())
        return True

    def _save(self, name: str, state: dict) -> None:
        write_checkpoint(state, self.out / name)

    # --- loop ---------------------------------------------------------------------------------
    def _progress(self, steps_total: int, running: float = 0.0) -> float:
        """Fraction of the schedule done: by steps, or by time when a budget is set (whichever is further)."""
        by_steps = self.step / steps_total if self.cfg.epochs else 0.0
        if self.cfg.time_budget_s:
            return max(by_steps, (self.elapsed + running) / self.cfg.time_budget_s)
        return by_steps

    def _loss(self, logits, y, soft: torch.Tensor | None):
        return loss_of(logits, y, soft, self.cfg)

    def evaluate(self, images, labels, model: torch.nn.Module | None = None) -> dict:
        model = self.model if model is None else model
        plain = predict_logits(model, images, bf16=self.cfg.bf16)
        mirror = predict_logits(model, images.flip(2), bf16=self.cfg.bf16)
        flipped = (plain.softmax(1) + mirror.softmax(1)).log()  # flip TTA reuses the plain pass
        return {
            "val_loss": float(F.cross_entropy(plain, labels)),
            "val_acc": float((plain.argmax(1) == labels).float().mean()),
            "val_acc_flip": float((flipped.argmax(1) == labels).float().mean()),
            "pred_flip": flipped.argmax(1).cpu().numpy(),
            "probs_flip": flipped.softmax(1).cpu().numpy(),
        }

    def fit(self, resume: bool = True) -> TrainResult:
        cfg = self.cfg
        cfg.save(self.out / "config.yaml")
        resumed = resume and self._resume()
        train_x, train_y, train_keep = self._load(cfg.train_data, cfg.train_split)
        val_x, val_y, _ = self._load(cfg.val_data, cfg.val_split)
        targets = self.targets
        targets.prepare(train_x, train_keep)
        n = train_x.shape[0]
        steps_per_epoch = max(1, n // cfg.batch_size)
        steps_total = steps_per_epoch * max(1, cfg.epochs)
        log_path = self.out / "log.csv"
        if not resumed or not log_path.exists():
            with open(log_path, "w", newline="") as fh:
                csv.writer(fh).writerow(LOG_FIELDS)
        print(f"[{cfg.arch}] {count_parameters(self.model)/1e6:.2f}M params, {n} train / {len(val_y)} val faces, "
              f"device {self.device}{', resumed at epoch ' + str(self.epoch) if resumed else ''}", flush=True)

        while self._progress(steps_total) < 1.0:
            self.model.train()
            started = time.perf_counter()
            order = targets.start_epoch(self.epoch, torch.randperm(n, device=self.device))
            loss_sum = correct = seen = 0
            batches = max(1, len(order) // cfg.batch_size)
            bar = tqdm(range(batches), desc=f"{cfg.arch} epoch {self.epoch + 1}", leave=False, disable=None, mininterval=2.0)
            for i in bar:
                idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
                stored = targets.views(idx)  # replayed views (with their stored targets), or None
                x = augment(train_x[idx], self.aug) if stored is None else normalize(stored)
                x = x.contiguous(memory_format=self.memory_format)
                y = train_y[idx]
                lr = lr_at(min(1.0, self._progress(steps_total, time.perf_counter() - started)), cfg)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                    soft = targets(x, idx)
                    logits = self.model(x)
                    loss = self._loss(logits.float(), y, soft)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.step += 1
                if self.qat is not None:
                    self.qat.step(self.step)
                if i % 10 == 0:  # sampled running stats: syncing with the device every step costs time
                    loss_sum += float(loss.detach()) * len(y)
                    correct += int((logits.argmax(1) == y).sum())
                    seen += len(y)
                if self._progress(steps_total, time.perf_counter() - started) >= 1.0:
                    break
            targets.end_epoch(complete=i == batches - 1)
            self.epoch += 1
            metrics = self.evaluate(val_x, val_y)
            self.elapsed += time.perf_counter() - started  # the budget counts evaluation too
            if self.swa is not None:
                self.swa.update(self.model, self._progress(steps_total))
            row = {"epoch": self.epoch, "seconds": round(self.elapsed, 1), "lr": round(lr, 6),
                   "train_loss": round(loss_sum / max(seen, 1), 4), "train_acc": round(correct / max(seen, 1), 4),
                   **{k: round(v, 4) for k, v in metrics.items() if k.startswith("val")}}
            with open(log_path, "a", newline="") as fh:
                csv.writer(fh).writerow([row[k] for k in LOG_FIELDS])
            print(f"[{cfg.arch}] epoch {self.epoch} {row['seconds']}s lr {row['lr']:.4f} "
                  f"train {row['train_acc']:.3f} val {row['val_acc']:.4f} flip {row['val_acc_flip']:.4f}", flush=True)
            state = self._state()
            if metrics["val_acc_flip"] > self.best:
                self.best = metrics["val_acc_flip"]
                state["best"] = self.best
                self._save("best.pt", {**self._weights(), "epoch": self.epoch, "val_acc_flip": self.best,
                                       "config": cfg.to_dict()})
                summary = summarize(val_y.cpu().numpy(), metrics["pred_flip"])
                summary.update(arch=cfg.arch, epoch=self.epoch, params=count_parameters(self.model))
                (self.out / "best_summary.json").write_text(json.dumps(summary, indent=1))
            self._save("last.pt", state)

        end = RunEnd(cfg, self.out, self.model, self.device, self.epoch, self.elapsed, self.best, self.evaluate,
                     train_x, train_y, val_x, val_y)
        finished = save_quantised(end, self._weights()) if self.qat is not None else remeasure_batchnorm(end, self.swa)
        write_summary(end, finished)
        return TrainResult(self.out, self.best, self.epoch, self.elapsed)

    def _weights(self) -> dict:
        """The architecture and weights as ``load_checkpoint_model`` reads them (and int8 ranges if QAT)."""
        if self.qat is None:
            return {"arch": self.cfg.arch, "model": self.model.state_dict()}
        return with_qat_ranges({"arch": self.cfg.arch, "model": plain_state_dict(self.model)}, self.qat.points())


def train(cfg: TrainConfig, resume: bool = True) -> TrainResult:
    return Trainer(cfg).fit(resume=resume)
