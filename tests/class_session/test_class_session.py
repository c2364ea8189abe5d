"""One settings vocabulary: the CLI and the app store a class session's settings under the same keys."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from classmood.assets import SAMPLE_VIDEO
from classmood.class_session import ClassSettings


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSMOOD_APP_HOME", str(tmp_path / "app"))
    return tmp_path / "app"


def test_settings_feed_the_alerts_and_are_stored_under_one_set_of_keys(home):
    from classmood.app.config import AppSettings

    settings = ClassSettings(absent_after_s=12.0, negative_after_s=30.0, negative_threshold=0.4, mood_drop=0.2,
                             camera_off_is_absent=True)
    alerts = settings.aggregator_config().alerts
    assert (alerts.absent_after_s, alerts.negative_after_s, alerts.negative_threshold, alerts.mood_drop,
            alerts.camera_off_is_absent) == (12.0, 30.0, 0.4, 0.2, True)
    app = AppSettings.load().analysis
    assert set(app.stored()) == set(settings.stored()) == {
        "model", "every", "detect_size", "min_score", "max_faces", "absent_after_s", "camera_off_is_absent",
        "negative_after_s", "negative_threshold", "mood_drop", "read_names"}


def test_app_settings_saved_under_the_old_names_keep_their_values(home):
    from classmood.app.config import AppSettings

    home.mkdir(parents=True)
    (home / "settings.json").write_text(json.dumps({"absent_seconds": 30.0, "negative_seconds": 45.0}))
    settings = AppSettings.load().analysis
    assert (settings.absent_after_s, settings.negative_after_s) == (30.0, 45.0)


def _stored(url: str, name: str) -> tuple:
    from classmood.store import Store, queries

    store = Store(url)
    try:
        seconds = queries.seconds_frame(store, name).drop(columns=["session"], errors="ignore")
        return queries.get_summary(store, name), seconds
    finally:
        store.close()


def test_the_python_call_records_the_same_class_as_the_command(tmp_path, monkeypatch):
    import classmood

    monkeypatch.setenv("CLASSMOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    snapshots = list(classmood.monitor(SAMPLE_VIDEO, session="physics 3B", settings=ClassSettings(read_names=False)))
    assert len(snapshots) == 210 and snapshots[-1].faces == len(snapshots[-1].detections) > 0
    assert snapshots[-1].detections.student_ids.tolist() and snapshots[-1].mood.present >= 8

    cli = subprocess.run([sys.executable, "-m", "classmood", "monitor", str(SAMPLE_VIDEO), "--session", "physics 3B",
                          "--no-names", "--no-view", "--db", f"sqlite:///{tmp_path / 'cli.db'}"],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    api_summary, api_seconds = _stored(f"sqlite:///{tmp_path / 'api.db'}", "physics 3B")
    cli_summary, cli_seconds = _stored(f"sqlite:///{tmp_path / 'cli.db'}", "physics 3B")
    assert api_summary.status == cli_summary.status == "finished"
    assert api_summary.students == cli_summary.students == 9
    pd.testing.assert_frame_equal(api_seconds, cli_seconds)  # one service behind both


def test_stopping_the_python_call_finishes_the_session_and_no_name_records_nothing(tmp_path, monkeypatch):
    import classmood

    monkeypatch.setenv("CLASSMOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    for snapshot in classmood.monitor(str(SAMPLE_VIDEO), session="short", settings=ClassSettings(read_names=False)):
        if snapshot.timestamp >= 3.0:
            break
    summary, seconds = _stored(f"sqlite:///{tmp_path / 'api.db'}", "short")
    assert summary.status == "finished" and 3 <= summary.duration_s <= 4 and seconds["second"].max() <= 3

    before = sorted(tmp_path.iterdir())
    frames = sum(1 for _ in classmood.monitor(SAMPLE_VIDEO, settings=ClassSettings(read_names=False), max_frames=20))
    assert frames == 20 and sorted(tmp_path.iterdir()) == before  # nothing written without a session name


def test_a_taken_name_is_refused_before_any_model_loads(tmp_path, monkeypatch):
    import classmood
    from classmood.errors import ClassmoodError

    monkeypatch.setenv("CLASSMOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    list(classmood.monitor(SAMPLE_VIDEO, session="taken", settings=ClassSettings(read_names=False), max_frames=2))
    with pytest.raises(ClassmoodError, match="already exists"):
        next(classmood.monitor(SAMPLE_VIDEO, session="taken", model="no-such-model"))
