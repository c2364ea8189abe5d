#!/usr/bin/env python3
"""How much do more test-time views buy? Publictest accuracy of checkpoints and their ensemble
when each face is also seen shifted (2 px), scaled (+-8%), rotated (+-6 deg), each with its mirror.

    python experiments/scripts/tta_study.py checkpoints/realtime_plain.pt checkpoints/realtime_r2.pt checkpoints/vgg13_s0_r2.pt

Per-member probabilities are cached in --work (one .npz per checkpoint, minutes each on 2 cores);
the table is printed from them. The views mirror the training augmentation (rotation, scale, shift).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from classmood.train.augment import TEST_VIEWS, normalize, view_theta, warp
from classmood.train.data import load_split
from classmood.train.inference import load_checkpoint_model


def affine(x: torch.Tensor, **view: float) -> torch.Tensor:
    """The faces shifted/scaled/rotated as the training augmentation does (border padding)."""
    return warp(x, view_theta(**view).expand(x.shape[0], 2, 3))


@torch.no_grad()
def view_probabilities(checkpoint: Path, faces: torch.Tensor) -> dict[str, np.ndarray]:
    """Softmax of one checkpoint under every view and its mirror (``<view>`` and ``<view>_f``)."""
    model = load_checkpoint_model(checkpoint)
    out = {}
    for name, kw in TEST_VIEWS.items():
        for flip in (False, True):
            x = affine(faces, **kw) if kw else faces
            if flip:
                x = torch.flip(x, dims=[3])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                probs = [model(x[i:i + 512]).float().softmax(1) for i in range(0, len(x), 512)]
            out[f"{name}{'_f' if flip else ''}"] = torch.cat(probs).numpy()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--data", default="../shared/datasets/fer2013/publictest")
    ap.add_argument("--work", type=Path, default=Path(".tta"), help="cache of per-checkpoint probabilities")
    args = ap.parse_args()
    torch.set_num_threads(2)
    data = load_split(args.data)
    faces, labels = normalize(torch.from_numpy(data.images)), data.labels
    args.work.mkdir(exist_ok=True)
    members = {}
    for ckpt in args.checkpoints:
        tag = ckpt.stem if ckpt.stem not in ("best", "last") else ckpt.parent.name
        cache = args.work / f"{tag}.npz"
        if not cache.exists():
            np.savez(cache, **view_probabilities(ckpt, faces))
        members[tag] = dict(np.load(cache))

    def accuracy(views: list[str], names=tuple(members)) -> str:
        probs = sum(members[m][v] for m in names for v in views)
        return f"{(probs.argmax(1) == labels).mean():.2%}"

    every = [f"{v}{f}" for v in TEST_VIEWS for f in ("", "_f")]
    print("| model | plain | + mirror | all 18 views |\n|---|---|---|---|")
    for tag in members:
        print(f"| {tag} | {accuracy(['id'], [tag])} | {accuracy(['id', 'id_f'], [tag])} | {accuracy(every, [tag])} |")
    print(f"| ensemble of all | {accuracy(['id'])} | {accuracy(['id', 'id_f'])} | {accuracy(every)} |")
    print("\nensemble, mirror + one or two more view pairs (each with its mirror):")
    print("| added views | accuracy |\n|---|---|")
    for r in (1, 2):
        for added in itertools.combinations([v for v in TEST_VIEWS if v != "id"], r):
            views = ["id", "id_f", *(p for v in added for p in (v, v + "_f"))]
            print(f"| {' + '.join(added)} | {accuracy(views)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
