#!/usr/bin/env python3
"""Train the whole model zoo on one GPU inside a fixed time budget, then pack the results.

Superseded by ``python -m classmood.train.campaign`` (issue 25: one process training every network
with data and augmentation on the device, instead of one process per run time-slicing the card);
kept to re-run the plans of ``experiments/configs/campaigns/`` as they were run.

Phase 1 trains the seed's four architectures, mini-Xception and the teacher candidates at
once (one process each); phase 2 distils the best teachers into the realtime students.
Everything lands in OUT: logs, curves, summaries and validation probabilities of every run
(``runs.tar.gz``), and fp16 weights of the runs worth shipping (``weights.tar.partNN``).

    PYTHONPATH=src python3 experiments/scripts/gpu_campaign.py --cache .gpu/fer_jpeg.npz --out "$OUT"
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch
import yaml

from classmood.train.checkpoint import read_checkpoint, slim_weights

PHASE1 = [  # run name, architecture, seed
    ("vgg13_s0", "vgg13", 0), ("vgg13_s1", "vgg13", 1), ("resnet18_pre", "resnet18_pre", 0),
    ("seed_cnn", "seed_cnn", 0), ("xception", "xception", 0), ("dexpression", "dexpression", 0),
    ("resnet50", "resnet50", 0), ("mini_xception", "mini_xception", 0), ("realtime_plain", "vgg7_w32", 0),
]
TEACHER_CANDIDATES = ["vgg13_s0", "vgg13_s1", "resnet18_pre", "resnet50", "seed_cnn"]
PHASE2 = [("realtime_kd", "vgg7_w32", 0), ("realtime_s_kd", "vgg7_w24", 0), ("realtime_xs_kd", "vgg7_w16", 0),
          ("vgg13_kd", "vgg13", 2)]
RETURN_WEIGHTS = ["vgg13_s0", "vgg13_s1", "vgg13_kd", "seed_cnn", "dexpression", "mini_xception",
                  "realtime_plain", "realtime_kd", "realtime_s_kd", "realtime_xs_kd"]
# a run's checkpoints worth returning, by file stem -> suffix of the returned name: the best epoch, the
# same weights with batch norm re-measured on clean faces, and the weight average of an SWA tail
WEIGHT_FILES = {"best": "", "best_bn": "_bn", "swa": "_swa"}
PART_BYTES = 15 * 1024 * 1024


def log(msg: str) -> None:
    print(f"[campaign {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_phase(jobs, runs: Path, data: Path, budget: float, hard_stop: float, extra: dict, args) -> None:
    procs = {}
    for name, arch, seed, *job_extra in jobs:
        out = runs / name
        out.mkdir(parents=True, exist_ok=True)
        cfg = {"arch": arch, "out_dir": str(out), "train_data": str(data), "val_data": str(data),
               "train_split": "train", "val_split": "publictest", "epochs": 0, "time_budget_s": budget,
               "batch_size": args.batch_size, "lr": args.lr, "seed": seed, "device": args.device,
               "limit_per_class": args.limit_per_class, "threads": 2, **extra, **(job_extra[0] if job_extra else {})}
        (out / "job.yaml").write_text(yaml.safe_dump(cfg))
        fh = open(out / "train.log", "w")  # noqa: SIM115 - the child writes to it until it ends
        procs[name] = (subprocess.Popen([sys.executable, "-m", "classmood.train", str(out / "job.yaml")],
                                        stdout=fh, stderr=subprocess.STDOUT), fh)
    while any(p.poll() is None for p, _ in procs.values()):
        if time.time() > hard_stop:
            log("hard stop: killing " + ", ".join(n for n, (p, _) in procs.items() if p.poll() is None))
            for p, _ in procs.values():
                if p.poll() is None:
                    p.kill()
            break
        time.sleep(args.poll)
        status = []
        for name in procs:
            lines = [ln for ln in (runs / name / "train.log").read_text(errors="replace").splitlines() if "epoch" in ln and "val" in ln]
            status.append(f"{name}: {lines[-1].split('] ', 1)[-1][:60] if lines else '-'}")
        log(" | ".join(status))
    for name, (p, fh) in procs.items():
        fh.close()
        if p.returncode not in (0, None):
            log(f"{name} exited {p.returncode}: " + (runs / name / "train.log").read_text(errors="replace")[-800:])


def best_of(runs: Path, names, k: int) -> list[str]:
    scored = []
    for name in names:
        summary = runs / name / "best_summary.json"  # written at every new best epoch
        if summary.exists():
            scored.append((json.loads(summary.read_text())["accuracy"], name))
    return [n for _, n in sorted(scored, reverse=True)[:k]]


def pack(runs: Path, out: Path, tag: str, int8_above: int = 3_000_000) -> None:
    """Logs/summaries/pictures of every run, and fp16 weights of the runs worth shipping."""
    with tarfile.open(out / f"runs_{tag}.tar.gz", "w:gz") as tar:
        for path in sorted(runs.rglob("*")):
            if path.is_file() and path.suffix != ".pt":
                tar.add(path, arcname=str(path.relative_to(runs)))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind in ((n, k) for n in RETURN_WEIGHTS for k in WEIGHT_FILES):
            best = runs / name / f"{kind}.pt"
            if not best.exists():
                continue
            ckpt = read_checkpoint(best)
            slim = {"arch": ckpt["arch"], "epoch": ckpt["epoch"], "val_acc_flip": ckpt["val_acc_flip"],
                    "config": ckpt["config"], "model": slim_weights(ckpt["model"], int8_above)}
            blob = io.BytesIO()
            torch.save(slim, blob)
            info = tarfile.TarInfo(f"{name}{WEIGHT_FILES[kind]}.pt")
            info.size = blob.tell()
            blob.seek(0)
            tar.addfile(info, blob)
    data = buffer.getvalue()
    for old in out.glob("weights.tar.part*"):
        old.unlink()
    for i in range(0, len(data), PART_BYTES):
        (out / f"weights.tar.part{i // PART_BYTES:02d}").write_bytes(data[i:i + PART_BYTES])
    log(f"packed {tag}: weights {len(data) / 1e6:.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="packed data set (.npz from data.pack_jpeg_cache)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="/tmp/classmood_campaign")
    ap.add_argument("--phase1", type=float, default=300, help="training seconds of each phase-1 run")
    ap.add_argument("--phase2", type=float, default=150, help="training seconds of each phase-2 run")
    ap.add_argument("--deadline", type=float, default=540, help="seconds from start when everything must be packed")
    ap.add_argument("--teachers", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--limit-per-class", type=int, default=None, help="smoke runs only")
    ap.add_argument("--poll", type=float, default=30)
    ap.add_argument("--only", nargs="*", help="run only these phase-1 runs (smoke tests)")
    ap.add_argument("--plan", help="JSON {phase1: [[name, arch, seed, {config}]...], phase2: false, return_weights: [...], int8_above: N}")
    ap.add_argument("--only2", nargs="*", help="run only these phase-2 runs (smoke tests)")
    args = ap.parse_args()
    start = time.time()
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    runs = work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    log(f"torch {torch.__version__}, cuda {torch.cuda.is_available()} "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''}")

    from classmood.train.data import load_jpeg_cache, save_arrays

    data = work / "fer.npz"
    save_arrays({s: load_jpeg_cache(args.cache, s) for s in ("train", "publictest")}, data)
    log(f"decoded data set in {time.time() - start:.0f}s")

    plan = json.loads(Path(args.plan).read_text()) if args.plan else {}
    phase1 = [tuple(j) for j in plan.get("phase1", PHASE1) if not args.only or j[0] in args.only]
    RETURN_WEIGHTS.extend(plan.get("return_weights", []))
    reserve = args.phase2 + 90 if plan.get("phase2", True) else 20  # phase 2 with its start-up, then packing
    run_phase(phase1, runs, data, args.phase1, start + args.deadline - reserve, {}, args)
    int8_above = plan.get("int8_above", 3_000_000)  # fp16 up to this many parameters (soup ingredients)
    pack(runs, out, "phase1", int8_above)

    candidates = [n for n in TEACHER_CANDIDATES if (runs / n / "best.pt").exists()] or [j[0] for j in phase1]
    teachers = best_of(runs, candidates, args.teachers)
    log(f"teachers: {teachers}")
    left = start + args.deadline - time.time() - 60
    if teachers and left > 30 and plan.get("phase2", True):
        budget = min(args.phase2, left - 30)
        extra = {"teachers": [str(runs / t / "best.pt") for t in teachers]}
        phase2 = [j for j in PHASE2 if not args.only2 or j[0] in args.only2]
        run_phase(phase2, runs, data, budget, start + args.deadline - 25, extra, args)
        (runs / "teachers.json").write_text(json.dumps(teachers))
        pack(runs, out, "phase2", int8_above)
        (out / "runs_phase1.tar.gz").unlink(missing_ok=True)
    log(f"done in {time.time() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
