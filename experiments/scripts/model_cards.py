#!/usr/bin/env python3
"""Write a model card per trained run (experiments/runs/<run>.md) and the comparison table for experiments/journal.md.

Reads run folders (log.csv, job.yaml, best_summary.json, optional best .pt checkpoints) and
publictest probabilities computed here (``--evals``: ``<run>.npy`` with flip TTA plus
``_labels.npy``), so every figure is recomputed from files, not copied by hand.

    python experiments/scripts/model_cards.py --runs .gpu/result1 .gpu/result2 --evals .gpu/evals
    python experiments/scripts/model_cards.py --runs runs/NEW_RUN --keep-published   # add one run, keep the rest
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from classmood.train.checkpoint import RENAMED_ARCHS
from classmood.train.metrics import plot_confusion, plot_curves, summarize

#: The seed project's published figures (FER-2013 test) and the fer package's, per architecture.
REFERENCE = {
    "seed_cnn": ("seed project's custom deep CNN", 0.69),
    "xception": ("seed project's Xception transfer", 0.64),
    "dexpression": ("seed project's DeXpression", 0.63),
    "resnet50": ("seed project's ResNet-50 transfer", 0.6311),
    "mini_xception": ("`fer` package's mini-Xception", 0.66),
    "vgg13": ("Khaireddin & Chen 2021 VGG (300 epochs, GPU)", 0.7328),
}


PUBLICTEST_FACES = 3589


def load_run(folder: Path) -> dict:
    """A run folder of the GPU campaign (job.yaml) or of ``classmood train`` (config.yaml)."""
    job_file = folder / "job.yaml" if (folder / "job.yaml").exists() else folder / "config.yaml"
    job = yaml.safe_load(job_file.read_text())
    log = pd.read_csv(folder / "log.csv")
    best = json.loads((folder / "best_summary.json").read_text()) if (folder / "best_summary.json").exists() else None
    return {"name": folder.name, "folder": folder, "job": job, "log": log, "best": best}


def measured_on_publictest(job: dict) -> bool:
    """Validated on publictest: a split of the campaign's cache file, or the image folder."""
    return job.get("val_split") == "publictest" or str(job.get("val_data", "")).rstrip("/").endswith("publictest")


def on_cpu(run: dict) -> bool:
    return run["job"].get("device") == "cpu"


def run_name(checkpoint: str) -> str:
    """The run a checkpoint belongs to: ``X.pt`` (campaign) or ``X/best.pt`` / ``X/last.pt`` (classmood train)."""
    path = Path(checkpoint)
    return path.parent.name if path.stem in ("best", "last") else path.stem


def load_published(name: str, published: Path) -> dict | None:
    """A run whose folder is gone but whose card was published: its card's log (already the whole
    lineage, epochs and seconds running on) and its seconds per machine from the published table."""
    table = published / "summary.csv"
    if not (published / name / "log.csv").exists() or not table.exists():
        return None
    rows = pd.read_csv(table).set_index("run")
    if name not in rows.index:
        return None
    row = rows.loc[name]
    return {"name": name, "job": {}, "log": pd.read_csv(published / name / "log.csv"), "best": None,
            "seconds": {"gpu": int(row["gpu_seconds"]), "cpu": int(row["cpu_seconds"])}}


def lineage(run: dict, runs: dict) -> list[dict]:
    """The run and the runs it was warm-started from, oldest first. A published ancestor (``seconds``
    set) stands for its whole lineage."""
    init = run["job"].get("init_checkpoint")
    parent = runs.get(run_name(init)) if init else None
    if parent is None or "seconds" in parent:
        return ([parent] if parent else []) + [run]
    return [*lineage(parent, runs), run]


def own_seconds(run: dict) -> dict[str, float]:
    """A run's training seconds per machine (for a published ancestor: its whole lineage's)."""
    if "seconds" in run:
        return run["seconds"]
    total = float(run["log"]["seconds"].max())
    return {"gpu": 0.0, "cpu": total} if on_cpu(run) else {"gpu": total, "cpu": 0.0}


def seconds_by_machine(run: dict, runs: dict) -> dict[str, int]:
    """Seconds of training along the lineage: ``{"gpu": s, "cpu": s}``."""
    chain = lineage(run, runs)
    return {kind: round(sum(own_seconds(r)[kind] for r in chain)) for kind in ("gpu", "cpu")}


def training_time(seconds: dict[str, int]) -> str:
    """``seconds_by_machine`` in words, for a model card."""
    parts = ([f"{seconds['gpu']} s on one NVIDIA H200 *shared by several runs at once* (see experiments/journal.md)"] if seconds["gpu"] else []) + \
            ([f"{seconds['cpu']} s on this project's 2-core CPU (bf16 autocast)"] if seconds["cpu"] else [])
    return " + ".join(parts)


def lineage_log(run: dict, runs: dict) -> pd.DataFrame:
    """The logs of the run's lineage end to end: each continues its parent's epochs and seconds."""
    logs, epoch, seconds = [], 0, 0.0
    for r in lineage(run, runs):
        log = r["log"].copy()
        log["epoch"] += epoch
        log["seconds"] += seconds
        epoch, seconds = log["epoch"].max(), log["seconds"].max()
        logs.append(log)
    return pd.concat(logs, ignore_index=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", type=Path, required=True)
    ap.add_argument("--evals", type=Path, help="folder of <run>.npy publictest probabilities (flip TTA) + _labels.npy")
    ap.add_argument("--speeds", type=Path, help="benchmarks/model_speed.py --json output (its architectures' faces/s)")
    ap.add_argument("--ensembles", type=Path,
                    help="JSON [{name, members, accuracy}] of measured ensembles (default: OUT/ensembles.json if there)")
    ap.add_argument("--out", type=Path, default=Path("experiments/runs"))
    ap.add_argument("--keep-published", action="store_true",
                    help="keep the published cards and table rows of runs not given (their folders may be gone)")
    args = ap.parse_args()
    runs = {}
    for root in args.runs:  # a run folder, or a folder of runs
        folders = [root] if (root / "log.csv").exists() else sorted(p for p in root.iterdir() if (p / "log.csv").exists())
        for folder in folders:
            runs[folder.name] = load_run(folder)
    published = pd.read_csv(args.out / "summary.csv") if args.keep_published and (args.out / "summary.csv").exists() \
        else pd.DataFrame()
    if not published.empty:
        published["reference_name"] = published["reference_name"].fillna("")
        for name in published["run"]:
            if name not in runs and (earlier := load_published(name, args.out)):
                runs[name] = earlier
    labels = np.load(args.evals / "_labels.npy") if args.evals else None
    speeds = json.loads(args.speeds.read_text())["arch"] if args.speeds else {}
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, run in runs.items():
        if "seconds" in run:  # published earlier: card and row are kept as they are
            continue
        arch = RENAMED_ARCHS.get(run["job"]["arch"], run["job"]["arch"])  # runs before the renaming
        swa = run["job"].get("swa_start") is not None
        # an SWA run is its weight average (NAME_swa.npy, as unpack_campaign names it) where measured
        candidates = ([(f"{name}_swa.npy", "the weight average `swa.pt`")] if swa else []) + \
            ([(f"{name}_qat.npy", "the final weights `qat.pt`, int8 with the run's own ranges, in ONNX Runtime")]
             if run["job"].get("qat_observe_steps") is not None else []) + [(f"{name}.npy", "best checkpoint")]
        measured = [(args.evals / f, w) for f, w in candidates if args.evals and (args.evals / f).exists()]
        if measured:
            probs_path, what = measured[0]
            summary = summarize(labels, np.load(probs_path).astype(np.float32).argmax(1))
            source = f"{what} re-evaluated here on all 3,589 publictest faces (flip TTA)"
        elif run["best"] and measured_on_publictest(run["job"]) and run["best"]["n"] == PUBLICTEST_FACES:
            summary = run["best"]
            source = "best epoch on all 3,589 publictest faces (flip TTA), measured during training"
        else:
            continue
        log = lineage_log(run, runs)
        run_dir = args.out / name
        run_dir.mkdir(exist_ok=True)
        log.to_csv(run_dir / "log.csv", index=False)
        (run_dir / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in run["job"].items() if k not in ("out_dir",)}, sort_keys=True))
        plot_curves(run_dir / "log.csv", run_dir / "curves.png", f"{name} ({arch}) on FER-2013")
        plot_confusion(summary, run_dir / "confusion.png", f"{name}: publictest {summary['accuracy']:.2%}")
        ref = REFERENCE.get(arch)
        params = run["best"].get("params") if run["best"] else None
        seconds = seconds_by_machine(run, runs)
        row = {"run": name, "arch": arch, "params": params, "epochs": int(log["epoch"].max()),
               "gpu_seconds": seconds["gpu"], "cpu_seconds": seconds["cpu"], "accuracy": summary["accuracy"],
               "reference": ref[1] if ref else None, "reference_name": ref[0] if ref else "",
               "faces_per_s": speeds.get(name, speeds.get(arch))}  # speed depends on the architecture only
        rows.append(row)
        per_class = "\n".join(
            f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['n']} |" for c, v in summary["per_class"].items())
        ref_line = (f"Reference: {ref[0]} reported **{ref[1]:.2%}**; this run is "
                    f"**{'above' if summary['accuracy'] > ref[1] else 'below'}** it.") if ref else ""
        (args.out / f"{name}.md").write_text(f"""# Model card: `{name}` ({arch})

- **Data**: FER-2013 `train` (28,709 faces, 48x48 grayscale); selected and measured on `publictest` (3,589); never trained on publictest.
- **Parameters**: {params if params else 'n/a'}
- **Training**: {row['epochs']} epochs, {training_time(seconds)}; SGD + Nesterov, cosine schedule over a time budget, bf16 autocast, label smoothing 0.1, on-device augmentation (affine, flip, brightness/contrast, random erasing){'; distilled (weight ' + str(run['job'].get('distill_alpha', 0.7)) + ') from ' + ' + '.join('`' + run_name(t) + '`' for t in run['job']['teachers']) + ' run on each augmented batch' + (f" ({run['job']['teacher_views']} augmented views of each face, with the teachers' targets on them, kept when first made and replayed in later epochs: `teacher_views`)" if run['job'].get('teacher_views') else '') if run['job'].get('teachers') else ''}{'; distilled from the ONNX model `' + Path(run['job']['teacher_model']).stem + '`' if run['job'].get('teacher_model') else ''}{'; distilled (weight ' + str(run['job'].get('distill_alpha', 0.7)) + ') from precomputed probabilities `' + Path(run['job']['teacher_probs']).name + '`' if run['job'].get('teacher_probs') else ''}{'; warm restart from `' + run_name(run['job']['init_checkpoint']) + '`' if run['job'].get('init_checkpoint') else ''}{f"; stochastic weight averaging: lr held at {run['job']['swa_lr']} after {run['job']['swa_start']:.0%} of the schedule, the weights at each later epoch's end averaged into `swa.pt`, batch norm re-measured" if swa else ''}{f"; quantisation-aware (`classmood/train/qat.py`): int8 simulated in every step, batch norm frozen, activation ranges observed for {run['job']['qat_observe_steps']} steps then frozen and written into the int8 export" if run['job'].get('qat_observe_steps') is not None else ''}. Config: [{name}/config.yaml]({name}/config.yaml), log: [{name}/log.csv]({name}/log.csv).
- **publictest accuracy**: **{summary['accuracy']:.2%}** ({source}).
- **Speed**: {f"{row['faces_per_s']:.0f} faces/s" if row['faces_per_s'] else 'not measured'} with ONNX Runtime on 2 CPU cores (batch 64).
{ref_line}

| class | precision | recall | n |
|---|---|---|---|
{per_class}

![curves]({name}/curves.png)

![confusion matrix]({name}/confusion.png)
""")
    table = pd.DataFrame(rows)
    if not published.empty:
        table = pd.concat([published[~published["run"].isin(table["run"])], table], ignore_index=True)
    table = table.sort_values("accuracy", ascending=False, kind="stable")  # ties keep the published order
    table.to_csv(args.out / "summary.csv", index=False)
    ensembles_file = args.ensembles or args.out / "ensembles.json"
    ensembles = json.loads(ensembles_file.read_text()) if ensembles_file.exists() else []
    lines = ["| run | architecture | params | epochs | GPU s (shared) | CPU s (2 cores) | publictest acc. (flip TTA) | reference figure | faces/s (ORT, 2 cores) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        ref = f"{r['reference']:.2%} ({r['reference_name']})" if r["reference_name"] else ""
        fps = f"{r['faces_per_s']:.0f}" if r["faces_per_s"] and r["faces_per_s"] == r["faces_per_s"] else ""
        cpu = str(r["cpu_seconds"]) if r["cpu_seconds"] else ""
        params = f"{r['params'] / 1e6:.2f}M" if r["params"] and r["params"] == r["params"] else ""
        lines.append(f"| [{r['run']}](runs/{r['run']}.md) | {r['arch']} | {params} | {r['epochs']} | {r['gpu_seconds']} | {cpu} | "
                     f"{r['accuracy']:.2%} | {ref} | {fps} |")
    for e in ensembles:
        lines.append(f"| ensemble `{e['name']}` | {' + '.join(e['members'])} | | | | | {e['accuracy']:.2%} | | |")
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
