"""Check that classmood's runtime dependencies install from wheels on every platform it supports.

    python .ci/check_wheels.py [--cache-dir DIR] [--also REQUIREMENT]...   (CI: bash .ci/check_wheels.sh)

For each platform the dependency list of pyproject.toml (markers evaluated for that platform) is
resolved by ``pip install --dry-run --only-binary=:all: --platform ... --python-version 3.11``:
pip reads wheel metadata from the index and downloads no wheel. Two things fail the check, each
with one line naming the dependency and the platform:

- a package (direct or pulled in) with no wheel for the platform at all;
- a direct dependency whose newest version (the newest any checked platform gets within the
  platform's own requirement) has no wheel for the platform: a plain ``pip install`` there would
  pick that version's source archive and compile it. Pin a range for that platform with an
  environment marker in pyproject.toml.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
_GLIBC = ("2_31", "2_28", "2_27", "2_26", "2_24", "2_17")  # a Linux with glibc 2.31 (Ubuntu 20.04, Debian 11)


@dataclass(frozen=True, slots=True)
class Target:
    """One platform: its pip platform tags and what its environment markers see."""

    name: str
    tags: tuple[str, ...]
    sys_platform: str
    machine: str

    def environment(self) -> dict[str, str]:
        system = {"win32": "Windows", "darwin": "Darwin", "linux": "Linux"}[self.sys_platform]
        env = default_environment()
        env.update(sys_platform=self.sys_platform, platform_machine=self.machine, platform_system=system,
                   os_name="nt" if self.sys_platform == "win32" else "posix", python_version=PYTHON,
                   python_full_version=f"{PYTHON}.0", implementation_name="cpython",
                   platform_python_implementation="CPython")
        return env


def _linux(machine: str) -> Target:
    """pip does not count older manylinux tags as compatible by itself: list them."""
    tags = (*(f"manylinux_{g}_{machine}" for g in _GLIBC), f"manylinux2014_{machine}")
    return Target(f"Linux {machine}", tags, "linux", machine)


TARGETS = (
    Target("Windows x86_64", ("win_amd64",), "win32", "AMD64"),
    # pip counts older macOS tags as compatible; the oldest macOS still common on each kind of Mac
    Target("macOS 13 Intel", ("macosx_13_0_x86_64",), "darwin", "x86_64"),
    Target("macOS 14 Apple silicon", ("macosx_14_0_arm64",), "darwin", "arm64"),
    _linux("x86_64"),
    _linux("aarch64"),
)


def requirements(target: Target, also: list[str]) -> list[Requirement]:
    """pyproject's runtime dependencies (and ``also``) that apply on ``target``, markers removed."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    chosen = []
    for line in project["dependencies"] + also:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(target.environment()):
            req.marker = None
            chosen.append(req)
    return chosen


def resolve(target: Target, reqs: list[Requirement], cache_dir: str) -> tuple[dict[str, Version], str | None]:
    """Versions pip picks from wheels only (canonical name -> version), or the package it found none for."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--disable-pip-version-check", "--only-binary=:all:", "--python-version", PYTHON,
               "--implementation", "cp", "--abi", f"cp{PYTHON.replace('.', '')}", "--target", str(Path(tmp) / "t"),
               "--cache-dir", cache_dir, "--report", str(report)]
        for tag in target.tags:
            cmd += ["--platform", tag]
        done = subprocess.run(cmd + [str(r) for r in reqs], capture_output=True, text=True)
        if done.returncode:
            missing = re.findall(r"No matching distribution found for (\S+)", done.stderr)
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            return {}, missing[-1] if missing else (errors[-1] if errors else done.stderr.strip()[-300:])
        installed = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {canonicalize_name(i["metadata"]["name"]): Version(i["metadata"]["version"]) for i in installed}, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "classmood-wheel-check-cache"))
    parser.add_argument("--also", action="append", default=[], metavar="REQUIREMENT",
                        help="check this requirement too (e.g. a dependency about to be added)")
    args = parser.parse_args(argv)
    wanted = {t.name: requirements(t, args.also) for t in TARGETS}
    resolved: dict[str, dict[str, Version]] = {}
    problems = []
    for target in TARGETS:
        versions, missing = resolve(target, wanted[target.name], args.cache_dir)
        if missing:
            problems.append(f"error: {target.name} ({target.tags[0]}): no wheel for {missing}")
        else:
            resolved[target.name] = versions
    for target in TARGETS:
        if target.name not in resolved:
            continue
        for req in wanted[target.name]:
            name = canonicalize_name(req.name)
            got = resolved[target.name][name]
            elsewhere = [v[name] for v in resolved.values() if name in v and req.specifier.contains(v[name])]
            newest = max(elsewhere, default=got)
            if got < newest:
                problems.append(f"error: {target.name} ({target.tags[0]}): {req.name} {newest} has no wheel (newest "
                                f"with one: {got}), so pip there would build {newest} from source if it can: pin "
                                f"{req.name} below {newest} for this platform with an environment marker in "
                                "pyproject.toml")
        direct = ", ".join(f"{r.name} {resolved[target.name][canonicalize_name(r.name)]}"
                           for r in wanted[target.name])
        print(f"{target.name}: all {len(resolved[target.name])} packages from wheels ({direct})")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
