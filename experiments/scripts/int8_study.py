#!/usr/bin/env python3
"""How much does int8 quantisation move a model, and which calibration keeps it closest to fp32?

Each checkpoint is exported with flip TTA (fp32), then quantised many times: per calibration method
(min-max, percentile), per number of calibration faces per class, and per random draw of
those faces (seed). Each int8 model is compared with its fp32 original on training faces that no
draw calibrated on (how often the two agree on the top class: fidelity, the quantity to choose a
calibration by) and measured on publictest (reported, not chosen by: picking the draw with the best
publictest accuracy would be selection on the test split).

    python experiments/scripts/int8_study.py checkpoints/realtime_soup.pt --seeds 0 1 2 3 4 --per-class 40 200
    python experiments/scripts/int8_study.py checkpoints/realtime_soup.pt --seeds 0 1 2 3 4 --per-class 40 --keep-float none first head
    python experiments/scripts/int8_study.py checkpoints/realtime_soup12.pt --methods observed --seeds 0 1 2 3 4

``observed`` takes the ranges from augmented training batches through the int8 simulation
(``qat.observe_ranges``, ``--observe-steps`` batches of 128; ``--per-class`` does not apply): those
batches cover most training faces, so its fidelity faces are not unseen ones, only unlabelled.

Prints one row per variant and, per calibration, the spread over seeds; ``--json`` keeps the rows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from classmood.train.data import load_image_folder
from classmood.train.export import export_onnx
from classmood.train.inference import load_checkpoint_model, teacher_probabilities
from classmood.train.qat import observe_ranges
from classmood.train.quantize import CALIBRATION_METHODS, KEEP_FLOAT, parse_keep_float, quantize_int8

OBSERVED = "observed"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--train", default="../shared/datasets/fer2013/train")
    ap.add_argument("--data", default="../shared/datasets/fer2013/publictest")
    ap.add_argument("--methods", nargs="+", default=list(CALIBRATION_METHODS), choices=[*CALIBRATION_METHODS, OBSERVED])
    ap.add_argument("--observe-steps", type=int, default=200, help="batches the observed ranges come from")
    ap.add_argument("--per-class", nargs="+", type=int, default=[40, 200])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--keep-float", nargs="+", type=parse_keep_float, default=[()], metavar="GROUPS",
                    help=f"layer groups left float32, comma-separated ({', '.join(KEEP_FLOAT)}) or none; one variant each")
    ap.add_argument("--fidelity-faces", type=int, default=4000, help="training faces no draw calibrated on")
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()

    train = load_image_folder(args.train)
    test = load_image_folder(args.data)
    used = np.zeros(len(train), bool)
    for per_class, seed in itertools.product(args.per_class, args.seeds):
        used[train.subset_indices(per_class, seed)] = True
    held = train.select(np.flatnonzero(~used)).sample(args.fidelity_faces, seed=12345)

    rows, console = [], Console(width=150)
    with tempfile.TemporaryDirectory() as tmp:
        for ckpt in args.checkpoints:
            fp32 = Path(tmp) / f"{ckpt.stem}.onnx"
            export_onnx([load_checkpoint_model(ckpt)], fp32, name=ckpt.stem, flip=True)
            ref_held, ref_test = (teacher_probabilities(str(fp32), faces) for faces in (held.images, test.images))
            rows.append({"checkpoint": ckpt.stem, "method": "fp32", "per_class": 0, "seed": -1, "agree": 1.0,
                         "prob_diff": 0.0, "publictest": float((ref_test.argmax(1) == test.labels).mean())})
            for groups, method, per_class, seed in itertools.product(args.keep_float, args.methods, args.per_class, args.seeds):
                observed = method == OBSERVED
                if observed and per_class != args.per_class[0]:
                    continue  # the number of calibration faces does not apply
                points = observe_ranges(load_checkpoint_model(ckpt), train.images, args.observe_steps, seed) if observed else None
                int8 = Path(tmp) / f"{ckpt.stem}_int8.onnx"
                shutil.copy(fp32, int8)
                shutil.copy(fp32.with_suffix(".json"), int8.with_suffix(".json"))
                quantize_int8(int8, train, per_class=per_class, method="minmax" if observed else method, seed=seed,
                              keep_float=groups, points=points)
                p_held, p_test = (teacher_probabilities(str(int8), faces) for faces in (held.images, test.images))
                rows.append({"checkpoint": ckpt.stem, "method": method + (f" ({','.join(groups)} float)" if groups else ""),
                             "per_class": 0 if observed else per_class, "seed": seed,
                             "agree": float((p_held.argmax(1) == ref_held.argmax(1)).mean()),
                             "prob_diff": float(np.abs(p_held - ref_held).sum(1).mean() / 2),
                             "publictest": float((p_test.argmax(1) == test.labels).mean())})
                console.print(f"{ckpt.stem} {rows[-1]['method']} {rows[-1]['per_class'] or '-'}/class seed {seed}: agree {rows[-1]['agree']:.2%}, "
                              f"publictest {rows[-1]['publictest']:.2%}")

    table = Table(title=f"int8 calibration: fidelity on {len(held)} uncalibrated training faces, publictest accuracy")
    for col in ("checkpoint", "calibration", "faces/class", "seeds", "agree with fp32 (mean)", "probability moved (TV)",
                "publictest (mean)", "publictest (min-max)"):
        table.add_column(col)
    for (ckpt, method, per_class), group in itertools.groupby(rows, key=lambda r: (r["checkpoint"], r["method"], r["per_class"])):
        group = list(group)
        acc = [r["publictest"] for r in group]
        table.add_row(ckpt, method, str(per_class or "-"), str(len(group)) if method != "fp32" else "-",
                      f"{np.mean([r['agree'] for r in group]):.2%}", f"{np.mean([r['prob_diff'] for r in group]):.4f}",
                      f"{np.mean(acc):.2%}", f"{min(acc):.2%} - {max(acc):.2%}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
