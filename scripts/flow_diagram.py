#!/usr/bin/env python3
"""Draw README's "How it works" picture: one frame's way from a source to the report, and who drives it.

    python scripts/flow_diagram.py [--out docs/flow.svg]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

#: (stage, module, what goes out of it), in the order one frame passes through them.
STAGES = [
    ("source", "sources/", "Frame"),
    ("detect", "detect/", "Detections:\nboxes, scores,\nlandmarks"),
    ("classify", "classify/", "+ probabilities\n(N x 7)"),
    ("track", "track/", "+ student_ids"),
    ("aggregate", "aggregate/", "student cards,\nclass mood, alerts"),
    ("store", "store/", "stored seconds\n(SQLite / PostgreSQL)"),
    ("report / serve", "report/, app/", "HTML report,\nlive dashboard"),
]
#: The front ends that run a class session through the stages above.
DRIVERS = [("CLI", "classmood monitor"), ("web app", "Live, Recorded"), ("Python", "classmood.monitor()")]


def draw(out: Path) -> None:
    """Write the picture to ``out`` (the format follows its suffix)."""
    matplotlib.rcParams["svg.hashsalt"] = "classmood"  # the same ids each run: the SVG changes only with the picture
    fig, ax = plt.subplots(figsize=(14, 4.2))
    ax.set_xlim(0, len(STAGES) * 2)
    ax.set_ylim(0, 4.2)
    ax.axis("off")
    for i, (stage, module, carried) in enumerate(STAGES):
        x = i * 2 + 0.15
        ax.add_patch(FancyBboxPatch((x, 2.0), 1.5, 1.0, boxstyle="round,pad=0.05", fc="#dbe9f6", ec="#2b5d8a"))
        ax.text(x + 0.75, 2.65, stage, ha="center", va="center", fontsize=11, weight="bold")
        ax.text(x + 0.75, 2.3, module, ha="center", va="center", fontsize=8.5, family="monospace")
        if i < len(STAGES) - 1:
            ax.annotate("", xy=(x + 2.0, 2.5), xytext=(x + 1.6, 2.5), arrowprops={"arrowstyle": "-|>", "color": "#2b5d8a"})
        ax.text(x + 0.75, 1.75, carried, ha="center", va="top", fontsize=8, color="#444444")
    ax.add_patch(FancyBboxPatch((0.15, 3.35), len(STAGES) * 2 - 0.3, 0.6, boxstyle="round,pad=0.05",
                                fc="#f6ecd8", ec="#8a6a2b"))
    ax.text(len(STAGES), 3.65, "ClassSession (class_session/): opens a session on a source, yields a ClassSnapshot per "
            "frame, ends it as finished, truncated or interrupted\nrun by  " + "   |   ".join(f"{name} ({where})" for name, where in DRIVERS),
            ha="center", va="center", fontsize=8.5)
    ax.text(len(STAGES), 0.25, "one Detections record per frame from detector to aggregator (classmood/types.py)",
            ha="center", fontsize=9, style="italic")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", metadata={"Date": None} if out.suffix == ".svg" else None)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "flow.svg")
    draw(ap.parse_args().out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
