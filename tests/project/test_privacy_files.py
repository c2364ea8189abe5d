"""Privacy you can check (issue 23, first part): the command-line tools write nothing outside
classmood's data folder and the outputs asked for (ONNX Runtime's telemetry store and matplotlib's
font cache used to land in ~/.cache)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from classmood.assets import SAMPLE_VIDEO as SAMPLE


def _run(home: Path, *args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "MPLCONFIGDIR", "ORT_", "CLASSMOOD_"))}
    env["HOME"] = str(home)
    result = subprocess.run([sys.executable, "-m", "classmood", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def test_analyze_monitor_and_report_write_only_the_data_folder_and_the_asked_outputs(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    _run(home, "analyze", str(SAMPLE), "--max-frames", "5", "--out", "analysed", cwd=work)
    _run(home, "monitor", str(SAMPLE), "--session", "s", "--no-view", "--max-frames", "20", cwd=work)
    _run(home, "report", "s", "--out", "report.html", cwd=work)
    data = home / ".local" / "share" / "classmood"
    outside = [p for p in home.rglob("*") if p.is_file() and data not in p.parents]
    assert outside == []  # before: ~/.cache/Microsoft/.../onnxruntime.db, deviceid; ~/.cache/matplotlib
    assert sorted(p.name for p in work.iterdir()) == ["analysed", "report.html"]
    assert (data / "classmood.db").is_file()
