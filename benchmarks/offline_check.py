"""Which peer packages can run offline? Download each from the registry and read its code.

A package runs offline when it ships its model weights and its code fetches none at run
time. For each candidate we ``pip download --no-deps`` the newest release, list the weight
files inside it, and search its code for run-time download calls; the evidence (file:line)
goes into the report so a reader can check it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Emotion-recognition packages on PyPI a user might pick instead of classmood.
CANDIDATES = ("fer", "deepface", "hsemotion-onnx", "emotiefflib", "rmn", "py-feat", "fer-pytorch",
              "facial-emotion-recognition")

#: Why a peer that can run offline is or is not in the measured comparison.
NOTES = {
    "fer": "measured above",
    "facial-emotion-recognition": "not measured: needs torch + torchvision + facenet-pytorch (GBs, and PyPI's "
                                  "torchvision does not import beside this machine's torch build), and its API "
                                  "(`recognise_emotion`) returns only a picture with labels drawn on it, no "
                                  "per-face boxes or probabilities to score",
}

WEIGHT_SUFFIXES = (".h5", ".hdf5", ".onnx", ".pt", ".pth", ".pkl", ".tflite", ".pb", ".caffemodel",
                   ".xml", ".dat", ".bin", ".safetensors", ".ckpt")
MIN_WEIGHT_BYTES = 50_000
DOWNLOAD_CALL = re.compile(
    r"hf_hub_download|snapshot_download|urlretrieve|gdown\.download|load_state_dict_from_url|"
    r"model_zoo\.load_url|keras\.utils\.get_file|\bget_file\(|download_weights_if_necessary\(|"
    r"requests\.get\([^)]*(\.onnx|\.pth?|\.h5|weights)")


@dataclass
class PeerCheck:
    package: str
    version: str = ""
    weight_files: list[str] = field(default_factory=list)  # "path (size MB)"
    download_evidence: list[str] = field(default_factory=list)  # "file:line: code"
    verdict: str = ""
    error: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def read_members(archive: Path) -> dict[str, bytes | int]:
    """Python sources (their text) and sizes of other files inside a wheel or sdist."""
    members: dict[str, bytes | int] = {}
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = info.filename
                members[name] = z.read(info) if name.endswith(".py") else info.file_size
    else:
        with tarfile.open(archive) as t:
            for info in t.getmembers():
                if not info.isfile():
                    continue
                if info.name.endswith(".py"):
                    members[info.name] = t.extractfile(info).read()
                else:
                    members[info.name] = info.size
    return members


def inspect_members(package: str, members: dict[str, bytes | int]) -> PeerCheck:
    """Weight files and run-time download calls among an archive's members."""
    check = PeerCheck(package)
    for name, value in sorted(members.items()):
        if isinstance(value, int):
            if name.lower().endswith(WEIGHT_SUFFIXES) and value >= MIN_WEIGHT_BYTES:
                check.weight_files.append(f"{name} ({value / 1e6:.1f} MB)")
            continue
        if _is_test_or_example(name):
            continue
        for number, line in enumerate(value.decode("utf-8", "replace").splitlines(), 1):
            code = line.split("#", 1)[0]
            if DOWNLOAD_CALL.search(code):
                check.download_evidence.append(f"{name}:{number}: {line.strip()[:120]}")
    check.download_evidence.sort(key=_evidence_rank)
    check.verdict = verdict(check)
    return check


def _evidence_rank(line: str) -> tuple[bool, bool, int]:
    """Calls before imports, a package's ``__init__`` and shallow files first (the telling hit first)."""
    path, _, code = line.split(":", 2)
    code = code.split(":", 1)[-1].strip()
    return (code.startswith(("from ", "import ")), not path.endswith("__init__.py"), path.count("/"))


def _is_test_or_example(name: str) -> bool:
    parts = name.lower().split("/")
    return any(p in ("tests", "test", "examples", "training_and_examples", "docs") for p in parts) or \
        parts[-1].startswith("test_") or parts[-1] == "setup.py"


def verdict(check: PeerCheck) -> str:
    if check.download_evidence and not check.weight_files:
        return "downloads its model weights at run time: cannot run offline"
    if check.download_evidence:
        return "ships some weights but downloads others at run time: not fully offline"
    if check.weight_files:
        return "ships its model weights and fetches none: can run offline"
    return "ships no weights and has no download call found: needs weights from elsewhere"


def check_package(package: str, cache: Path) -> PeerCheck:
    """Download (once) and inspect the newest release of ``package``."""
    folder = cache / package
    archives = sorted(folder.glob("*.whl")) + sorted(folder.glob("*.tar.gz")) + sorted(folder.glob("*.zip"))
    if not archives:
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
                               package], capture_output=True, text=True, timeout=600)
        archives = sorted(folder.glob("*.whl")) + sorted(folder.glob("*.tar.gz")) + sorted(folder.glob("*.zip"))
        if proc.returncode != 0 or not archives:
            lines = [x for x in (proc.stderr or "").splitlines() if x.strip() and "WARNING" not in x]
            return PeerCheck(package, error=(lines[-1] if lines else "download failed")[:200],
                             verdict="could not be downloaded from the registry")
    archive = archives[-1]
    check = inspect_members(package, read_members(archive))
    check.version = _version_from_name(archive.name)
    check.note = NOTES.get(package, "")
    return check


def _version_from_name(filename: str) -> str:
    match = re.match(r"[A-Za-z0-9_.\-]+?-(\d[^-]*?)(?:-py|\.tar\.gz|\.zip|-cp)", filename)
    return match.group(1) if match else ""


def check_all(cache: Path, packages: tuple[str, ...] = CANDIDATES) -> list[PeerCheck]:
    return [check_package(p, cache) for p in packages]
