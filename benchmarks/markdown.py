"""Renders a results dict as the markdown page docs/benchmarks.md."""

from __future__ import annotations

from classmood.emotions import EMOTIONS


def _pct(v) -> str:
    return "-" if v is None or v != v else f"{v * 100:.1f}%"


def _num(v, fmt="{:.1f}") -> str:
    return "-" if v is None or v != v else fmt.format(v)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _fps(s: dict | None) -> str:
    return "-" if s is None else f"{s['fps']:.1f} ({s['median_ms']:.0f} / {s['p95_ms']:.0f})"


#: Extra passes of the default system over the same clips, as (key in its figures, column title).
EXTRA_PASSES = (("unfollowed", "live without following"), ("still", "still pictures"))


def speed_table(data: dict) -> list[str]:
    """frames/s (median / p95 latency ms) per face count; classmood live, live without following faces
    and as still pictures."""
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    keys = [k for k in names if any(k in s for s in data["speed"].values())]
    header = ["faces", "frame"]
    extra = {}  # system -> the extra passes it has
    for k in keys:
        extra[k] = [(m, title) for m, title in EXTRA_PASSES
                    if k.endswith("realtime") and any(m in s.get(k, {}) for s in data["speed"].values())]
        has_still = any("still" in s.get(k, {}) for s in data["speed"].values())
        header.append(f"{names[k]}{', live' if has_still else ''}")
        header += [f"{names[k]}, {title}" for _, title in extra[k]]
    header += ["speedup vs fer (live / still)", ">= 5x?"]
    rows = []
    for n, per in data["speed"].items():
        row = [n, "x".join(map(str, per["frame_size"]))]
        for k in keys:
            row.append(_fps(per.get(k)))
            row += [_fps(per.get(k, {}).get(m)) for m, _ in extra[k]]
        x, xs = data["speedup_vs_fer"].get(n), data.get("speedup_vs_fer_still", {}).get(n)
        row += [f"{_num(x, '{:.1f}x')} / {_num(xs, '{:.1f}x')}", "-" if x is None else ("yes" if x >= 5 else "**NO**")]
        rows.append(row)
    return _table(header, rows)


def gallery_recall_table(data: dict) -> list[str]:
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    keys = [k for k in names if any(k in s and "detection" in s[k] for s in data["speed"].values())]
    keys = [k for k in keys if not k.endswith("_accurate")]  # same detector as realtime
    header = ["faces", "true faces"] + [f"{names[k].split(' (')[0]} recall / precision" for k in keys]
    rows = []
    for n, per in data["speed"].items():
        first = per[keys[0]]["detection"]
        rows.append([n, str(first["true_positives"] + first["false_negatives"])] +
                    [f"{_pct(per[k]['detection']['recall'])} / {_pct(per[k]['detection']['precision'])}" for k in keys])
    return _table(header, rows)


def accuracy_table(data: dict) -> list[str]:
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    header = ["system", "accuracy", "macro recall", *EMOTIONS, "crops/s"]
    rows = [[names.get(k, k), _pct(r["accuracy"]), _pct(r["macro_recall"]),
             *[_pct(r["per_class"].get(c)) for c in EMOTIONS], _num(r.get("crops_per_s"), "{:.0f}")]
            for k, r in data["accuracy"].items()]
    return _table(header, rows)


def detection_table(data: dict) -> list[str]:
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    rows = []
    for set_name, per in data["detection"].items():
        info = data["detection_sets"][set_name]
        for k, r in per.items():
            rows.append([set_name, f"{info['images']} / {info['faces']}", names.get(k, k).split(" (")[0],
                         _pct(r["recall"]), _pct(r["precision"]), str(r["false_positives"])])
    return _table(["set", "images / faces", "system", "recall", "precision", "false positives"], rows)


def memory_table(data: dict) -> list[str]:
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    return _table(["system", "peak memory (MiB)", "start-up: import + load models (s)"],
                  [[names.get(k, k), _num(v, "{:.0f}"), _num(data["load_s"].get(k), "{:.2f}")]
                   for k, v in data["peak_rss_mb"].items()])


def memory_by_faces_table(data: dict) -> list[str]:
    """Peak resident memory of each system's speed worker, one process per face count."""
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    keys = [k for k in names if any(s.get(k, {}).get("peak_rss_mb") for s in data["speed"].values())]
    rows = [[n, "x".join(map(str, per["frame_size"])), *[_num(per.get(k, {}).get("peak_rss_mb"), "{:.0f}") for k in keys]]
            for n, per in data["speed"].items()]
    return _table(["faces", "frame", *[f"{names[k]} (MiB)" for k in keys]], rows)


def stages_table(data: dict) -> list[str]:
    names = {k: v["name"] for k, v in data["meta"]["systems"].items()}
    rows = []
    for n, per in data["speed"].items():
        for k, s in per.items():
            if k == "frame_size" or not s.get("stages_ms"):
                continue
            st = s["stages_ms"]
            total = sum(st.values())
            rows.append([n, names.get(k, k), *[f"{st.get(x, 0):.1f} ({st.get(x, 0) / total:.0%})" if total else "-"
                                               for x in ("detect", "classify")]])
    return _table(["faces", "system", "detect ms (share)", "classify ms (share)"], rows)


def offline_table(data: dict) -> list[str]:
    rows = []
    for c in data["offline_peers"]:
        hits = c["download_evidence"][:2] or c["weight_files"][:2] or [c.get("error") or "-"]
        evidence = "<br>".join(f"`{h.replace('|', '/')[:110]}`" for h in hits)
        rows.append([f"`{c['package']}` {c['version']}", c["verdict"], evidence,
                     c.get("note") or "-"])
    return _table(["package", "verdict", "evidence (first hits)", "in this benchmark"], rows)


def render(data: dict, charts: dict[str, str]) -> str:
    """The whole page; ``charts`` maps chart names to paths relative to the page."""
    meta, machine = data["meta"], data["meta"]["machine"]
    versions = "; ".join(f"{v['name']}: " + ", ".join(f"{p} {ver}" for p, ver in v["versions"].items() if ver != "-")
                         + (f", model sha256 {v['model_sha256']}" if v.get("model_sha256") else "")
                         for v in meta["systems"].values())
    lines = [
        "# Benchmarks: classmood vs its peers",
        "",
        f"- **Date**: {meta['date']} (run took {meta['elapsed_s'] / 60:.1f} min)",
        f"- **Machine**: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['os']}, Python {machine['python']}; CPU only, no GPU",
        f"- **Command**: `{meta['command']}` (run config `{meta['config']['name']}`)",
        f"- **Versions**: {versions}",
        "",
        "Each system runs in its own process (each peer in its own virtual environment, set up from the package "
        "registry by the benchmark) on the same files. Numbers are from one run on a shared 2-core machine: "
        "treat differences under ~10% as noise.",
        "",
        "## Verdict",
        "",
        *[f"- {v}" for v in data["verdicts"]],
        *[f"- Not measured: {name} ({why})." for name, why in meta.get("skipped_systems", {}).items()],
        "",
        "## End-to-end speed (detect every face + classify its emotion)",
        "",
        f"![speed]({charts['speed']})",
        "",
        *speed_table(data),
        "",
        "Cells: frames/s (median / p95 latency per frame in ms). Input per face count: "
        f"{meta['config']['clips_per_count']} meetings (different people and looks each) of "
        f"{meta['config']['frames_per_clip']} consecutive frames (one webcam picture at 640x480; 3x3, 5x5 and 7x7 "
        f"galleries at 1920x1080, people gently moving), made of {data['frames_source']}; read from disk outside "
        "the timer; "
        f"{meta['config']['warmup']} warm-up frame(s) per meeting, then {meta['config']['repeats']} timed pass(es). "
        "frames/s = timed frames / their total time. *live*: classmood processes the clip as a stream, as "
        "`classmood monitor`/`analyze` do for a webcam, screen or video: between whole-frame searches the detector "
        "follows the faces of the previous frame, searching only a margin around each (the crops batched as one "
        "mosaic), and searches the whole frame every 10th frame, when a face is lost, or when the mosaic would cost "
        "more than 60% of a whole search (many small faces); and `realtime` runs one mirror view of each face a "
        "frame, averaged with the other view of the same face a frame earlier (for a face that holds still the "
        "model's exact two-view estimate, for half the work; `accurate` has no one-view twin and runs both); "
        "*live without following*: the same stream with "
        "following off (a frame searched whole, at the scale the previous frame's faces allow, at full scale every "
        "10th frame or when a face goes missing); "
        "*still pictures*: every frame searched from scratch and both views of each face classified, as for "
        "unrelated photos. fer has one mode (every "
        "frame from scratch). The >= 5x check uses the live figure; the ratio of median latencies, less sensitive "
        "to load spikes from other programs, is `speedup_vs_fer_median` in the JSON: "
        + ", ".join(f"{n} face(s) {x:.1f}x" for n, x in data.get("speedup_vs_fer_median", {}).items()) + ".",
        "",
        "Face-detection recall / precision on those same frames (IoU >= "
        f"{meta['iou_threshold']}):",
        "",
        *gallery_recall_table(data),
        "",
        "## Emotion accuracy on FER-2013 publictest crops",
        "",
        f"![accuracy]({charts['accuracy']})",
        "",
        *accuracy_table(data),
        "",
        "Both classifiers get the identical 48x48 crops: classmood's bundled ONNX models directly; fer through "
        "`detect_emotions(crop, face_rectangles=[(10, 10, 28, 28)])`, i.e. after fer widens the box by its default "
        "10 px offsets its classifier sees exactly the crop (with the whole crop `(0, 0, 48, 48)` as box fer pads "
        "the face with 10 px of flat gray and scores ~15 points lower, which would be unfair to it).",
        "",
        "## Face detection",
        "",
        *detection_table(data),
        "",
        *[f"- *{name}*: {info['source']}." for name, info in data["detection_sets"].items()],
        "",
        "## Memory and start-up",
        "",
        *memory_table(data),
        "",
        "Peak memory: the highest resident-memory mark of the speed worker processes (one process per face count, "
        "one frame in memory at a time). Start-up: the fastest of those processes from start to the system loaded "
        "and ready. Per face count (each worker's own mark: system loaded, every clip run live, live without "
        "following and as still pictures):",
        "",
        *memory_by_faces_table(data),
        "",
        "## Cost of each stage",
        "",
        f"![stages]({charts['stages']})",
        "",
        *stages_table(data),
        "",
        "classmood reports its stage times from inside `Pipeline.process`; for fer they come from a second pass "
        "calling `find_faces` and then `detect_emotions` with those boxes.",
        "",
        "## Other peers: can they run offline?",
        "",
        "Checked by downloading each package's newest release from PyPI (`pip download --no-deps`) and reading it "
        "for bundled weight files and run-time download calls (`benchmarks/offline_check.py`):",
        "",
        *offline_table(data),
        "",
        "## Reproduce",
        "",
        "```",
        "python -m benchmarks run          # full run: ~15 min on 2 busy cores (the first run also installs fer's venv)",
        "python -m benchmarks run --quick  # smoke run: ~2-4 min, written under .bench/results/quick",
        "python -m benchmarks report       # rewrite this page and its charts from docs/benchmarks/results.json",
        "```",
        "",
        "All figures are also in `docs/benchmarks/results.json`.",
        "",
    ]
    return "\n".join(lines)
