"""Training many networks at once on one device, sized for a GPU and 48x48 faces.

On 48x48 faces one network rarely fills a GPU: a step is short, and the time goes to data loading,
kernel launches and processes taking turns on the card. Here everything stays in one process:

- **data on the device**: the whole training split is one uint8 tensor there (28,709 faces: 66 MB);
  each batch is gathered by index and augmented there in one pass (``augment.augment``: random affine
  with flip, rotation, scale and shift through ``affine_grid``, brightness/contrast, random erasing);
- **bf16 autocast, channels_last** (in the per-member mode below), optionally ``torch.compile``;
- **large batches**: the plan's learning rate is for batches of 128 and scales linearly with the batch
  (Goyal et al. 2017), with a linear warm-up and cosine decay (``trainer.lr_at``), label smoothing and
  soft targets as in ``trainer`` (``trainer.loss_of``);
- **several models per process**. A ``MemberGroup`` is ``members`` networks of one architecture
  (different seeds, each its own shuffling and augmentation, or one shared batch for distillation),
  stepped as one unit in one of two ways:

  * ``vmap``: their weights stacked (``torch.func.stack_module_state``) and one vectorised forward and
    backward (``functional_call`` under ``vmap``; batch norm's running statistics and dropout masks
    stay per member). The convolutions become one grouped convolution over all members: few, large
    kernels, which pays for small networks whose single steps are launch-bound;
  * ``loop``: the members as ordinary modules in channels_last, one after another in the same step.
    Grouped convolutions of wide networks can be slower on cuDNN than separate channels_last ones, and
    channels_last cannot be asked for inside ``vmap`` (the stacked weights are 5-D).

  ``auto`` lets the probe time both on the device and keep the faster, so no guess is baked in; with
  one member it is ``loop``. Different architectures (several groups) are interleaved step by step in
  the same process (``train_fleet``): the group furthest behind in its schedule steps next, so all
  groups end together and the device's queue never waits on another process. CUDA streams were not
  used: with large batches each kernel already fills the GPU and streams would only add
  synchronisation to get right.

Selection never looks at publictest: ``holdout_split`` keeps a stratified part of ``train`` (fixed
seed) for choosing each member's best epoch, early stopping, batch-norm re-measurement and ensemble
weights (``ensemble_weights``); publictest is measured once per final model by the caller.

``probe`` measures epochs per second of each group on the device before any campaign, which then
sizes epochs to its time budget.
"""

from __future__ import annotations

import copy
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from classmood.train.architectures import create_model
from classmood.train.augment import AugmentConfig, augment
from classmood.train.checkpoint import read_model_checkpoint, write_checkpoint
from classmood.train.config import TrainConfig
from classmood.train.data import FaceArrays
from classmood.train.inference import flip_probabilities
from classmood.train.soup import recalibrate_batchnorm
from classmood.train.targets import TargetSource
from classmood.train.trainer import channels_last_format, loss_of, lr_at

MODES = ("auto", "vmap", "loop")
REFERENCE_BATCH = 128  # the batch the plans' learning rates are given for


def holdout_split(labels: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices ``(fit, held_out)``: ``fraction`` of each class held out (at least one face), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    held = [rng.permutation(np.flatnonzero(labels == c))[:max(1, round(fraction * int((labels == c).sum())))]
            for c in np.unique(labels)]
    held_out = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), held_out), held_out


def scaled_lr(lr: float, batch_size: int) -> float:
    """The learning rate for ``batch_size`` of one given for batches of ``REFERENCE_BATCH`` (linear scaling)."""
    return lr * batch_size / REFERENCE_BATCH


@dataclass
class Member:
    """One trained network as the campaign keeps it: its checkpoint and held-out figures."""

    name: str
    arch: str
    path: Path
    epoch: int
    holdout_acc: float  # flip TTA, on the held-out part of train
    holdout_probs: np.ndarray = field(repr=False)  # (N, 7) flip-TTA probabilities on the held-out faces
    bn_remeasured: bool = False


class MemberGroup:
    """``members`` networks of architecture ``cfg.arch`` trained as one unit on ``train`` faces already on the
    device, selected on ``holdout`` faces; see the module docstring for ``mode``. ``shared_batch``: every
    member sees the same batch (needed by ``targets``, which soft-labels that one batch)."""

    def __init__(self, name: str, cfg: TrainConfig, members: int, train: tuple[torch.Tensor, torch.Tensor],
                 holdout: tuple[torch.Tensor, torch.Tensor], out_dir: Path, *, mode: str = "loop",
                 compile: bool = False, shared_batch: bool = False, targets: TargetSource | None = None,
                 eval_every: int = 1, patience: int = 0, log: Callable[[str], None] = print):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self.name, self.cfg, self.members, self.log = name, cfg, members, log
        self.train_x, self.train_y = train
        self.holdout_x, self.holdout_y = holdout
        self.device = self.train_x.device
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.shared = shared_batch or targets is not None
        self.targets = targets
        self.aug = AugmentConfig(**cfg.augment)
        self.batch = min(cfg.batch_size, len(self.train_y))
        self.steps_per_epoch = max(1, len(self.train_y) // self.batch)
        self.steps_total = self.steps_per_epoch * max(1, cfg.epochs)
        self.eval_every, self.patience = max(1, eval_every), patience
        torch.manual_seed(cfg.seed)
        nets = [create_model(cfg.arch).to(self.device) for _ in range(members)]
        self.mode = "loop" if members == 1 or mode == "auto" else mode
        if self.mode == "vmap":
            self.params, self.buffers = stack_module_state(nets)
            base = copy.deepcopy(nets[0]).to("meta").train()

            def one(params, buffers, x):
                return functional_call(base, (params, buffers), (x,))

            self._vmapped = vmap(one, in_dims=(0, 0, None if self.shared else 0), randomness="different")
            self._viewer = create_model(cfg.arch).to(self.device)  # one member at a time, for evaluation
            named = list(self.params.items())
            per_member_ndim = {k: v.ndim - 1 for k, v in named}
        else:
            self.layout = channels_last_format(nets[0], self.device)
            self.nets = [n.to(memory_format=self.layout).train() for n in nets]
            named = [(k, p) for n in self.nets for k, p in n.named_parameters()]
            per_member_ndim = {k: p.ndim for k, p in named}
        self._forward = self._forward_vmap if self.mode == "vmap" else self._forward_loop
        if compile:
            self._forward = torch.compile(self._forward)
        decay = [p for k, p in named if per_member_ndim[k] > 1]
        no_decay = [p for k, p in named if per_member_ndim[k] <= 1]
        self.optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
        self.step_count = self.epoch = self.stale = self.evaluated_step = 0
        self.lr, self.started, self.done = 0.0, time.perf_counter(), False
        self.best = [-1.0] * members
        self.best_probs: list[np.ndarray | None] = [None] * members
        self.best_epoch = [0] * members
        self._order: torch.Tensor | None = None
        self._loss_sum = torch.zeros((), device=self.device)
        self._loss_n = 0
        self.log_path = self.out / "log.csv"
        with open(self.log_path, "w", newline="") as fh:
            csv.writer(fh).writerow(["epoch", "seconds", "lr", "train_loss", *[f"holdout_acc_flip_m{m}" for m in range(members)]])

    # --- forward --------------------------------------------------------------------------------
    def _forward_vmap(self, x: torch.Tensor) -> torch.Tensor:
        return self._vmapped(self.params, self.buffers, x)

    def _forward_loop(self, x: torch.Tensor) -> torch.Tensor:
        views = [x] * self.members if self.shared else list(x)
        return torch.stack([net(v.contiguous(memory_format=self.layout)) for net, v in zip(self.nets, views)])

    @property
    def progress(self) -> float:
        """Fraction of the group's steps done."""
        return self.step_count / self.steps_total

    # --- one step -------------------------------------------------------------------------------
    def step(self, progress: float) -> bool:
        """One optimiser step of every member at schedule position ``progress`` (in [0, 1]); True at an epoch's end."""
        cfg, n, b, m = self.cfg, len(self.train_y), self.batch, self.members
        i = self.step_count % self.steps_per_epoch
        if i == 0:  # a fresh order per epoch: one for all members, or one each
            shape = (n,) if self.shared else (m, n)
            self._order = torch.rand(shape, device=self.device).argsort(-1)
        idx = self._order[..., i * b:(i + 1) * b]
        x = augment(self.train_x[idx.reshape(-1)], self.aug)
        y = self.train_y[idx]
        if not self.shared:
            x = x.view(m, b, *x.shape[1:])
        self.lr = lr_at(min(1.0, progress), cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            soft = self.targets(x, idx) if self.targets is not None else None
            logits = self._forward(x).float()  # (members, batch, classes)
        labels = y.expand(m, -1) if self.shared else y
        soft = None if soft is None else soft.float().expand(m, -1, -1).flatten(0, 1)
        # the mean over members x faces, times members: the sum of each member's own loss
        loss = loss_of(logits.flatten(0, 1), labels.flatten(), soft, cfg) * m
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_count += 1
        if i % 10 == 0:  # sampled, and kept on the device: no synchronisation in the loop
            self._loss_sum += loss.detach() / m
            self._loss_n += 1
        return self.step_count % self.steps_per_epoch == 0

    # --- members ----------------------------------------------------------------------------------
    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        if self.mode == "vmap":
            return {name: v[k].detach().clone() for name, v in {**self.params, **self.buffers}.items()}
        return {name: v.detach().clone() for name, v in self.nets[k].state_dict().items()}

    def member_model(self, k: int) -> torch.nn.Module:
        """Member ``k`` as an ordinary module in eval mode (call ``train_mode`` before stepping again)."""
        if self.mode == "vmap":
            self._viewer.load_state_dict(self.member_state(k))
            return self._viewer.eval()
        return self.nets[k].eval()

    def train_mode(self) -> None:
        if self.mode == "loop":
            for net in self.nets:
                net.train()

    def member_name(self, k: int) -> str:
        return f"{self.name}_m{k}"

    def checkpoint_path(self, k: int) -> Path:
        return self.out / f"{self.member_name(k)}.pt"

    # --- epochs -----------------------------------------------------------------------------------
    def end_epoch(self, seconds: float) -> None:
        """Count a finished epoch; every ``eval_every`` epochs and at the last, ``evaluate``."""
        self.epoch += 1
        if self.epoch % self.eval_every == 0 or self.step_count >= self.steps_total:
            self.evaluate(seconds)

    def evaluate(self, seconds: float) -> None:
        """Measure each member on the held-out faces (flip TTA), keep its best weights, log a row; stop the
        group after ``patience`` evaluations in a row without a member gaining (0: never)."""
        self.evaluated_step = self.step_count
        accs, gained = [], False
        for k in range(self.members):
            probs = flip_probabilities(self.member_model(k), self.holdout_x, bf16=self.cfg.bf16)
            acc = float((probs.argmax(1) == self.holdout_y).float().mean())
            accs.append(acc)
            if acc > self.best[k]:
                gained = True
                self.best[k], self.best_epoch[k] = acc, self.epoch
                self.best_probs[k] = probs.cpu().numpy()
                write_checkpoint({"arch": self.cfg.arch, "model": self.member_state(k), "epoch": self.epoch,
                                  "val_acc_flip": acc, "selected_on": "holdout", "config": self.cfg.to_dict()},
                                 self.checkpoint_path(k))
        self.train_mode()
        loss = float(self._loss_sum) / max(1, self._loss_n)
        self._loss_sum.zero_()
        self._loss_n = 0
        with open(self.log_path, "a", newline="") as fh:
            csv.writer(fh).writerow([self.epoch, round(seconds, 1), round(self.lr, 6), round(loss, 4), *[round(a, 4) for a in accs]])
        self.log(f"[{self.name}] epoch {self.step_count / self.steps_per_epoch:.1f}/{self.cfg.epochs} {seconds:.0f}s lr {self.lr:.4f} loss {loss:.3f} "
                 f"holdout {' '.join(f'{a:.4f}' for a in accs)}")
        self.stale = 0 if gained else self.stale + 1
        if self.patience and self.stale >= self.patience:
            self.log(f"[{self.name}] early stop: no member gained on the held-out faces in {self.patience} evaluations")
            self.done = True

    def finish(self, fit_faces: np.ndarray, bn_faces: int = 8000) -> list[Member]:
        """Each member's best weights; where it has batch norm, re-measured on ``bn_faces`` clean fit faces
        and kept if that scores higher on the held-out faces. Returns the members."""
        sample = FaceArrays(fit_faces, np.zeros(len(fit_faces), np.int64)).sample(bn_faces, self.cfg.seed).images
        members = []
        for k in range(self.members):
            path = self.checkpoint_path(k)
            if not path.exists():
                continue
            state = read_model_checkpoint(path)
            model = create_model(state["arch"]).to(self.device)
            model.load_state_dict(state["model"])
            member = Member(self.member_name(k), self.cfg.arch, path, state["epoch"], self.best[k], self.best_probs[k])
            if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
                recalibrate_batchnorm(model, sample)
                probs = flip_probabilities(model, self.holdout_x, bf16=self.cfg.bf16)
                acc = float((probs.argmax(1) == self.holdout_y).float().mean())
                if acc > member.holdout_acc:
                    write_checkpoint({**state, "model": model.state_dict(), "val_acc_flip": acc, "bn_faces": len(sample)}, path)
                    member.holdout_acc, member.holdout_probs, member.bn_remeasured = acc, probs.cpu().numpy(), True
            members.append(member)
        return members


def train_fleet(groups: list[MemberGroup], budget_s: float, on_epoch: Callable[[MemberGroup], None] | None = None) -> float:
    """Train ``groups`` interleaved in this process until each has run its epochs or ``budget_s`` seconds
    have passed (whichever comes first; each group's schedule runs to its end by steps or by time,
    whichever is further, as ``trainer`` does). Returns the seconds spent."""
    start = time.perf_counter()
    active = list(groups)
    while active:
        group = min(active, key=lambda g: g.progress)
        elapsed = time.perf_counter() - start
        if group.done or max(group.progress, elapsed / budget_s) >= 1.0:
            if group.step_count != group.evaluated_step:  # cut short by the clock: measured where it stopped
                group.evaluate(elapsed)
            group.done = True
            active.remove(group)
            continue
        if group.step(max(group.progress, elapsed / budget_s)):
            group.end_epoch(time.perf_counter() - start)
            if on_epoch is not None:
                on_epoch(group)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def probe(make_group: Callable[[str], MemberGroup], modes: list[str], seconds: float, warmup: int = 3) -> dict:
    """Steps per second of a group built by ``make_group(mode)`` for each of ``modes``, each timed for
    ``seconds`` after ``warmup`` steps (``cudnn.benchmark`` and ``torch.compile`` pay there); the
    fastest mode is ``mode``. Epochs per second count one epoch of every member. A mode that fails (out of
    memory, a compile error) is reported with its error and not chosen; when all fail, ``mode`` is None."""
    results = {}
    for mode in modes:
        try:
            results[mode] = _time_steps(make_group(mode), seconds, warmup)
        except Exception as exc:  # noqa: BLE001 - a mode that fails here (out of memory, compile) is not used
            results[mode] = {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    working = [m for m in results if "error" not in results[m]]
    if not working:
        return {"mode": None, "epochs_per_s": 0.0, "modes": results}
    best = max(working, key=lambda m: results[m]["epochs_per_s"])
    return {**results[best], "mode": best, "modes": results}


def _time_steps(group: MemberGroup, seconds: float, warmup: int) -> dict:
    device = group.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    warm_started = time.perf_counter()
    for _ in range(warmup):
        group.step(0.5)
    _sync(device)
    warm = time.perf_counter() - warm_started
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or steps < 1:
        group.step(0.5)
        steps += 1
        if steps % 5 == 0:
            _sync(device)
    _sync(device)
    per_s = steps / (time.perf_counter() - started)
    return {"steps_per_s": round(per_s, 3), "epochs_per_s": round(per_s / group.steps_per_epoch, 4),
            "faces_per_s": round(per_s * group.batch * group.members, 1),
            "warmup_s": round(warm, 2), "batch_size": group.batch, "members": group.members,
            "peak_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None}


def ensemble_weights(probs: list[np.ndarray], labels: np.ndarray, rounds: int = 25) -> np.ndarray:
    """Weights (summing to 1) of the members whose probabilities are ``probs`` on held-out faces: greedy
    selection with replacement of the member that most lowers the ensemble's log loss (Caruana et al. 2004)."""
    counts = np.zeros(len(probs))
    total = np.zeros_like(probs[0], dtype=np.float64)
    rows = np.arange(len(labels))
    for r in range(rounds):
        losses = [-np.log((total + p)[rows, labels] / (r + 1) + 1e-9).mean() for p in probs]
        pick = int(np.argmin(losses))
        counts[pick] += 1
        total += probs[pick]
    return counts / counts.sum()
