"""The systems compared: classmood (this repository's environment) and each peer (its own venv).

A peer is set up from the package registry into ``.bench/venvs/<name>`` once; a marker file
records what was installed so later runs reuse the venv, and a changed spec rebuilds it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / ".bench"
WORKERS_DIR = Path(__file__).resolve().parent / "workers"
MARKER = "benchmarks-spec.json"


class BenchmarkError(RuntimeError):
    """A benchmark step failed; the message is one line meant for the user."""


@dataclass(frozen=True)
class System:
    """One system under test: how to run its worker and with which options."""

    name: str  # label in tables, e.g. "classmood (realtime)"
    key: str  # short id for file names and JSON keys, e.g. "classmood_realtime"
    worker: str  # script in benchmarks/workers
    job_options: dict = field(default_factory=dict)
    venv: PeerVenv | None = None  # None: run with this interpreter (classmood's environment)
    tasks: tuple[str, ...] = ("classify", "detect", "e2e")

    def python(self) -> Path:
        return Path(sys.executable) if self.venv is None else self.venv.python

    @property
    def worker_path(self) -> Path:
        return WORKERS_DIR / self.worker


@dataclass(frozen=True)
class PeerVenv:
    """A peer's own virtual environment: packages installed normally, then some with ``--no-deps``."""

    name: str
    requirements: tuple[str, ...]
    no_deps: tuple[str, ...] = ()
    root: Path = BENCH_DIR / "venvs"

    @property
    def path(self) -> Path:
        return self.root / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def spec(self) -> dict:
        return {"requirements": list(self.requirements), "no_deps": list(self.no_deps)}

    def is_ready(self) -> bool:
        marker = self.path / MARKER
        try:
            return self.python.is_file() and json.loads(marker.read_text()) == self.spec()
        except (OSError, json.JSONDecodeError):
            return False

    def ensure(self, log: Path, base_python: str | None = None) -> Path:
        """Create and fill the venv unless an identical one exists; returns its python."""
        if self.is_ready():
            return self.python
        if self.path.exists():
            shutil.rmtree(self.path)
        log.parent.mkdir(parents=True, exist_ok=True)
        python = base_python or _base_python()
        steps = [
            [python, "-m", "venv", str(self.path)],
            [str(self.python), "-m", "pip", "install", "--quiet", *self.requirements],
        ]
        if self.no_deps:
            steps.append([str(self.python), "-m", "pip", "install", "--quiet", "--no-deps", *self.no_deps])
        with log.open("w") as out:
            for cmd in steps:
                out.write("$ " + " ".join(cmd) + "\n")
                out.flush()
                if subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    raise BenchmarkError(f"setting up the {self.name} venv failed at `{' '.join(cmd[2:5])}` "
                                         f"(see {log})")
        (self.path / MARKER).write_text(json.dumps(self.spec()))
        return self.python


def _base_python() -> str:
    """The interpreter venvs are made from: the one under this venv (same Python version)."""
    return getattr(sys, "_base_executable", None) or sys.executable


#: The ``fer`` package: TensorFlow + its bundled mini-Xception; installed without its pinned
#: dependencies (they pull in a GPU stack) and with OpenCV 4.x, which still ships the Haar cascades.
FER_VENV = PeerVenv(
    name="fer",
    requirements=("setuptools<81", "tensorflow-cpu", "opencv-python-headless<5", "pandas", "matplotlib",
                  "Pillow", "requests", "tqdm"),
    no_deps=("fer",),
)


def missing_model(system: System) -> str | None:
    """Why a classmood system cannot run here (its bundled model is absent), else ``None``."""
    model = system.job_options.get("model")
    if system.venv is not None or model is None:
        return None
    from classmood.classify import resolve_model
    from classmood.errors import ClassmoodError

    try:
        resolve_model(model)
    except ClassmoodError as exc:
        return str(exc)
    return None


def model_fingerprint(system: System) -> str | None:
    """sha256 (first 12 hex digits) of a classmood system's ONNX file; ``None`` for peers."""
    model = system.job_options.get("model")
    if system.venv is not None or model is None:
        return None
    import hashlib

    from classmood.classify import resolve_model

    return hashlib.sha256(resolve_model(model).path.read_bytes()).hexdigest()[:12]


def default_systems() -> list[System]:
    """classmood with each bundled model, then the peers."""
    return [
        System("classmood (realtime)", "classmood_realtime", "classmood_worker.py", {"model": "realtime"}),
        # same detector as realtime, so its detection figures would repeat realtime's
        System("classmood (accurate)", "classmood_accurate", "classmood_worker.py", {"model": "accurate"},
               tasks=("classify", "e2e")),
        System("fer", "fer", "fer_worker.py", {}, FER_VENV),
    ]
