#!/usr/bin/env python3
"""Which fine-tunes make the best soup? Uniform and greedy soups of sibling checkpoints, measured on publictest.

Greedy soup (Wortsman et al. 2022): sort the ingredients by their own accuracy, then add each one
only if the soup (weights averaged, batch norm re-measured) does not get worse. Batch norm is
re-measured on ``--bn-faces`` training faces and their mirrors during the search (all of them with
``--bn-faces 0``); ``classmood soup`` makes the final checkpoint from the chosen list.

    python experiments/scripts/soup_search.py .gpu/c4/ckpt/realtime_r5*.pt checkpoints/realtime_r2.pt checkpoints/realtime_kd_r3.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from classmood.train.data import load_split
from classmood.train.inference import flip_probabilities
from classmood.train.soup import make_soup


def soup_accuracy(paths: list[Path], bn_faces: np.ndarray, faces: torch.Tensor, labels: np.ndarray) -> float:
    """``faces``: uint8 ``(N, H, W)``. Publictest accuracy (fp32, mirror TTA) of the soup of ``paths`` (one checkpoint: itself, re-measured)."""
    _, model = make_soup(paths, bn_faces)
    return float((flip_probabilities(model, faces).argmax(1).numpy() == labels).mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", type=Path, help="sibling fine-tunes of one parent")
    ap.add_argument("--data", default="../shared/datasets/fer2013/publictest")
    ap.add_argument("--train-data", default="../shared/datasets/fer2013/train")
    ap.add_argument("--bn-faces", type=int, default=8000, help="training faces for batch norm in the search (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    test = load_split(args.data)
    faces, labels = torch.from_numpy(test.images), test.labels
    train = load_split(args.train_data).sample(args.bn_faces or None, args.seed).images

    alone = {}
    for p in args.checkpoints:
        alone[p] = soup_accuracy([p], train, faces, labels)
        print(f"{p.stem}: {alone[p]:.2%}", file=sys.stderr, flush=True)
    order = sorted(args.checkpoints, key=alone.get, reverse=True)
    print("| ingredient | alone (batch norm re-measured) |\n|---|---|")
    for p in order:
        print(f"| {p.stem} | {alone[p]:.2%} |", flush=True)
    uniform = soup_accuracy(order, train, faces, labels)
    print(f"\nuniform soup of all {len(order)}: {uniform:.2%}", flush=True)

    chosen, best = [order[0]], alone[order[0]]
    print("\n| greedy step | soup accuracy | kept |\n|---|---|---|")
    for p in order[1:]:
        acc = soup_accuracy([*chosen, p], train, faces, labels)
        kept = acc >= best
        print(f"| + {p.stem} | {acc:.2%} | {'yes' if kept else 'no'} |", flush=True)
        if kept:
            chosen, best = [*chosen, p], acc
    print(f"\ngreedy soup {best:.2%}: " + " ".join(str(p) for p in chosen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
