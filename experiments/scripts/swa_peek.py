#!/usr/bin/env python3
"""Accuracy of a running training's weight average so far: the ``swa`` state in its ``last.pt``,
batch norm re-measured on training faces and their mirrors, fp32 with flip TTA on publictest.
Reads a copy, so the run goes on undisturbed.

    cp runs/realtime_ct7/last.pt /tmp/peek.pt && python experiments/scripts/swa_peek.py /tmp/peek.pt --threads 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel

from classmood.train.architectures import create_model
from classmood.train.checkpoint import read_checkpoint
from classmood.train.data import load_split
from classmood.train.inference import flip_probabilities
from classmood.train.soup import recalibrate_batchnorm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("last", type=Path, help="a copy of a run's last.pt (a run with swa_start)")
    ap.add_argument("--faces", type=int, default=28709, help="training faces for the batch-norm re-measure")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train", default="../shared/datasets/fer2013/train")
    ap.add_argument("--val", default="../shared/datasets/fer2013/publictest")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    state = read_checkpoint(args.last)
    if not state.get("swa") or int(state["swa"]["n_averaged"]) == 0:
        raise SystemExit(f"{args.last}: no weight average yet (epoch {state.get('epoch')})")
    average = AveragedModel(create_model(state["arch"]))
    average.load_state_dict(state["swa"])  # as the trainer resumes it
    model = average.module
    recalibrate_batchnorm(model, load_split(args.train).sample(args.faces, state["config"]["seed"]).images)
    val = load_split(args.val)
    accuracy = (flip_probabilities(model, torch.from_numpy(val.images)).argmax(1).numpy() == val.labels).mean()
    print(f"epoch {state['epoch']}: average of {int(state['swa']['n_averaged'])} epochs, publictest {accuracy:.2%} (fp32, flip)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
