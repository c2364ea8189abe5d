"""Runs every system's worker on the prepared inputs and turns raw outputs into figures."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.inputs import Config, Inputs
from benchmarks.metrics import accuracy_report, detection_report, speed_report, stage_means_ms
from benchmarks.systems import BENCH_DIR, REPO_ROOT, BenchmarkError, System

WORKER_TIMEOUT_S = 1200
#: Other passes a worker may time over the same clips: live without following faces, still pictures.
MODES = ("unfollowed", "still")


@dataclass
class SystemResult:
    """Everything measured for one system."""

    system: System
    accuracy: dict | None = None
    detection: dict[str, dict] = field(default_factory=dict)
    speed: dict[int, dict] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    load_s: float | None = None
    versions: dict = field(default_factory=dict)
    model: dict | None = None


def run_worker(system: System, job: dict, work: Path, log_dir: Path, timeout: float = WORKER_TIMEOUT_S,
               tag: str = "") -> dict:
    """Run one job in a fresh subprocess of the system's interpreter; return its result."""
    task = job["task"]
    job = {**system.job_options, **job}
    stem = f"{system.key}_{task}{'_' + tag if tag else ''}"
    job_path = work / f"{stem}.job.json"
    result_path = work / f"{stem}.result.json"
    log_path = log_dir / f"{stem}.log"
    log_dir.mkdir(parents=True, exist_ok=True)
    job_path.write_text(json.dumps(job))
    result_path.unlink(missing_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    if system.venv is None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT / "src"), env.get("PYTHONPATH")]))
    cmd = [str(system.python()), str(system.worker_path), str(job_path), str(result_path)]
    with log_path.open("w") as log:
        try:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout,
                                  cwd=str(REPO_ROOT))
        except subprocess.TimeoutExpired:
            raise BenchmarkError(f"{system.name}: {task} took longer than {timeout:.0f} s (see {log_path})") from None
    if proc.returncode != 0 or not result_path.is_file():
        raise BenchmarkError(f"{system.name}: {task} failed with exit code {proc.returncode}: "
                             f"{_last_line(log_path)} (see {log_path})")
    return json.loads(result_path.read_text())


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def measure_accuracy(system: System, inputs: Inputs, work: Path, logs: Path) -> tuple[dict, dict]:
    raw = run_worker(system, {"task": "classify", "crops": str(inputs.crops_path)}, work, logs)
    report = accuracy_report(np.asarray(raw["probabilities"], np.float64), inputs.crops.labels).to_dict()
    report["seconds"] = raw["seconds"]
    report["crops_per_s"] = len(inputs.crops) / raw["seconds"] if raw["seconds"] > 0 else None
    return report, raw


def measure_detection(system: System, inputs: Inputs, work: Path, logs: Path) -> dict[str, dict]:
    images = [p for s in inputs.detection_sets for p in s.images]
    raw = run_worker(system, {"task": "detect", "images": images}, work, logs)
    out, start = {}, 0
    for dset in inputs.detection_sets:
        found = raw["boxes"][start:start + len(dset.images)]
        start += len(dset.images)
        out[dset.name] = detection_report(found, dset.truth, ignore=dset.ignore).to_dict()
    return out


def measure_speed(system: System, n: int, inputs: Inputs, config: Config, work: Path, logs: Path) -> tuple[dict, dict]:
    """End-to-end speed at ``n`` faces per frame over all its clips, in a fresh worker process."""
    groups = [{"faces": n, "frames": clip} for clip in inputs.frames[n]]
    raw = run_worker(system, {"task": "e2e", "groups": groups, "warmup": config.warmup, "repeats": config.repeats,
                              "stage_frames": config.stage_frames}, work, logs, tag=f"{n:02d}faces")
    truth = [boxes for clip in inputs.frame_truth[n] for boxes in clip]
    out = _merge_groups(raw["groups"])
    figures = _speed_figures(out, truth)
    for mode in MODES:  # the same clips without following faces, and as unrelated pictures
        if mode in out:
            figures[mode] = _speed_figures(out[mode], truth)
    figures["clip_median_ms"] = [float(np.median(g["latencies_s"]) * 1e3) for g in raw["groups"]]
    figures["peak_rss_mb"] = raw["peak_rss_mb"]
    figures["load_s"] = raw["load_s"]
    return figures, raw


def _merge_groups(groups: list[dict]) -> dict:
    """One record of latencies, boxes and stage times over all clips of a face count."""
    keys = ("latencies_s", "boxes", "stages_s")
    merged = {k: [v for g in groups for v in g[k]] for k in keys}
    for mode in MODES:
        if all(mode in g for g in groups):
            merged[mode] = {k: [v for g in groups for v in g[mode][k]] for k in keys}
    return merged


def _speed_figures(out: dict, truth: list) -> dict:
    figures = speed_report(out["latencies_s"]).to_dict()
    figures["detection"] = detection_report(out["boxes"], truth).to_dict()
    figures["stages_ms"] = stage_means_ms(out["stages_s"]) if out["stages_s"] else {}
    return figures


def measure_all(systems: list[System], inputs: Inputs, config: Config, work: Path, say) -> list[SystemResult]:
    """All measurements of all systems, each job in its own worker process.

    Speed is measured face count by face count, alternating which system goes first, so
    that both see the same machine load (the 2 cores may be shared) as closely as possible.
    """
    logs = BENCH_DIR / "logs" / config.name
    results = {s.key: SystemResult(s) for s in systems}

    for system in systems:
        if "classify" not in system.tasks:
            continue
        t0, r = time.perf_counter(), results[system.key]
        r.accuracy, raw = measure_accuracy(system, inputs, work, logs)
        r.model = raw.get("model")
        r.versions.update(raw.get("versions", {}))
        say(f"{system.name}: emotion accuracy {r.accuracy['accuracy']:.1%} on {r.accuracy['n']} crops "
            f"({r.accuracy['crops_per_s']:.0f} crops/s, step {time.perf_counter() - t0:.0f} s)")
    for system in systems:
        if "detect" not in system.tasks:
            continue
        t0, r = time.perf_counter(), results[system.key]
        r.detection = measure_detection(system, inputs, work, logs)
        for name, rep in r.detection.items():
            say(f"{system.name}: {name}: recall {rep['recall']:.1%}, precision {rep['precision']:.1%} "
                f"(step {time.perf_counter() - t0:.0f} s)")
    timed_systems = [s for s in systems if "e2e" in s.tasks]
    for i, n in enumerate(config.face_counts):
        for system in (timed_systems if i % 2 == 0 else timed_systems[::-1]):
            t0, r = time.perf_counter(), results[system.key]
            r.speed[n], raw = measure_speed(system, n, inputs, config, work, logs)
            r.versions.update(raw.get("versions", {}))
            r.peak_rss_mb = max(r.peak_rss_mb or 0.0, raw["peak_rss_mb"])
            r.load_s = min(r.load_s if r.load_s is not None else float("inf"), raw["load_s"])
            s = r.speed[n]
            say(f"{system.name}: {n} face(s): {s['fps']:.1f} frames/s, median {s['median_ms']:.0f} ms, "
                f"face recall {s['detection']['recall']:.0%} (step {time.perf_counter() - t0:.0f} s)")
    return list(results.values())
