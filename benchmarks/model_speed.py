#!/usr/bin/env python3
"""Emotion-model speed with ONNX Runtime: faces/s in batches, latency of one face, memory.

Measures the bundled models (``realtime``, ``accurate``) and, with torch installed (the
``train`` extra), every registered architecture exported with untrained weights (speed does not
depend on the weights). ``mini_xception`` is the ``fer`` package's architecture: the peer's
network on the same runtime; fer's own Keras speed is in docs/benchmarks.md (crops/s).

    python benchmarks/model_speed.py [--threads 2] [--json docs/models/speed.json]

Prints a table; with ``--json`` also writes ``{"bundled"|"arch"|"file": {name: faces_per_s}}`` for
experiments/scripts/model_cards.py (architectures) and scripts/shipped_cards.py (bundled models): the bundled
``realtime`` (int8, flip TTA) and its architecture ``vgg7_w32`` (fp32, one view) differ.
Timings are not asserted anywhere: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table


def time_session(path: Path, threads: int, batch: int, seconds: float) -> dict:
    """faces/s at ``batch``, median ms for one face, and the resident memory after loading."""
    from classmood.classify.onnx_classifier import EmotionClassifier

    before = psutil.Process().memory_info().rss
    clf = EmotionClassifier(str(path), threads=threads)
    loaded = psutil.Process().memory_info().rss
    faces = np.random.default_rng(0).integers(0, 256, (batch, clf.size, clf.size), dtype=np.uint8)
    clf.predict_crops(faces)  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        clf.predict_crops(faces)
        done += batch
    throughput = done / (time.perf_counter() - started)
    one = []
    for _ in range(30):
        t = time.perf_counter()
        clf.predict_crops(faces[:1])
        one.append(time.perf_counter() - t)
    return {"faces_per_s": round(throughput, 1), "latency_ms": round(1000 * float(np.median(one)), 2),
            "memory_mb": round(max(0, loaded - before) / 2**20, 1)}


def architecture_models(folder: Path) -> dict[str, Path]:
    """Every registered architecture exported (fp32, no TTA) into ``folder``."""
    from classmood.train.architectures import create_model, list_models
    from classmood.train.export import export_onnx

    paths = {}
    for name in list_models():
        path = folder / f"{name}.onnx"
        export_onnx([create_model(name).eval()], path, name=name, check=False)
        paths[name] = path
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=3.0, help="timing window per model")
    ap.add_argument("--onnx", nargs="*", type=Path, default=[], help="more .onnx models to measure")
    ap.add_argument("--no-archs", action="store_true", help="only the bundled and given models")
    ap.add_argument("--json", type=Path, help='write {"bundled"|"arch"|"file": {name: faces_per_s}} here')
    args = ap.parse_args()

    from classmood.classify.registry import list_models as bundled_models

    console = Console(stderr=True)
    models = {f"bundled: {m.name}": m.path for m in bundled_models()}
    models.update({f"file: {p.stem}": p for p in args.onnx})
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_archs:
            try:
                models.update({f"arch: {k}": v for k, v in architecture_models(Path(tmp)).items()})
            except ImportError:
                console.print("torch is not installed: measuring the bundled models only")
        results = {}
        spawn = multiprocessing.get_context("spawn")  # a fresh process per model: a fair memory figure
        for name, path in models.items():
            console.print(f"measuring {name} ...", highlight=False)
            with spawn.Pool(1) as pool:
                results[name] = pool.apply(time_session, (path, args.threads, args.batch, args.seconds))
    table = Table(title=f"Emotion models on ONNX Runtime, {args.threads} threads, batch {args.batch}")
    for column in ("model", "faces/s", "ms for 1 face", "memory MB"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, r in results.items():
        table.add_row(name, f"{r['faces_per_s']:.0f}", f"{r['latency_ms']:.2f}", f"{r['memory_mb']:.0f}")
    Console().print(table)
    if args.json:
        grouped: dict[str, dict[str, float]] = {}
        for key, r in results.items():
            kind, name = key.split(": ", 1)
            grouped.setdefault(kind, {})[name] = r["faces_per_s"]
        args.json.write_text(json.dumps(grouped, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
