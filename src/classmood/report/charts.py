"""Charts of a recorded session as inline SVG (matplotlib, no files, no network)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from markupsafe import Markup

from classmood.emotions import EMOTIONS, HIGH_ENGAGEMENT, LOW_ENGAGEMENT

EMOTION_COLOURS = {"angry": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "happy": "#f2c12e",
                   "neutral": "#b0b7bf", "sad": "#1f77b4", "surprise": "#17becf"}
MAX_POINTS = 360  # time bins per chart, whatever the session length


def _figure(width: float, height: float):
    from classmood.privacy import library_caches_inside_data_folder

    library_caches_inside_data_folder()  # before matplotlib's first import writes its font cache
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    return plt.subplots(figsize=(width, height), dpi=100)


def _svg(fig) -> Markup:
    """The figure as inline SVG markup. Safe to insert unescaped: matplotlib writes every text
    (student names included) as escaped XML character data, and nothing else comes from users."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return Markup(text[text.index("<svg"):])


def bin_seconds(duration_s: float) -> int:
    """Width in seconds of the time bins, so that a chart has at most ``MAX_POINTS`` of them."""
    return max(1, int(np.ceil(max(duration_s, 1) / MAX_POINTS)))


def _minutes_axis(ax, label: bool = True) -> None:
    if label:
        ax.set_xlabel("minutes into the class")
    ax.margins(x=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def class_mood_chart(klass: pd.DataFrame, duration_s: float) -> Markup:
    """Stacked areas of the class's mean emotion probabilities over time."""
    fig, ax = _figure(10, 3.2)
    if not klass.empty:
        width = bin_seconds(duration_s)
        binned = klass.groupby(klass["second"] // width)[list(EMOTIONS)].mean()
        x = binned.index.to_numpy() * width / 60.0
        ax.stackplot(x, binned.to_numpy().T, labels=EMOTIONS, colors=[EMOTION_COLOURS[e] for e in EMOTIONS])
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the class")
    _minutes_axis(ax)
    return _svg(fig)


def engagement_chart(klass: pd.DataFrame, duration_s: float) -> Markup:
    """Class engagement index over time with the bands of Sharma et al., and students present."""
    fig, ax = _figure(10, 3.0)
    if not klass.empty:
        width = bin_seconds(duration_s)
        binned = klass.groupby(klass["second"] // width)[["engagement", "present"]].mean()
        x = binned.index.to_numpy() * width / 60.0
        ax.plot(x, binned["engagement"], color="#2a6f4e", lw=1.6, label="engagement (present students)")
        ax.axhspan(HIGH_ENGAGEMENT, 1.0, color="#2a6f4e", alpha=0.07)
        ax.axhspan(0, LOW_ENGAGEMENT, color="#d62728", alpha=0.07)
        twin = ax.twinx()
        twin.plot(x, binned["present"], color="#888", lw=1, ls="--", label="students present")
        twin.set_ylabel("students present")
        twin.set_ylim(0, max(1.0, float(binned["present"].max()) * 1.15))
        twin.spines["top"].set_visible(False)
    ax.set_ylim(0, 1)
    ax.set_ylabel("engagement index")
    _minutes_axis(ax)
    return _svg(fig)


def student_heatmap(seconds: pd.DataFrame, students: pd.DataFrame, duration_s: float) -> Markup:
    """One row per student, one column per time bin: dominant emotion, blank while away."""
    import matplotlib.colors as mcolors

    rows = max(len(students), 1)
    fig, ax = _figure(10, 0.8 + 0.28 * rows)
    width = bin_seconds(duration_s)
    bins = int(np.ceil(max(duration_s, 1) / width))
    grid = np.full((rows, bins), np.nan)
    if not seconds.empty:
        order = {s: i for i, s in enumerate(students["student"])}
        binned = seconds.assign(bin=seconds["second"] // width).groupby(["student", "bin"])[list(EMOTIONS)].mean()
        for (student, b), probabilities in binned.iterrows():
            if student in order and 0 <= b < bins:
                grid[order[student], int(b)] = int(np.argmax(probabilities.to_numpy()))
    cmap = mcolors.ListedColormap([EMOTION_COLOURS[e] for e in EMOTIONS])
    cmap.set_bad("#f4f4f4")
    ax.imshow(np.ma.masked_invalid(grid), aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5,
              vmax=len(EMOTIONS) - 0.5, extent=(0, bins * width / 60.0, rows - 0.5, -0.5))
    # names are plain text: "$...$" in a student name must not be parsed as mathtext (a syntax error)
    ax.set_yticks(range(len(students)), list(students["label"]), fontsize=8, parse_math=False)
    from matplotlib.patches import Patch

    handles = [Patch(color=EMOTION_COLOURS[e], label=e) for e in EMOTIONS]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    _minutes_axis(ax)
    return _svg(fig)
