"""The benchmark entry point and peer-venv setup: help, bad options and failures are one-line errors."""

import json
import subprocess
import sys

import pytest

from benchmarks.systems import MARKER, BenchmarkError, PeerVenv
from fixtures.paths import ROOT



def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_help_lists_run_and_quick():
    proc = bench("run", "--help")
    assert proc.returncode == 0 and "--quick" in proc.stdout


def test_unknown_option_fails_without_traceback():
    proc = bench("run", "--no-such-option")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_peer_venv_ready_only_with_matching_marker(tmp_path):
    venv = PeerVenv("peer", ("somepkg",), ("other",), root=tmp_path)
    assert not venv.is_ready()
    (venv.path / "bin").mkdir(parents=True)
    venv.python.write_text("")
    (venv.path / MARKER).write_text(json.dumps(venv.spec()))
    assert venv.is_ready()
    changed = PeerVenv("peer", ("somepkg", "more"), ("other",), root=tmp_path)
    assert not changed.is_ready()  # a changed spec rebuilds the venv


def test_failed_peer_setup_is_a_clear_error(tmp_path):
    venv = PeerVenv("broken", ("this is not a requirement!",), root=tmp_path)
    log = tmp_path / "setup.log"
    with pytest.raises(BenchmarkError, match="setting up the broken venv failed"):
        venv.ensure(log)
    assert not venv.is_ready() and "pip" in log.read_text()


def test_report_without_results_is_a_one_line_error(tmp_path):
    proc = bench("report", "--out", str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "cannot rebuild the report" in proc.stderr and not (tmp_path / "benchmarks.md").exists()


def test_model_fingerprint_follows_the_model_file(tmp_path, monkeypatch):
    from benchmarks.systems import default_systems, model_fingerprint
    from classmood.emotions import EMOTIONS

    meta = {"name": "realtime", "classes": list(EMOTIONS), "input_size": 48, "mean": 0.5, "std": 0.5}
    (tmp_path / "realtime.json").write_text(json.dumps(meta))
    (tmp_path / "realtime.onnx").write_bytes(b"first model bytes")
    monkeypatch.setenv("CLASSMOOD_MODELS_DIR", str(tmp_path))
    realtime, fer = next(s for s in default_systems() if s.key == "classmood_realtime"), default_systems()[-1]
    first = model_fingerprint(realtime)
    (tmp_path / "realtime.onnx").write_bytes(b"a retrained model")
    assert len(first) == 12 and model_fingerprint(realtime) != first  # a swap mid-run is caught
    assert model_fingerprint(fer) is None
