"""The deployer confirms the notice before the first class (issue 23): without a confirmation,
monitor and classmood.monitor() refuse in one line and store nothing; once confirmed, every session
records who confirmed which notice, and the report says so."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from classmood.assets import SAMPLE_VIDEO

CONFIRMED_BY = "CLASSMOOD_CONFIRMED_BY"


def _classmood(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (CONFIRMED_BY, "CLASSMOOD_DATABASE_URL")}
    env["HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "classmood", *args], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, cwd=home)


def test_monitor_asks_for_a_confirmation_once_and_records_it_with_each_session(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    data = home / ".local" / "share" / "classmood"
    refused = _classmood(home, "monitor", str(SAMPLE_VIDEO), "--session", "first", "--no-view", "--max-frames", "5")
    assert refused.returncode == 1 and "classmood consent" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (data / "classmood.db").exists()

    shown = _classmood(home, "consent")  # no terminal to answer on: the notice, then how to confirm
    assert shown.returncode == 1 and "--confirm --as" in shown.stderr

    confirmed = _classmood(home, "consent", "--confirm", "--as", "J. Smith, head of year")
    assert confirmed.returncode == 0 and "confirmed by J. Smith, head of year" in confirmed.stdout
    status = _classmood(home, "consent")
    assert status.returncode == 0 and "Article 5(1)(f)" in status.stdout and "J. Smith" in status.stdout

    done = _classmood(home, "monitor", str(SAMPLE_VIDEO), "--session", "first", "--no-view", "--max-frames", "5")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(data / "classmood.db") as db:
        settings = json.loads(db.execute("SELECT settings FROM sessions WHERE name = 'first'").fetchone()[0])
    from classmood.consent import notice_digest

    assert settings["consent"]["who"] == "J. Smith, head of year"
    assert settings["consent"]["notice_sha256"] == notice_digest() and settings["frames_kept"] is False
    report = _classmood(home, "report", "first", "--out", "r.html")
    assert report.returncode == 0 and "confirmed by J. Smith, head of year" in (home / "r.html").read_text()


def test_a_changed_notice_needs_a_new_confirmation(tmp_path, monkeypatch):
    from classmood.consent import confirm, confirmation_path, current_confirmation

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(CONFIRMED_BY)
    assert current_confirmation() is None
    confirm("Ms Test")
    assert current_confirmation().who == "Ms Test"
    saved = json.loads(confirmation_path().read_text())
    confirmation_path().write_text(json.dumps({**saved, "notice_sha256": "an older notice"}))
    assert current_confirmation() is None


def test_the_python_call_needs_the_confirmation_too(tmp_path, monkeypatch):
    import classmood
    from classmood.errors import ClassmoodError

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(CONFIRMED_BY)
    with pytest.raises(ClassmoodError, match="first use"):
        next(classmood.monitor(SAMPLE_VIDEO, max_frames=2))
    monkeypatch.setenv(CONFIRMED_BY, "a research team with signed consent forms")
    assert sum(1 for _ in classmood.monitor(SAMPLE_VIDEO, max_frames=2)) == 2


def test_at_a_terminal_consent_shows_the_notice_and_asks(tmp_path):
    import pty

    env = {k: v for k, v in os.environ.items() if k != CONFIRMED_BY}
    env["HOME"] = str(tmp_path)
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "classmood", "consent"], stdin=terminal, stdout=terminal,
                               stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    os.write(controller, b"y\nMs Pty, teacher\n")  # the answers, typed ahead as a person would
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=60) == 0
    text = shown.decode(errors="replace")
    assert "Article 5(1)(f)" in text and "Do you confirm this use of classmood?" in text
    assert "confirmed by Ms Pty, teacher" in text
    saved = json.loads((tmp_path / ".local" / "share" / "classmood" / "consent.json").read_text())
    assert saved["who"] == "Ms Pty, teacher" and saved["via"] == "command"
