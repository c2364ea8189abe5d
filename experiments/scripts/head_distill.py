#!/usr/bin/env python3
"""Experiment: fine-tune only the top of a network (its last layers and head) on cached inputs,
distilled from a teacher's probabilities.

The frozen bottom's output for every training face is computed once under several augmented views
(plus the clean face and its mirror), so a step costs only the top's forward and backward pass.
The top's weights at each epoch's end are averaged (SWA) and its batch norm re-measured on the
clean faces and their mirrors; the publictest figure (flip TTA) is printed for each epoch and the
average.

    .venv/bin/python experiments/scripts/head_distill.py checkpoints/realtime_soup.pt --teacher .gpu/c4/teacher_accurate3.npy --out /tmp/hd.pt
    # --from-layer 8: the realtime net's last stage (two conv layers, 72% of its weights) + head
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from classmood.train.augment import augment, normalize
from classmood.train.checkpoint import read_checkpoint
from classmood.train.data import load_split
from classmood.train.inference import load_checkpoint_model


def split(model, from_layer: int | None) -> tuple[nn.Module, nn.Module]:
    """(frozen bottom, trainable top) of a VGG-style model; ``None``: the top is the head after pooling."""
    if from_layer is None:
        return nn.Sequential(model.features, *model.head[:2]), nn.Sequential(*model.head[2:])
    return model.features[:from_layer], nn.Sequential(*model.features[from_layer:], *model.head)


@torch.no_grad()
def cached_inputs(bottom, images: torch.Tensor, n_aug: int, batch: int = 512) -> torch.Tensor:
    """The bottom's outputs (bf16) for the clean faces, their mirrors, then ``n_aug`` augmented views."""
    views = [normalize, lambda c: normalize(c.flip(2)), *[augment] * n_aug]
    out = []
    for view in views:
        for chunk in images.split(batch):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out.append(bottom(view(chunk)).to(torch.bfloat16))
    return torch.cat(out)


def predict(top, inputs: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    top.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        return torch.cat([top(x.float()).float().softmax(1) for x in inputs.split(batch)])


@torch.no_grad()
def remeasure_batchnorm(top, clean_inputs: torch.Tensor, batch: int = 512) -> None:
    """Batch-norm statistics of ``top`` over the cached clean faces and mirrors (torch's ``update_bn``,
    as ``recalibrate_batchnorm`` does for whole models from images); leaves it in eval mode."""
    update_bn((x.float() for x in clean_inputs.split(batch)), top)
    top.eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--teacher", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--from-layer", type=int, default=None, help="index into model.features where training starts")
    ap.add_argument("--aug-views", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=8, help="passes over all cached views")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--sgd", action="store_true", help="SGD with momentum 0.9 at a constant rate (default AdamW, one-cycle)")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--temperature", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    train, val = load_split("../shared/datasets/fer2013/train"), load_split("../shared/datasets/fer2013/publictest")
    model = load_checkpoint_model(args.checkpoint).eval()
    bottom, top = split(model, args.from_layer)
    t0 = time.time()
    inputs = cached_inputs(bottom, torch.from_numpy(train.images), args.aug_views)
    val_inputs = cached_inputs(bottom, torch.from_numpy(val.images), 0)
    print(f"cached inputs {tuple(inputs.shape)} in {time.time() - t0:.0f} s", flush=True)
    n, nv = len(train), len(val)
    views = 2 + args.aug_views
    labels = torch.from_numpy(train.labels).repeat(views)
    teacher = torch.from_numpy(np.load(args.teacher).astype(np.float32)).repeat(views, 1)
    soft = teacher.clamp_min(1e-8).log().div(args.temperature).softmax(1)
    vy = torch.from_numpy(val.labels)

    def publictest(t) -> float:
        p = predict(t, val_inputs)
        return ((p[:nv] + p[nv:]) / 2).argmax(1).eq(vy).float().mean().item()

    top = copy.deepcopy(top)
    print(f"start: publictest {publictest(top):.2%}", flush=True)
    steps = args.epochs * (len(inputs) // 128)
    if args.sgd:
        opt = torch.optim.SGD(top.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=steps)
    else:
        opt = torch.optim.AdamW(top.parameters(), lr=args.lr, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.05)
    average = AveragedModel(top)
    ckpt = read_checkpoint(args.checkpoint)  # arch and config, kept
    t = args.temperature
    for epoch in range(args.epochs):
        top.train()
        order = torch.randperm(len(inputs))
        t1 = time.time()
        for i in range(len(inputs) // 128):
            idx = order[i * 128:(i + 1) * 128]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = top(inputs[idx].float()).float()
            ce = F.cross_entropy(logits, labels[idx], label_smoothing=0.1)
            kd = F.kl_div(logits.div(t).log_softmax(1), soft[idx], reduction="batchmean") * t * t
            loss = args.alpha * kd + (1 - args.alpha) * ce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        average.update_parameters(top)
        as_trained = publictest(top)
        swa = copy.deepcopy(average.module)
        remeasure_batchnorm(swa, inputs[:2 * n])
        print(f"epoch {epoch + 1} ({time.time() - t1:.0f} s): publictest as trained {as_trained:.2%}, "
              f"average of {epoch + 1} with batch norm re-measured {publictest(swa):.2%}", flush=True)
        ckpt["model"] = rebuild_state(model, swa, args.from_layer)
        torch.save(ckpt, args.out)
    return 0


def rebuild_state(model, top, from_layer: int | None) -> dict:
    """The whole model's state dict with ``top``'s weights put back into ``model``."""
    whole, parts = copy.deepcopy(model), list(copy.deepcopy(top))
    if from_layer is None:
        whole.head = nn.Sequential(*whole.head[:2], *parts)
    else:
        n_top_features = len(model.features) - from_layer
        whole.features = nn.Sequential(*whole.features[:from_layer], *parts[:n_top_features])
        whole.head = nn.Sequential(*parts[n_top_features:])
    return whole.state_dict()


if __name__ == "__main__":
    raise SystemExit(main())
