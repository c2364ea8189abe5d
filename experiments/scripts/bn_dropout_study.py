#!/usr/bin/env python3
"""Study: does re-measuring batch norm with dropout switched off help the shipped networks?

``recalibrate_batchnorm`` (torch's ``update_bn``) runs the model in training mode, so the head's
dropout is active in front of its batch-norm layer while the statistics are gathered, unlike at
inference. This re-measures each shipped member both ways (same faces as when it was shipped) and
prints its publictest accuracy (fp32, flip TTA); the probabilities go to ``OUT/<name>_{drop,nodrop}.npy``.

    .venv/bin/python experiments/scripts/bn_dropout_study.py --out /tmp/bnfull
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from classmood.train.data import load_split
from classmood.train.inference import flip_probabilities, load_checkpoint_model
from classmood.train.soup import recalibrate_batchnorm

#: shipped checkpoint -> faces its batch norm was re-measured on (None: all training faces)
MEMBERS = {"checkpoints/realtime_soup.pt": None, "checkpoints/vgg13_r5a_bn.pt": 8000, "checkpoints/vgg13_r5b_bn.pt": 8000}


def remeasured(path: str, faces: np.ndarray, dropout: bool) -> nn.Module:
    model = load_checkpoint_model(path)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    rates = [m.p for m in drops]
    if not dropout:
        for m in drops:
            m.p = 0.0
    torch.manual_seed(0)
    recalibrate_batchnorm(model, faces)
    for m, p in zip(drops, rates):
        m.p = p
    return model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    train, val = load_split("../shared/datasets/fer2013/train"), load_split("../shared/datasets/fer2013/publictest")
    images = torch.from_numpy(val.images)
    for path, n in MEMBERS.items():
        faces = train.sample(n).images
        for dropout in (True, False):
            probs = flip_probabilities(remeasured(path, faces, dropout), images).numpy()
            name = f"{Path(path).stem}_{'drop' if dropout else 'nodrop'}"
            np.save(args.out / f"{name}.npy", probs)
            print(f"{name:<24} publictest {(probs.argmax(1) == val.labels).mean():.2%}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
