"""The code passes ruff with the rules chosen in pyproject.toml (bugbear, pyupgrade, simplify, ...)."""

import subprocess
import sys

import pytest

from fixtures.paths import ROOT

pytest.importorskip("ruff")  # in the test extra; CI always has it


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "benchmarks", "scripts",
                             "experiments"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
