#!/usr/bin/env python3
"""Experiment: re-train only a network's classifier head, distilled from a teacher, on frozen features.

The backbone's pooled features of every training face are computed once under several augmented
views (plus the clean face and its mirror); the head (dropout, linear, batch norm, linear) is then
trained on them against the teacher's probabilities and the labels, which costs seconds per epoch.

    .venv/bin/python scripts/head_distill.py checkpoints/realtime_soup.pt --teacher .gpu/c4/teacher_accurate3.npy --out /tmp/hd.pt
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from classmood.train.augment import augment, normalize
from classmood.train.data import load_split
from classmood.train.trainer import load_checkpoint_model


@torch.no_grad()
def pooled(model, batches) -> torch.Tensor:
    """The head's input (global-average-pooled features) for each normalised batch."""
    out = []
    for x in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out.append(model.head[:2](model.features(x)).float())
    return torch.cat(out)


def views(images: torch.Tensor, n_aug: int, batch: int = 512):
    for chunk in images.split(batch):
        yield normalize(chunk)
    for chunk in images.split(batch):
        yield normalize(chunk.flip(2))
    for _ in range(n_aug):
        for chunk in images.split(batch):
            yield augment(chunk)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--teacher", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--aug-views", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--temperature", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    train, val = load_split("../shared/datasets/fer2013/train"), load_split("../shared/datasets/fer2013/publictest")
    model = load_checkpoint_model(args.checkpoint).eval()
    t0 = time.time()
    tx, vx = torch.from_numpy(train.images), torch.from_numpy(val.images)
    feats = pooled(model, views(tx, args.aug_views))
    vfeats = pooled(model, views(vx, 0))
    print(f"features {tuple(feats.shape)} in {time.time() - t0:.0f} s", flush=True)
    n = len(train)
    labels = torch.from_numpy(train.labels).repeat(2 + args.aug_views)
    teacher = torch.from_numpy(np.load(args.teacher).astype(np.float32)).repeat(2 + args.aug_views, 1)
    soft = teacher.clamp_min(1e-8).log().div(args.temperature).softmax(1)
    vy = torch.from_numpy(val.labels)

    head = copy.deepcopy(model.head[2:])

    def evaluate(h) -> tuple[float, float]:
        h.eval()
        with torch.no_grad():
            p = (h(vfeats[:len(vy)]).softmax(1) + h(vfeats[len(vy):]).softmax(1)) / 2
            tr = (h(feats[:n]).argmax(1) == labels[:n]).float().mean().item()
        return (p.argmax(1) == vy).float().mean().item(), tr

    print(f"start: publictest {evaluate(head)[0]:.2%}", flush=True)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * (len(feats) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.05)
    t = args.temperature
    for epoch in range(args.epochs):
        head.train()
        order = torch.randperm(len(feats))
        for i in range(len(feats) // 256):
            idx = order[i * 256:(i + 1) * 256]
            logits = head(feats[idx])
            ce = F.cross_entropy(logits, labels[idx], label_smoothing=0.1)
            kd = F.kl_div(logits.div(t).log_softmax(1), soft[idx], reduction="batchmean") * t * t
            loss = args.alpha * kd + (1 - args.alpha) * ce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc, tr = evaluate(head)
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} train(clean) {tr:.2%} publictest {acc:.2%}", flush=True)
    model.head = torch.nn.Sequential(*model.head[:2], *head)
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    ckpt["model"] = model.state_dict()
    torch.save(ckpt, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
