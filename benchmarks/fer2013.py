"""Stratified, reproducible samples of FER-2013 publictest crops read from ``/work/shared``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from classmood.emotions import EMOTIONS

#: Default location: ``../shared/datasets/fer2013`` relative to the repository root.
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "fer2013"


@dataclass(frozen=True, slots=True)
class CropSet:
    """Gray 48x48 face crops with their labels (indices into ``EMOTIONS``)."""

    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int64 (N,)
    paths: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def list_split(root: Path, split: str) -> dict[str, list[Path]]:
    """Image paths per class, sorted, for one split folder; raises if the folder is missing."""
    base = Path(root) / split
    if not base.is_dir():
        raise FileNotFoundError(f"FER-2013 split not found: {base}")
    return {name: sorted((base / name).glob("*.jpg")) for name in EMOTIONS}


def sample_paths(per_class: dict[str, list[Path]], limit: int | None, seed: int = 0) -> list[tuple[Path, int]]:
    """Up to ``limit`` images per class (all when ``None``), chosen with a fixed seed."""
    rng = np.random.default_rng(seed)
    chosen: list[tuple[Path, int]] = []
    for label, name in enumerate(EMOTIONS):
        paths = per_class.get(name, [])
        if limit is not None and len(paths) > limit:
            idx = np.sort(rng.choice(len(paths), size=limit, replace=False))
            paths = [paths[i] for i in idx]
        chosen.extend((p, label) for p in paths)
    return chosen


def load_crops(root: Path = DEFAULT_ROOT, split: str = "publictest", per_class: int | None = None,
               seed: int = 0) -> CropSet:
    """Read a stratified sample of crops as one uint8 array."""
    chosen = sample_paths(list_split(root, split), per_class, seed)
    if not chosen:
        raise FileNotFoundError(f"no FER-2013 images under {Path(root) / split}")
    images = np.stack([_read_gray48(p) for p, _ in chosen])
    labels = np.array([label for _, label in chosen], dtype=np.int64)
    return CropSet(images, labels, tuple(str(p) for p, _ in chosen))


def _read_gray48(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read image: {path}")
    if image.shape != (48, 48):
        image = cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA)
    return image
