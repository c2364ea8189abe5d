"""Where a run's soft targets come from: one small class per kind of teacher, behind one interface.

``make_targets(cfg, out_dir, device)`` picks the source from the config, as ``create_model`` picks an
architecture: an ONNX model's probabilities on the clean training faces (``teacher_model``), a file of
precomputed probabilities (``teacher_probs``), checkpoints run on every augmented batch (``teachers``),
those checkpoints' targets on ``teacher_views`` stored augmented views replayed in later epochs, or none
(the labels alone). The training loop only calls the interface of ``TargetSource``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from classmood.emotions import EMOTIONS
from classmood.train.config import TrainConfig
from classmood.train.inference import load_checkpoint_model, load_teacher_probs, teacher_probabilities
from classmood.train.view_cache import TeacherViewCache


class TargetSource:
    """No teacher: every batch is trained on its labels alone. The base of every source; the loop calls
    ``prepare`` once the training faces are loaded, ``start_epoch`` / ``end_epoch`` around each epoch,
    ``views`` for stored inputs that replace a fresh augmentation, and the source itself for a batch's targets."""

    def prepare(self, train_x: torch.Tensor, keep: np.ndarray | None) -> None:
        """Get ready for the training faces ``train_x`` (``keep``: which faces of the split a
        ``limit_per_class`` run kept, None for all)."""

    def start_epoch(self, epoch: int, order: torch.Tensor) -> torch.Tensor:
        """The faces the epoch shows, in order (``order``: a permutation of all of them)."""
        return order

    def views(self, idx: torch.Tensor) -> torch.Tensor | None:
        """Stored uint8 views of faces ``idx`` to train on instead of a fresh augmentation, or None."""
        return None

    def __call__(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor | None:
        """Soft targets ``(B, 7)`` for the normalised batch ``x`` of faces ``idx``, or None."""
        return None

    def end_epoch(self, complete: bool) -> None:
        """The epoch is over (``complete``: it ran every batch, not cut short by the time budget)."""


class FixedProbabilities(TargetSource):
    """A teacher's probabilities for each training face, fixed for the whole run, at temperature t."""

    def __init__(self, temperature: float):
        self.temperature = temperature
        self.probs: torch.Tensor | None = None  # (N, 7) in training-set order, from prepare()

    def load(self, train_x: torch.Tensor, keep: np.ndarray | None) -> torch.Tensor:
        raise NotImplementedError

    def prepare(self, train_x, keep) -> None:
        self.probs = self.load(train_x, keep)

    @torch.no_grad()
    def __call__(self, x, idx):
        # softmax(log p / t): the teacher's probabilities at temperature t
        return self.probs[idx].clamp_min(1e-8).log().div(self.temperature).softmax(1)


class OnnxTeacher(FixedProbabilities):
    """An ONNX model (path or bundled name) run once on the unaugmented training faces, its probabilities
    cached in the run folder under the model file's digest (another teacher never reuses them)."""

    def __init__(self, model: str, folder: Path, temperature: float):
        super().__init__(temperature)
        self.model, self.folder = model, Path(folder)

    def load(self, train_x, keep):
        from classmood.classify.registry import resolve_model

        digest = hashlib.sha256(resolve_model(self.model).path.read_bytes()).hexdigest()[:12]
        cache = self.folder / f"teacher_probs_{digest}.npy"
        probs = np.load(cache) if cache.exists() else None
        if probs is None or probs.shape[0] != train_x.shape[0]:
            probs = teacher_probabilities(self.model, train_x.cpu().numpy())
            np.save(cache, probs)
        return torch.from_numpy(probs).to(train_x.device)


class ProbabilitiesFile(FixedProbabilities):
    """Precomputed probabilities ``(N, 7)`` from a ``.npy`` file, one row per face of the training split."""

    def __init__(self, path: str | Path, temperature: float):
        super().__init__(temperature)
        self.path = path

    def load(self, train_x, keep):
        return load_teacher_probs(self.path, train_x.shape[0], train_x.device, keep)


class CheckpointTeachers(TargetSource):
    """Checkpoints run on every augmented batch ("consistent teaching"): their mean probabilities at temperature t
    (with ``weights``, one per model summing to 1: their weighted mean, as an ensemble fitted on held-out faces)."""

    def __init__(self, models: list[torch.nn.Module], temperature: float, weights: list[float] | None = None):
        self.models, self.temperature = models, temperature
        self.weights = None if weights is None else torch.tensor(weights, dtype=torch.float32)

    @torch.no_grad()
    def __call__(self, x, idx):
        probs = torch.stack([m(x).float().div(self.temperature).softmax(1) for m in self.models])
        if self.weights is None:
            return probs.mean(0)
        return torch.einsum("m,mbc->bc", self.weights.to(probs.device), probs)


class CachedViews(TargetSource):
    """``source``'s targets on ``slots`` augmented views of each face, kept in the run folder as the first
    ``slots`` epochs make them (``view_cache.TeacherViewCache``); later epochs replay those views and
    targets without running the teachers."""

    def __init__(self, source: TargetSource, folder: Path, slots: int, device: torch.device):
        self.source, self.folder, self.slots, self.device = source, Path(folder), slots, device
        self.cache: TeacherViewCache | None = None
        self.slot, self.replay = 0, False

    def prepare(self, train_x, keep) -> None:
        self.source.prepare(train_x, keep)
        self.cache = TeacherViewCache(self.folder, self.slots, train_x.shape[0], train_x.shape[-1], len(EMOTIONS))

    def start_epoch(self, epoch, order):
        self.slot = self.cache.slot_of(epoch)
        self.replay = self.cache.complete[self.slot]  # the slot's stored views: no teacher runs
        return self.cache.order(self.slot, order) if self.replay else order

    def views(self, idx):
        return self.cache.views_of(self.slot, idx, self.device) if self.replay else None

    def __call__(self, x, idx):
        if self.replay:
            return self.cache.targets_of(self.slot, idx, self.device)
        soft = self.source(x, idx)
        self.cache.store(self.slot, idx, x, soft)
        return soft

    def end_epoch(self, complete: bool) -> None:
        if complete and not self.replay:
            self.cache.finish(self.slot)  # a slot cut short by the budget is not kept


def load_teachers(paths: list[str], device: torch.device) -> list[torch.nn.Module]:
    """Teacher checkpoints, in eval mode on ``device``. Forward-only, they run in channels_last whatever
    their convolutions (VGG-13 1.2x, Xception 2x faster here)."""
    return [load_checkpoint_model(p, device).to(memory_format=torch.channels_last) for p in paths]


def make_targets(cfg: TrainConfig, out_dir: Path, device: torch.device) -> TargetSource:
    """The source of soft targets ``cfg`` asks for: ``teacher_model``, else ``teacher_probs``, else
    ``teachers`` (whose targets ``teacher_views`` keeps and replays), else none. Teacher checkpoints are
    loaded here, when the run is set up; the data-dependent part waits for ``prepare``."""
    t = cfg.distill_temperature
    teachers = load_teachers(cfg.teachers, device)
    if cfg.teacher_model:
        source: TargetSource = OnnxTeacher(cfg.teacher_model, out_dir, t)
    elif cfg.teacher_probs:
        source = ProbabilitiesFile(cfg.teacher_probs, t)
    elif teachers:
        source = CheckpointTeachers(teachers, t)
    else:
        source = TargetSource()
    if cfg.teacher_views and teachers:
        source = CachedViews(source, out_dir, cfg.teacher_views, device)
    return source
