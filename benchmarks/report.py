"""Turns measurements into the results JSON, the PNG charts and docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import json
import os
import platform
from datetime import datetime
from pathlib import Path


from benchmarks.inputs import Config, Inputs
from benchmarks.offline_check import PeerCheck
from benchmarks.runner import SystemResult

SPEEDUP_TARGET = 5.0
REFERENCE = "fer"
DEFAULT_SYSTEM = "classmood_realtime"


def machine_info() -> dict:
    """CPU model, cores, memory and OS of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "memory_gib": mem_gb, "os": platform.platform(),
            "python": platform.python_version()}


def build_results(results: list[SystemResult], inputs: Inputs, config: Config, checks: list[PeerCheck],
                  command: str, started: datetime, elapsed_s: float) -> dict:
    """Every figure of the run as one JSON-ready dict."""
    by_key = {r.system.key: r for r in results}
    speed = {str(n): {"frame_size": list(inputs.frame_sizes[n]),
                      **{k: r.speed[n] for k, r in by_key.items() if n in r.speed}}
             for n in config.face_counts}
    speedups: dict[str, dict[str, float]] = {}
    ref = by_key.get(REFERENCE)
    for key, r in by_key.items():
        if key == REFERENCE or ref is None or not r.speed:
            continue
        speedups[key] = {str(n): r.speed[n]["fps"] / ref.speed[n]["fps"] for n in config.face_counts
                         if n in r.speed and n in ref.speed}
        if any("still" in r.speed.get(n, {}) for n in config.face_counts):
            speedups[key + "_still"] = {str(n): r.speed[n]["still"]["fps"] / ref.speed[n]["fps"]
                                        for n in config.face_counts
                                        if "still" in r.speed.get(n, {}) and n in ref.speed}
    data = {
        "meta": {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "elapsed_s": round(elapsed_s, 1),
            "machine": machine_info(),
            "config": {k: v for k, v in config.__dict__.items()},
            "systems": {k: {"name": r.system.name, "versions": r.versions, "model": r.model}
                        for k, r in by_key.items()},
            "iou_threshold": next(iter(next(iter(by_key.values())).detection.values()), {}).get("iou_threshold"),
        },
        "accuracy": {k: r.accuracy for k, r in by_key.items() if r.accuracy},
        "detection": {name: {k: r.detection[name] for k, r in by_key.items() if name in r.detection}
                      for name in [d.name for d in inputs.detection_sets]},
        "detection_sets": {d.name: {"source": d.source, "images": len(d.images), "caveat": d.caveat,
                                    "faces": int(sum(len(t) for t in d.truth))} for d in inputs.detection_sets},
        "frames_source": inputs.frames_source,
        "speed": speed,
        "speedup_vs_fer": speedups.get(DEFAULT_SYSTEM, {}),
        "speedup_vs_fer_still": speedups.get(DEFAULT_SYSTEM + "_still", {}),
        # ratio of median latencies: less sensitive than frames/s to other programs' load spikes
        "speedup_vs_fer_median": {str(n): ref.speed[n]["median_ms"] / by_key[DEFAULT_SYSTEM].speed[n]["median_ms"]
                                  for n in config.face_counts
                                  if ref is not None and DEFAULT_SYSTEM in by_key
                                  and n in ref.speed and n in by_key[DEFAULT_SYSTEM].speed},
        "speedup_vs_fer_by_system": speedups,
        "peak_rss_mb": {k: r.peak_rss_mb for k, r in by_key.items() if r.peak_rss_mb is not None},
        "load_s": {k: r.load_s for k, r in by_key.items() if r.load_s is not None},
        "offline_peers": [c.to_dict() for c in checks],
    }
    data["verdicts"] = verdicts(data)
    return data


def verdicts(data: dict) -> list[str]:
    """Plain sentences on each target: met or not, with the numbers, and why where missed."""
    out = []
    still = data.get("speedup_vs_fer_still", {})
    median = data.get("speedup_vs_fer_median", {})
    for n, x in data["speedup_vs_fer"].items():
        status = "meets" if x >= SPEEDUP_TARGET else "does NOT meet"
        extra = [f"as unrelated still pictures {still[n]:.1f}x"] if n in still else []
        extra += [f"ratio of median latencies {median[n]:.1f}x"] if n in median else []
        line = (f"{n} face(s) per frame: classmood (realtime) on a live stream is {x:.1f}x as fast as fer"
                f"{' (' + '; '.join(extra) + ')' if extra else ''}: {status} the >= {SPEEDUP_TARGET:.0f}x target.")
        if x < SPEEDUP_TARGET:
            line += " " + _why_slow(data, n)
        out.append(line)
    acc = data["accuracy"]
    names = {k: v.get("name", k) for k, v in data.get("meta", {}).get("systems", {}).items()}
    if REFERENCE in acc:
        for key in (k for k in acc if k != REFERENCE):
            a, b = acc[key]["accuracy"], acc[REFERENCE]["accuracy"]
            word = "more" if a > b else "NOT more"
            out.append(f"Emotion accuracy: {names.get(key, key)} {a:.1%} vs fer {b:.1%} on the same {acc[key]['n']} "
                       f"publictest crops: {word} accurate than fer.")
    for set_name, systems in data["detection"].items():
        if DEFAULT_SYSTEM in systems and REFERENCE in systems:
            a, b = systems[DEFAULT_SYSTEM]["recall"], systems[REFERENCE]["recall"]
            word = "higher" if a > b else "NOT higher"
            line = f"Face-detection recall on {set_name}: classmood {a:.1%} vs fer {b:.1%}: {word}."
            caveat = data.get("detection_sets", {}).get(set_name, {}).get("caveat")
            if a <= b and caveat:
                line += f" Why: {caveat}"
            out.append(line)
    return out


def _why_slow(data: dict, n: str) -> str:
    """Where the time goes when classmood misses the speed target at ``n`` faces."""
    per = data.get("speed", {}).get(n, {})
    ours = per.get(DEFAULT_SYSTEM, {}).get("stages_ms", {})
    theirs = per.get(REFERENCE, {}).get("stages_ms", {})
    if not ours or not theirs:
        return ""
    total = sum(ours.values()) or 1.0
    clips = per.get(DEFAULT_SYSTEM, {}).get("clip_median_ms", [])
    spread = (f" classmood's median latency per meeting: {', '.join(f'{v:.0f}' for v in clips)} ms, so one "
              f"meeting can decide the mean." if len(clips) > 1 and max(clips) > 3 * min(clips) else "")
    detect_share = ours.get("detect", 0) / total
    if detect_share >= 0.5:
        where = "with few faces there is little classification work to save, so the ratio is the detectors' ratio."
    else:
        where = f"the emotion model takes most of the time, {ours.get('classify', 0) / int(n):.1f} ms a face."
    return (f"Why: face detection is {detect_share:.0%} of classmood's time per frame "
            f"(YuNet {ours.get('detect', 0):.0f} ms vs fer's Haar cascade {theirs.get('detect', 0):.0f} ms; emotion "
            f"{ours.get('classify', 0):.1f} ms vs {theirs.get('classify', 0):.1f} ms): {where}{spread}")


def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=_jsonable))
    os.replace(tmp, path)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
