"""The post-class report and session commands on a real SQLite database."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from classmood.aggregate import AggregatorConfig, AlertConfig, ClassAggregator
from classmood.emotions import EMOTIONS
from classmood.store import SessionRecorder, Store, StudentSighting
from fixtures.detections import seen, tracked

CLI = [sys.executable, "-m", "classmood"]
WIDE = {**os.environ, "COLUMNS": "200"}  # rich tables do not wrap names


def onehot(emotion: str, p: float = 0.8) -> np.ndarray:
    v = np.full(len(EMOTIONS), (1 - p) / 6)
    v[EMOTIONS.index(emotion)] = p
    return v


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A 10-minute class of 4 students at 2 frames/s: S02 leaves for 3 minutes, S03 turns sad."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'class.db'}"
    store = Store(url)
    recorder = SessionRecorder(store, "physics", source="physics.mp4", flush_every_s=0.0)
    agg = ClassAggregator(AggregatorConfig(alerts=AlertConfig(absent_after_s=60, negative_after_s=60)))
    for k in range(1200):
        t = k / 2
        obs = [seen(1, onehot("neutral")), seen(4, onehot("happy"))]
        if not 120 <= t < 300:
            obs.append(seen(2, onehot("neutral")))
        obs.append(seen(3, onehot("sad") if t >= 300 else onehot("neutral")))
        update = agg.update(t, tracked(obs))
        recorder.record(update, [StudentSighting(s, agg.students[s].first_seen, t) for s, _, _ in obs])
    recorder.record(agg.finish())
    recorder.rename(4, "Ada Lovelace", "ocr")
    recorder.finish()
    store.close()
    return url


def test_report_is_self_contained_and_complete(recorded, tmp_path):
    out = tmp_path / "r" / "report.html"
    done = subprocess.run([*CLI, "report", "physics", "--out", str(out), "--db", recorded],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert html.count("<svg") == 3  # class mood, engagement, per-student heatmap
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from anywhere
    assert "<script" not in html
    for label in ("S01", "S02", "S03", "Ada Lovelace"):
        assert label in html
    rows = re.findall(r"<tr><td>(S0\d|Ada Lovelace)[^<]*(?:<span[^>]*>[^<]*</span>)?</td>\s*<td>[^<]*</td><td>[^<]*</td>"
                      r"\s*<td class=\"num\">([\d.]+)</td><td class=\"num\">(\d+)</td>", html)
    attendance = {label: (float(minutes), int(pct)) for label, minutes, pct in rows}
    assert attendance["S01"] == (10.0, 100) and attendance["S02"] == (7.0, 70)
    assert "looked negative" in html and "away" in html
    assert html.count("still open") == 0


def test_session_commands_list_show_export_delete(recorded, tmp_path):
    listed = subprocess.run([*CLI, "sessions", "list", "--db", recorded], capture_output=True, text=True, env=WIDE)
    assert listed.returncode == 0 and "physics" in listed.stdout
    shown = subprocess.run([*CLI, "sessions", "show", "physics", "--db", recorded], capture_output=True, text=True,
                           env=WIDE)
    assert shown.returncode == 0 and "Ada Lovelace" in shown.stdout and "negative" in shown.stdout

    csv, parquet = tmp_path / "s.csv", tmp_path / "a.parquet"
    assert subprocess.run([*CLI, "sessions", "export", "physics", "--out", str(csv), "--db", recorded]).returncode == 0
    seconds = pd.read_csv(csv)  # every student every second, seen or not: S02's 3 minutes out are "away"
    assert len(seconds) == 4 * 600 and set(seconds["label"]) == {"S01", "S02", "S03", "Ada Lovelace"}
    assert seconds.groupby("state").size().to_dict() == {"present": 4 * 600 - 180, "away": 180}
    away = seconds[seconds["state"] == "away"]
    assert set(away["label"]) == {"S02"} and (away["second"].min(), away["second"].max()) == (120, 299)
    assert away["emotion"].isna().all() and away["engagement"].isna().all()
    present = seconds[seconds["state"] == "present"]
    assert np.allclose(present[[f"p_{e}" for e in EMOTIONS]].sum(axis=1), 1.0, atol=1e-6)
    assert set(seconds.loc[seconds["label"] == "Ada Lovelace", "name"]) == {"Ada Lovelace"}
    assert seconds.loc[seconds["label"] == "S01", "name"].isna().all()
    assert subprocess.run([*CLI, "sessions", "export", "physics", "--what", "alerts", "--out", str(parquet),
                           "--db", recorded]).returncode == 0
    alerts = pd.read_parquet(parquet)
    assert sorted(alerts["kind"]) == ["absent", "negative"]

    bad = subprocess.run([*CLI, "sessions", "export", "physics", "--out", str(tmp_path / "x.xlsx"), "--db", recorded],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and not (tmp_path / "x.xlsx").exists()
    missing = subprocess.run([*CLI, "report", "nope", "--out", str(tmp_path / "n.html"), "--db", recorded],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "no session named 'nope'" in missing.stderr
    assert not (tmp_path / "n.html").exists() and "Traceback" not in missing.stderr

    renamed = subprocess.run([*CLI, "sessions", "rename", "physics", "S01", "Grace", "--db", recorded])
    assert renamed.returncode == 0
    assert subprocess.run([*CLI, "sessions", "delete", "physics", "--yes", "--db", recorded]).returncode == 0
    after = subprocess.run([*CLI, "sessions", "list", "--db", recorded], capture_output=True, text=True, env=WIDE)
    assert "physics" not in after.stdout


def test_report_says_what_the_model_can_and_cannot_do(tmp_path):
    from classmood.classify.limits import LIMITATIONS
    from classmood.classify.registry import resolve_model
    from classmood.report.html import render_report_html

    store = Store(f"sqlite:///{tmp_path / 'models.db'}")
    try:
        SessionRecorder(store, "no settings").finish()  # recorded before settings were stored: the default model
        SessionRecorder(store, "with accurate", settings={"model": "accurate"}).finish()
        reports = {model: render_report_html(store, name) for model, name in
                   (("realtime", "no settings"), ("accurate", "with accurate"))}
    finally:
        store.close()
    for model, html in reports.items():
        info = resolve_model(model)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
        assert f"Emotion model {model}: {100 * info.publictest_accuracy:.1f}% of the 3,589" in text
        weakest = min(info.extra["per_class_recall"].items(), key=lambda item: item[1])
        assert f"recall on publictest: {weakest[0]} {100 * weakest[1]:.0f}%" in text  # weakest class first
        assert all(re.sub(r"\s+", " ", line) in text for line in LIMITATIONS)  # never a grade, no demographics, AI Act
        fear = EMOTIONS.index("fear")  # the model card's table: precision, recall and how fear faces were read
        confusion = np.asarray(info.extra["confusion"])
        shares = [f"{100 * v / confusion[fear].sum():.0f}" for v in confusion[fear]]
        cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
        assert (f"fear {100 * info.extra['per_class_precision']['fear']:.0f}% "
                f"{100 * info.extra['per_class_recall']['fear']:.0f}% {' '.join(shares)} ") in cells
