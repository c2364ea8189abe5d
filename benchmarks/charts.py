"""PNG charts of a results dict (matplotlib, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classmood.emotions import EMOTIONS


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Write the figure atomically (temp file, then rename) and free it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    _plt().close(fig)
    return path


def _grouped_bars(ax, groups: list[str], series: dict[str, list[float]]):
    """One bar per series in each group; returns the bar containers."""
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    bars = [ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
            for i, (label, values) in enumerate(series.items())]
    ax.legend(fontsize=8)
    return bars


def _names(data: dict) -> dict[str, str]:
    return {k: v["name"] for k, v in data["meta"]["systems"].items()}


def speed_chart(data: dict, path: Path) -> Path:
    """Frames/s per face count, one bar per system (log scale), speedup over fer written on top."""
    plt = _plt()
    names = _names(data)
    counts = list(data["speed"])
    keys = [k for k in names if any(k in data["speed"][n] for n in counts)]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    series = {names[k]: [data["speed"][n].get(k, {}).get("fps", np.nan) for n in counts] for k in keys}
    for bars, fps in zip(_grouped_bars(ax, counts, series), series.values()):
        ax.bar_label(bars, labels=[f"{v:.1f}" if np.isfinite(v) else "" for v in fps], fontsize=7, padding=1)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(counts)), [f"{n} face{'s' if n != '1' else ''}\n{'x'.join(map(str, data['speed'][n]['frame_size']))}"
                      for n in counts])
    ax.set_ylabel("frames per second (log scale)")
    ax.set_title("End-to-end speed: detection + emotion of every face")
    ax.grid(axis="y", which="both", alpha=0.3)
    return _save(fig, path)


def accuracy_chart(data: dict, path: Path) -> Path:
    """Recall per emotion class and overall accuracy, one bar per system."""
    plt = _plt()
    names = _names(data)
    acc = data["accuracy"]
    labels = ["overall", *EMOTIONS]
    fig, ax = plt.subplots(figsize=(9, 4))
    series = {names.get(k, k): [100 * v for v in (rep["accuracy"], *[rep["per_class"].get(c, np.nan)
                                                                  for c in EMOTIONS])]
              for k, rep in acc.items()}
    _grouped_bars(ax, labels, series)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_ylabel("% correct (per class: recall)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Emotion accuracy on FER-2013 publictest crops (n={next(iter(acc.values()))['n']})")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def stages_chart(data: dict, path: Path) -> Path:
    """Milliseconds per frame in each stage, stacked, one panel (linear scale) per face count."""
    plt = _plt()
    names = _names(data)
    counts = list(data["speed"])
    stage_order = ("detect", "classify")
    colours = {"detect": "tab:blue", "classify": "tab:orange"}
    fig, axes = plt.subplots(1, len(counts), figsize=(3.0 * len(counts), 3.2), squeeze=False)
    for ax, n in zip(axes[0], counts):
        keys = [k for k in names if data["speed"][n].get(k, {}).get("stages_ms")]
        bottom = np.zeros(len(keys))
        for stage in stage_order:
            values = np.array([data["speed"][n][k]["stages_ms"].get(stage, 0.0) for k in keys])
            ax.bar(range(len(keys)), values, bottom=bottom, color=colours[stage], label=stage)
            bottom += values
        ax.set_xticks(range(len(keys)), [names[k].replace(" (", "\n(") for k in keys], fontsize=7)
        ax.set_title(f"{n} face{'s' if n != '1' else ''}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("milliseconds per frame")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Cost of each pipeline stage (mean per frame)")
    fig.tight_layout()
    return _save(fig, path)


def write_charts(data: dict, folder: Path) -> dict[str, Path]:
    return {
        "speed": speed_chart(data, folder / "speed.png"),
        "accuracy": accuracy_chart(data, folder / "accuracy.png"),
        "stages": stages_chart(data, folder / "stages.png"),
    }
