"""Privacy you can check (issue 23): the command-line tools write nothing outside classmood's data
folder and the outputs asked for (ONNX Runtime's telemetry store and matplotlib's font cache used to
land in ~/.cache), and open no socket to anything but this machine (every connect() traced by strace)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from classmood.assets import SAMPLE_VIDEO

STRACE = shutil.which("strace")
LOOPBACK = re.compile(r'sin_addr=inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|sin6_addr=inet_pton\(AF_INET6, "::1"')


def _run(home: Path, work: Path, trace: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "MPLCONFIGDIR", "ORT_")) and k != "CLASSMOOD_DATABASE_URL"}
    env["HOME"] = str(home)
    command = [sys.executable, "-m", "classmood", *args]
    if STRACE:  # every connect() of the process and its children (threads, OCR subprocesses)
        command = [STRACE, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), *command]
    result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def _remote_connects(trace: Path) -> list[str]:
    lines = trace.read_text().splitlines() if trace.exists() else []
    return [line for line in lines if ("AF_INET" in line) and not LOOPBACK.search(line)]


@pytest.mark.skipif(STRACE is None, reason="strace not installed (.ci/run installs it)")
def test_analyze_monitor_and_report_write_only_the_data_folder_and_connect_nowhere(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    runs = {"analyze": ("analyze", str(SAMPLE_VIDEO), "--max-frames", "5", "--out", "analysed"),
            "monitor": ("monitor", str(SAMPLE_VIDEO), "--session", "s", "--no-view", "--max-frames", "20"),
            "report": ("report", "s", "--out", "report.html")}
    traces = {name: tmp_path / f"{name}.strace" for name in runs}
    for name, args in runs.items():
        _run(home, work, traces[name], *args)
    data = home / ".local" / "share" / "classmood"
    outside = [p for p in home.rglob("*") if p.is_file() and data not in p.parents]
    assert outside == []  # before: ~/.cache/Microsoft/.../onnxruntime.db, deviceid; ~/.cache/matplotlib
    assert sorted(p.name for p in work.iterdir()) == ["analysed", "report.html"]
    assert (data / "classmood.db").is_file()
    assert all(trace.exists() for trace in traces.values())  # strace did trace each command
    assert {name: _remote_connects(trace) for name, trace in traces.items()} == {name: [] for name in runs}
