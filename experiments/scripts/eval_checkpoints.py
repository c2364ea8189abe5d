#!/usr/bin/env python3
"""Publictest probabilities (fp32, mirror TTA) of checkpoints, saved as ``EVALS/<name>.npy`` for
``ensemble_search.py`` and the model cards, with each one's accuracy printed.

    python experiments/scripts/eval_checkpoints.py .gpu/c4/bn/*.pt --evals .gpu/evals
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from classmood.train.data import load_split
from classmood.train.inference import flip_probabilities, load_checkpoint_model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--evals", type=Path, required=True)
    ap.add_argument("--val", default="../shared/datasets/fer2013/publictest")
    args = ap.parse_args()
    torch.set_num_threads(2)
    val = load_split(args.val)
    images = torch.from_numpy(val.images)
    args.evals.mkdir(parents=True, exist_ok=True)
    np.save(args.evals / "_labels.npy", val.labels)
    for ckpt in args.checkpoints:
        probs = flip_probabilities(load_checkpoint_model(ckpt), images).numpy()
        np.save(args.evals / f"{ckpt.stem}.npy", probs.astype(np.float32))
        print(f"{ckpt.stem:<24} publictest {(probs.argmax(1) == val.labels).mean():.2%}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
