"""The post-class report: one self-contained HTML file (inline SVG charts, no external links)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import PackageLoader

from classmood import __version__
from classmood.output.atomic import write_text_atomic
from classmood.classify.limits import LIMITATIONS
from classmood.report import charts
from classmood.emotions import CONCENTRATION_WEIGHTS, EMOTIONS, HIGH_ENGAGEMENT, LOW_ENGAGEMENT
from classmood.templating import template_env
from classmood.store import Store
from classmood.store.queries import alerts_frame, class_frame, get_summary, seconds_frame, students_frame


def clock(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report shows, read from the store."""

    summary: object
    seconds: pd.DataFrame
    students: pd.DataFrame
    alerts: pd.DataFrame
    klass: pd.DataFrame


def load_report_data(store: Store, name: str) -> ReportData:
    seconds = seconds_frame(store, name)
    return ReportData(get_summary(store, name), seconds, students_frame(store, name), alerts_frame(store, name),
                      class_frame(seconds))


def attendance_rows(data: ReportData) -> list[dict]:
    duration = max(data.summary.duration_s, 1.0)
    dominant = {}
    if not data.seconds.empty:
        means = data.seconds.groupby("student")[list(EMOTIONS)].mean()
        dominant = {s: (c, float(means.loc[s, c])) for s, c in means.idxmax(axis=1).items()}
    rows = []
    for s in data.students.itertuples():
        emotion, share = dominant.get(s.student, ("-", 0.0))
        rows.append({"label": s.label, "named_by": s.name_source, "first": clock(s.first_seen_s),
                     "last": clock(s.last_seen_s), "present_min": s.present_s / 60.0,
                     "present_pct": 100.0 * s.present_s / duration, "camera_off_min": s.camera_off_s / 60.0,
                     "engagement": None if pd.isna(s.mean_engagement) else float(s.mean_engagement),
                     "emotion": emotion, "emotion_share": share})
    return rows


def model_card(settings: dict | None) -> dict:
    """What the report says about the emotion model the session was analysed with: its name,
    publictest accuracy, per-class recall (weakest first), and per class the precision, recall and
    the share of its faces read as each class (the confusion, rows summing to 100%); empty figures
    for an unknown model."""
    from classmood.classify.registry import resolve_model
    from classmood.errors import ClassmoodError

    name = str((settings or {}).get("model") or "realtime")
    try:
        info = resolve_model(name)
    except ClassmoodError:
        return {"name": name, "accuracy": None, "recall": [], "classes": []}
    recall = info.extra.get("per_class_recall") or {}
    precision = info.extra.get("per_class_precision") or {}
    confusion = np.asarray(info.extra.get("confusion") or np.zeros((0, len(EMOTIONS))), float)
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    classes = [{"emotion": emotion, "precision": precision.get(emotion), "recall": recall.get(emotion),
                "read_as": [100 * v for v in shares[i]] if len(shares) else []} for i, emotion in enumerate(EMOTIONS)]
    return {"name": info.name, "accuracy": info.publictest_accuracy,
            "recall": sorted(recall.items(), key=lambda item: item[1]),
            "classes": classes if precision and len(shares) else []}


def render_report(data: ReportData) -> str:
    env = template_env(PackageLoader("classmood.report", "templates"))
    env.filters["clock"] = clock
    duration = data.summary.duration_s
    klass = data.klass
    recorded = getattr(data.summary, "settings", None) or {}  # what the session was recorded with
    return env.get_template("report.html.j2").render(
        session=data.summary, duration=clock(duration), generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__, students=attendance_rows(data), alerts=data.alerts.to_dict("records"),
        mean_engagement=float(klass["engagement"].mean()) if not klass.empty else None,
        peak_present=int(round(klass["present"].max())) if not klass.empty else 0,
        mood_svg=charts.class_mood_chart(klass, duration), engagement_svg=charts.engagement_chart(klass, duration),
        heatmap_svg=charts.student_heatmap(data.seconds, data.students, duration),
        weights=CONCENTRATION_WEIGHTS, high=HIGH_ENGAGEMENT, low=LOW_ENGAGEMENT,
        bin_s=charts.bin_seconds(duration), model=model_card(recorded), limitations=LIMITATIONS,
        consent=recorded.get("consent"), frames_kept=bool(recorded.get("frames_kept")))


def render_report_html(store: Store, name: str) -> str:
    """The report of session ``name`` as one HTML string (for the web app's download)."""
    return render_report(load_report_data(store, name))


def write_report(store: Store, name: str, out: Path) -> Path:
    """Render the report of session ``name`` to ``out`` atomically (temp file, then rename)."""
    return write_text_atomic(out, render_report_html(store, name))
