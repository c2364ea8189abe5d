"""User-controlled strings reach the terminal as harmless text: no escape sequence, bell, forged line or
rich markup from a session, student or file name; and a student number too big for the database is one line."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from classmood.aggregate import ClassAggregator
from classmood.emotions import EMOTIONS
from classmood.store import SessionRecorder, Store, StudentSighting
from classmood.terminal import printable, rich_safe
from fixtures.detections import seen, tracked

CLI = [sys.executable, "-m", "classmood"]
WIDE = {**os.environ, "COLUMNS": "300"}
HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\u202e\x9b[/]"
SHOWN = "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\x9b[/]"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=WIDE,
                          stdin=subprocess.DEVNULL)


def assert_harmless(res: subprocess.CompletedProcess) -> None:
    for stream in (res.stdout, res.stderr):
        assert not any(ch in stream for ch in "\x1b\x07\x9b\u202e"), repr(stream)
    assert "Traceback" not in res.stderr


def test_printable_escapes_every_control_character():
    assert printable(HOSTILE) == SHOWN
    assert printable("two\nlines\r\tand\x00nul\x7f") == "two\\nlines\\r\\tand\\x00nul\\x7f"
    assert printable(os.fsdecode(b"photo-\xff.jpg")) == "photo-\\xff.jpg"
    assert printable("Zoë 李 ✓") == "Zoë 李 ✓"
    assert rich_safe("[bold]x[/]") == "\\[bold]x\\[/]"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('term') / 'class.db'}"
    store = Store(url)
    recorder = SessionRecorder(store, HOSTILE, source=HOSTILE + ".mp4", flush_every_s=0.0)
    agg = ClassAggregator()
    p = np.full(len(EMOTIONS), 1 / len(EMOTIONS))
    for k in range(20):
        update = agg.update(k / 2, tracked([seen(1, p)]))
        recorder.record(update, [StudentSighting(1, 0.0, k / 2)])
    recorder.record(agg.finish())
    recorder.rename(1, "[red]Ada\x1b[31m\nforged line", "ocr")
    recorder.finish()
    store.close()
    return url


def test_sessions_list_and_show_escape_names(hostile_db):
    listed = cli("sessions", "list", "--db", hostile_db)
    assert listed.returncode == 0, listed.stderr
    assert_harmless(listed)
    assert SHOWN in listed.stdout
    shown = cli("sessions", "show", HOSTILE, "--db", hostile_db)
    assert shown.returncode == 0, shown.stderr
    assert_harmless(shown)
    assert "[red]Ada\\x1b[31m\\nforged line" in shown.stdout and SHOWN in shown.stdout


def test_errors_and_confirmations_escape_names(hostile_db, tmp_path):
    missing = cli("report", HOSTILE + "x", "--out", str(tmp_path / "r.html"), "--db", hostile_db)
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    assert_harmless(missing)
    renamed = cli("sessions", "rename", HOSTILE, "S01", "Grace", "--db", hostile_db)
    assert renamed.returncode == 0, renamed.stderr
    assert_harmless(renamed)


@pytest.mark.parametrize("number", ["123456789012345678901234567890", "S²", "S-1", "1e3"])
def test_rename_of_an_impossible_student_number_is_one_line(hostile_db, number):
    res = cli("sessions", "rename", HOSTILE, number, "Grace", "--db", hostile_db)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: student must look like S03 or 3")
    assert_harmless(res)


def test_warnings_about_files_escape_their_names(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "junk\x1b]0;pwned\x07\nforged.jpg").write_text("not an image")
    res = cli("analyze", str(folder), "--quiet")
    assert res.returncode == 1
    assert_harmless(res)
    lines = res.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: skipped ") and lines[1].startswith("error: ")
    assert "junk\\x1b]0;pwned\\x07" in lines[0] and "forged.jpg" in lines[0]
