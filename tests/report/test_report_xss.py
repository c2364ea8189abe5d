"""User strings in the HTML report are text, never markup: a hostile session name, student name and
alert detail are escaped, and a real browser opening the report runs no script."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import update

from classmood.aggregate import AggregatorConfig, AlertConfig, ClassAggregator
from classmood.emotions import EMOTIONS
from classmood.store import SessionRecorder, Store, StudentSighting
from classmood.store.models import AlertRow
from fixtures.detections import seen, tracked

from fixtures.app_harness import chromium_path, launch_chromium

CLI = [sys.executable, "-m", "classmood"]
SESSION = "c<img src=x onerror=alert(1)>"
STUDENT = "<script>window.__pwned=1</script>"
DETAIL = '<img src=x onerror="window.__pwned=2"><b>bold</b>'
MATH = "$\\frac$ & co"  # mathtext syntax in a name must not break the heatmap


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """A 3-minute class whose session name, student names and alert detail are markup."""
    folder = tmp_path_factory.mktemp("xss")
    url = f"sqlite:///{folder / 'class.db'}"
    store = Store(url)
    recorder = SessionRecorder(store, SESSION, source="<svg onload=alert(3)>.mp4", flush_every_s=0.0)
    agg = ClassAggregator(AggregatorConfig(alerts=AlertConfig(absent_after_s=20, negative_after_s=20)))
    neutral = np.full(len(EMOTIONS), 0.2 / 6)
    neutral[EMOTIONS.index("neutral")] = 0.8
    for k in range(360):
        t = k / 2
        obs = [seen(1, neutral)] + ([seen(2, neutral)] if t < 60 else [])
        update_ = agg.update(t, tracked(obs))
        recorder.record(update_, [StudentSighting(s, agg.students[s].first_seen, t) for s, _, _ in obs])
    recorder.record(agg.finish())
    recorder.finish()
    with store.transaction() as db:
        assert db.execute(update(AlertRow).values(detail=DETAIL)).rowcount >= 1
    store.close()
    for number, name in (("S01", STUDENT), ("2", MATH)):
        renamed = cli("sessions", "rename", SESSION, number, name, "--db", url)
        assert renamed.returncode == 0, renamed.stderr
    out = folder / "report.html"
    done = cli("report", SESSION, "--out", str(out), "--db", url)
    assert done.returncode == 0, done.stderr
    return out


def test_user_strings_are_escaped_text(hostile_report):
    html = hostile_report.read_text()
    for raw in ("<img src=x", "<script", "<svg onload", "<b>bold"):
        assert raw not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html  # the attendance table and the heatmap label
    assert html.count("&lt;script&gt;window.__pwned=1") >= 2
    assert "c&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in html
    assert html.count("<svg") == 3 and "$\\frac$ &amp; co" in html  # charts still inline, the name as text


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium")
def test_no_script_runs_in_a_browser(hostile_report):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as running:
        browser = launch_chromium(running, allow_media=False)
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(hostile_report.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(500)  # let any onerror handler of a broken image fire
            assert page.evaluate("window.__pwned") is None and dialogs == []
            assert page.title() == f"Class report: {SESSION}"
            assert page.locator("h1").inner_text() == SESSION
            assert page.locator("script, img").count() == 0
            assert STUDENT in page.locator("table").first.inner_text()
        finally:
            browser.close()
