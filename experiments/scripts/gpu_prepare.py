#!/usr/bin/env python3
"""Make the two files a GPU campaign carries, from a fresh clone (they are not tracked: data and
derived data stay out of the repository, and a new machine starts without them):

- ``.gpu/c3/fer.npz``: FER-2013 train + publictest packed as JPEG bytes (``pack_jpeg_cache``, ~40 MB),
- ``.gpu/c4/teacher_accurate3.npy``: the shipped ``accurate`` ensemble's probabilities on every
  training face in load order (the ``teacher_probs`` targets of experiments/configs/campaigns/session6.json;
  552 s on 2 cores in session 10; 92.4% of the training faces right).

    .venv/bin/python experiments/scripts/gpu_prepare.py          # skips what is already there
    .venv/bin/python experiments/scripts/gpu_prepare.py --no-teacher   # the pack alone: all that
                                                                         # python -m classmood.train.campaign needs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from classmood.train.data import load_image_folder, pack_jpeg_cache
from classmood.train.inference import teacher_probabilities


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/fer2013"))
    ap.add_argument("--pack", type=Path, default=Path(".gpu/c3/fer.npz"))
    ap.add_argument("--teacher-out", type=Path, default=Path(".gpu/c4/teacher_accurate3.npy"))
    ap.add_argument("--teacher", default="accurate", help="ONNX model (bundled name or path)")
    ap.add_argument("--no-teacher", action="store_true", help="only the pack (the campaign of issue 25 trains its own teachers)")
    args = ap.parse_args()
    if not (args.data / "train").is_dir():
        raise SystemExit(f"error: no FER-2013 train folder under {args.data}")
    if not args.pack.exists():
        args.pack.parent.mkdir(parents=True, exist_ok=True)
        pack_jpeg_cache({"train": args.data / "train", "publictest": args.data / "publictest"}, args.pack)
        print(f"{args.pack}: {args.pack.stat().st_size / 1e6:.1f} MB")
    if not args.no_teacher and not args.teacher_out.exists():
        started = time.perf_counter()
        faces = load_image_folder(args.data / "train")
        probs = teacher_probabilities(args.teacher, faces.images)
        args.teacher_out.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.teacher_out, probs.astype(np.float16))  # 0.4 MB to carry
        right = float((probs.argmax(1) == faces.labels).mean())
        print(f"{args.teacher_out}: {args.teacher} on {len(faces)} training faces, {right:.1%} right, "
              f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
