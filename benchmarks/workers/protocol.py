"""The job/result protocol shared by every worker (stdlib + numpy only: runs in any venv).

A job is a JSON file ``{"task": ..., ...}``; a worker answers with a JSON result file,
written to a temporary name and renamed so a crashed worker never leaves a result that
looks complete. Tasks:

- ``classify``: ``{"crops": NPZ}`` (uint8 ``images`` (N,48,48)) -> ``probabilities`` (N,7) in
  ``EMOTIONS`` order.
- ``detect``: ``{"images": [PNG...]}`` -> ``boxes`` per image (x, y, w, h).
- ``e2e``: ``{"groups": [{"faces": n, "frames": [PNG...]}], "warmup": k, "repeats": r}``
  -> per group the latency of each timed frame (seconds), the boxes found, and the
  latency of each pipeline stage (``"stage_frames": k`` limits a separate stage pass to k frames).
Every result carries ``peak_rss_mb`` (the worker process's high-water mark) and ``load_s``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from collections.abc import Callable

EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def peak_rss_mb() -> float:
    """High-water mark of this process's resident memory, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_job(argv: list[str] | None = None) -> tuple[dict, Path]:
    """Parse ``JOB.json RESULT.json`` from the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: worker.py JOB.json RESULT.json")
    return json.loads(Path(args[0]).read_text()), Path(args[1])


def write_result(path: Path, result: dict) -> None:
    """Write ``result`` as JSON atomically (temp file, then rename)."""
    result = {**result, "peak_rss_mb": round(peak_rss_mb(), 1)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)


def timed(fn: Callable, *args):
    """Call ``fn(*args)``; return ``(value, seconds)`` measured with a monotonic clock."""
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def run_e2e(job: dict, read_frame: Callable, process: Callable, stages: Callable | None = None,
            start_pass: Callable[[], None] | None = None) -> dict:
    """Time ``process(frame) -> (boxes, stage_seconds)`` on every frame of every group.

    A group's frames are consecutive frames of one clip. ``read_frame(path)`` loads a frame
    outside the timer. Each group first runs ``warmup`` untimed frames, then ``repeats``
    passes over its frames; ``start_pass()`` (if given) is called before each, e.g. to tell
    a system that a new stream starts. ``stages``, if given, is a second, separately timed
    pass ``stages(frame) -> {stage: seconds}`` for systems whose end-to-end call cannot
    report its own stage times.
    """
    warmup, repeats = int(job.get("warmup", 2)), int(job.get("repeats", 1))
    groups = []
    for group in job["groups"]:
        paths = group["frames"]
        if start_pass is not None:
            start_pass()
        for path in paths[:warmup]:
            process(read_frame(path))
        latencies, stage_times, boxes = [], [], []
        for r in range(repeats):
            if start_pass is not None:
                start_pass()
            for path in paths:
                frame = read_frame(path)
                (found, stage_s), seconds = timed(process, frame)
                latencies.append(seconds)
                if r == 0:
                    boxes.append(found)
                if stage_s:
                    stage_times.append(stage_s)
        if stages is not None:
            stage_times = [stages(read_frame(path)) for path in paths[:int(job.get("stage_frames", len(paths)))]]
        groups.append({"faces": group["faces"], "latencies_s": latencies, "boxes": boxes,
                       "stages_s": stage_times})
    return {"groups": groups}


def versions(*modules: str) -> dict[str, str]:
    """Installed versions of the named distributions (``"-"`` when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in modules:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def main(handlers: dict[str, Callable[[object, dict], dict]], load: Callable[[], object],
         packages: tuple[str, ...] = ()) -> None:
    """Worker entry: load the system once (timed), run the job's task, write the result."""
    job, out = read_job()
    task = job["task"]
    if task not in handlers:
        raise SystemExit(f"unknown task: {task}")
    system, load_s = timed(load)
    result = handlers[task](system, job)
    write_result(out, {"task": task, "load_s": round(load_s, 3), "versions": versions(*packages), **result})
