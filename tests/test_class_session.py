"""One settings vocabulary: the CLI and the app store a class session's settings under the same keys."""

from __future__ import annotations

import json

import pytest

from classmood.class_session import ClassSettings


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSMOOD_APP_HOME", str(tmp_path / "app"))
    return tmp_path / "app"


def test_settings_feed_the_alerts_and_are_stored_under_one_set_of_keys(home):
    from classmood.app.config import AppSettings

    settings = ClassSettings(absent_after_s=12.0, negative_after_s=30.0, negative_threshold=0.4, mood_drop=0.2)
    alerts = settings.aggregator_config().alerts
    assert (alerts.absent_after_s, alerts.negative_after_s, alerts.negative_threshold, alerts.mood_drop) == (
        12.0, 30.0, 0.4, 0.2)
    app = AppSettings.load().class_settings()
    assert set(app.stored()) == set(settings.stored()) == {
        "model", "every", "absent_after_s", "negative_after_s", "negative_threshold", "mood_drop"}


def test_app_settings_saved_under_the_old_names_keep_their_values(home):
    from classmood.app.config import AppSettings

    home.mkdir(parents=True)
    (home / "settings.json").write_text(json.dumps({"absent_seconds": 30.0, "negative_seconds": 45.0}))
    settings = AppSettings.load().class_settings()
    assert (settings.absent_after_s, settings.negative_after_s) == (30.0, 45.0)
