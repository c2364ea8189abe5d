"""Privacy you can check (issue 23): the command-line tools write nothing outside classmood's data
folder and the outputs asked for (ONNX Runtime's telemetry store and matplotlib's font cache used to
land in ~/.cache), and open no socket to anything but this machine (every connect() traced by strace)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classmood.assets import SAMPLE_VIDEO

from fixtures.privacy import (
    STRACE, data_folder_of, files_outside_data_folder, fresh_home_env, remote_connects, strace_connects,
)


def _run(home: Path, work: Path, trace: Path, *args: str) -> None:
    command = [sys.executable, "-m", "classmood", *args]
    if STRACE:  # every connect() of the process and its children (threads, OCR subprocesses)
        command = [*strace_connects(trace), *command]
    result = subprocess.run(command, cwd=work, env=fresh_home_env(home), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


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
    data = data_folder_of(home)
    assert files_outside_data_folder(home) == []  # before: ~/.cache/Microsoft/.../onnxruntime.db, deviceid; ~/.cache/matplotlib
    assert sorted(p.name for p in work.iterdir()) == ["analysed", "report.html"]
    assert (data / "classmood.db").is_file()
    assert all(trace.exists() for trace in traces.values())  # strace did trace each command
    assert {name: remote_connects(trace) for name, trace in traces.items()} == {name: [] for name in runs}


@pytest.mark.skipif(STRACE is None, reason="strace not installed (.ci/run installs it)")
def test_the_trace_catches_a_socket_aimed_outside(tmp_path):
    """The check above can fail: a UDP socket connected to a documentation address (connect() of UDP
    sends nothing) is caught, one connected to loopback is not."""
    trace = tmp_path / "probe.strace"
    probe = ("import socket\nfor host in ('203.0.113.9', '127.0.0.1'):\n"
             "    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect((host, 9))")
    subprocess.run([*strace_connects(trace), sys.executable, "-c", probe], check=True, timeout=60)
    caught = remote_connects(trace)
    assert len(caught) == 1 and "203.0.113.9" in caught[0]
