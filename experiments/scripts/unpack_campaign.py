#!/usr/bin/env python3
"""Unpack what a GPU campaign returned: checkpoints back to fp16, and publictest probabilities.

``weights.tar.part*`` (from ``gpu_campaign.py``) hold slimmed best checkpoints; each becomes a
normal checkpoint ``CKPT/<run>.pt`` (fp16, loadable by ``classmood export-model``/``--init``), and
its flip-TTA probabilities on publictest land in ``EVALS/<run>.npy`` for model cards and the
ensemble search (``experiments/scripts/ensemble_search.py``).

    python experiments/scripts/unpack_campaign.py /work/.device/1 --ckpt .gpu/c3/ckpt --evals .gpu/evals
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from classmood.train.checkpoint import fp16_weights, read_checkpoint, unslim_weights
from classmood.train.data import load_split
from classmood.train.inference import flip_probabilities, load_checkpoint_model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("returned", type=Path, help="folder with weights.tar.part* from a campaign")
    ap.add_argument("--ckpt", type=Path, required=True, help="where the fp16 checkpoints go")
    ap.add_argument("--evals", type=Path, required=True, help="where <run>.npy publictest probabilities go")
    ap.add_argument("--val", default="../shared/datasets/fer2013/publictest")
    args = ap.parse_args()
    parts = sorted(args.returned.glob("weights.tar.part*"))
    if not parts:
        sys.exit(f"error: no weights.tar.part* in {args.returned}")
    args.ckpt.mkdir(parents=True, exist_ok=True)
    args.evals.mkdir(parents=True, exist_ok=True)
    val = load_split(args.val, None)
    images = torch.from_numpy(val.images)
    np.save(args.evals / "_labels.npy", val.labels)
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts))) as tar:
        members = [m for m in tar.getmembers() if m.name.endswith(".pt")]
        for member in tqdm(members, desc="checkpoints"):
            slim = read_checkpoint(tar.extractfile(member), name=member.name)
            ckpt = {**slim, "model": fp16_weights(unslim_weights(slim["model"]))}
            out = args.ckpt / member.name
            torch.save(ckpt, out)
            probs = flip_probabilities(load_checkpoint_model(out), images).numpy()
            np.save(args.evals / member.name.replace(".pt", ".npy"), probs.astype(np.float32))
            acc = float((probs.argmax(1) == val.labels).mean())
            tqdm.write(f"{member.name[:-3]:<20} {slim['arch']:<12} epoch {slim['epoch']:>3}  "
                       f"publictest {acc:.2%} (training reported {slim['val_acc_flip']:.2%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
