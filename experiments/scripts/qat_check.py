#!/usr/bin/env python3
"""Export a quantisation-aware checkpoint (``qat.pt``) to int8 with its trained ranges and check it.

Three versions of the same weights, all with flip TTA: fp32 (ONNX Runtime), int8 with the trained
ranges (ONNX Runtime, what would ship; no calibration draw) and the torch simulation the run trained
through. Prints their publictest accuracy and how often each agrees with the int8 model's top class on
training faces (the simulation's fidelity); keeps the int8 model at ``--out``.

    python experiments/scripts/qat_check.py runs/realtime_qat13/qat.pt --out .gpu/c13/realtime_qat13.onnx
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from classmood.train.checkpoint import qat_ranges, read_checkpoint
from classmood.train.data import load_image_folder
from classmood.train.export import export_onnx
from classmood.train.inference import flip_probabilities, load_checkpoint_model, teacher_probabilities
from classmood.train.qat import load_simulation
from classmood.train.quantize import quantize_int8


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="where the int8 ONNX model is written")
    ap.add_argument("--train", default="../shared/datasets/fer2013/train")
    ap.add_argument("--data", default="../shared/datasets/fer2013/publictest")
    ap.add_argument("--faces", type=int, default=4000, help="training faces the fidelity is measured on")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()

    points = qat_ranges(read_checkpoint(args.checkpoint))
    train, test = load_image_folder(args.train), load_image_folder(args.data)
    held = train.sample(args.faces, seed=12345)
    fp32 = args.out.with_name(args.out.stem + "_fp32.onnx")
    export_onnx([load_checkpoint_model(args.checkpoint)], fp32, name="realtime", flip=True)
    shutil.copy(fp32, args.out)
    shutil.copy(fp32.with_suffix(".json"), args.out.with_suffix(".json"))
    quantize_int8(args.out, train, points=[tuple(p) for p in points])
    simulation = load_simulation(args.checkpoint)
    probabilities = {
        "fp32 (ONNX Runtime)": lambda faces: teacher_probabilities(str(fp32), faces),
        "int8, trained ranges (ONNX Runtime)": lambda faces: teacher_probabilities(str(args.out), faces),
        "int8 simulation (torch)": lambda faces: flip_probabilities(simulation, torch.from_numpy(faces)).numpy(),
    }
    reference = probabilities["int8, trained ranges (ONNX Runtime)"](held.images).argmax(1)
    rows = []
    for name, predict in probabilities.items():
        on_test = predict(test.images).argmax(1)
        rows.append({"model": name, "publictest": float((on_test == test.labels).mean()),
                     "correct": int((on_test == test.labels).sum()),
                     "agree_int8": float((predict(held.images).argmax(1) == reference).mean())})
    table = Table(title=f"{args.checkpoint}: flip TTA; agreement on {len(held)} training faces")
    for col in ("model", "publictest", "faces right", "agrees with int8"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        table.add_row(r["model"], f"{r['publictest']:.2%}", f"{r['correct']} / {len(test)}", f"{r['agree_int8']:.2%}")
    Console(width=120).print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    fp32.unlink()
    fp32.with_suffix(".json").unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
