"""Loading an image-folder emotion data set into compact uint8 arrays.

A data set is a folder with one sub-folder per class (named as in ``EMOTIONS``) of face
images. Everything is decoded once to ``(N, S, S)`` uint8 grayscale plus ``(N,)`` int64
labels; 28,709 FER-2013 faces take 66 MB, so the whole set lives on the training device.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class FaceArrays:
    """Decoded faces and labels (indices into ``EMOTIONS``)."""

    images: np.ndarray  # (N, S, S) uint8
    labels: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, limit_per_class: int | None, seed: int = 0) -> FaceArrays:
        """At most ``limit_per_class`` random faces per class (all when ``None``)."""
        return self.select(self.subset_indices(limit_per_class, seed))

    def sample(self, n: int | None, seed: int = 0) -> FaceArrays:
        """``n`` random faces in their original order (all when ``n`` is ``None`` or not smaller)."""
        if n is None or n >= len(self):
            return self
        return self.select(np.sort(np.random.default_rng(seed).permutation(len(self))[:n]))

    def select(self, keep: np.ndarray | None) -> FaceArrays:
        """The faces at indices ``keep`` (all when ``None``)."""
        return self if keep is None else FaceArrays(self.images[keep], self.labels[keep])

    def subset_indices(self, limit_per_class: int | None, seed: int = 0) -> np.ndarray | None:
        """Sorted indices of ``subset`` (``None``: all faces)."""
        if not limit_per_class:
            return None
        rng = np.random.default_rng(seed)
        keep = np.concatenate([
            rng.permutation(np.flatnonzero(self.labels == c))[:limit_per_class]
            for c in range(len(EMOTIONS))
        ])
        keep.sort()
        return keep


def decode_gray(data: bytes, size: int) -> np.ndarray | None:
    """Decode image bytes to ``size x size`` grayscale, or ``None`` when unreadable."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    if image.shape != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def load_image_folder(root: str | Path, size: int = 48) -> FaceArrays:
    """Decode every image under ``root/<class>/``; unreadable files are skipped with a warning."""
    root = Path(root)
    missing = [c for c in EMOTIONS if not (root / c).is_dir()]
    if len(missing) == len(EMOTIONS):
        raise FileNotFoundError(f"{root} has none of the class folders {', '.join(EMOTIONS)}")
    images, labels = [], []
    for label, name in enumerate(EMOTIONS):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image = decode_gray(path.read_bytes(), size)
            if image is None:
                log.warning("skipping unreadable image %s", path)
                continue
            images.append(image)
            labels.append(label)
    if not images:
        raise FileNotFoundError(f"no readable images under {root}")
    return FaceArrays(np.stack(images), np.asarray(labels, np.int64))


def pack_jpeg_cache(splits: dict[str, str | Path], out: str | Path) -> None:
    """Pack image folders as raw file bytes + labels in one ``.npz`` (smaller than pixels; for moving data).

    Per split: ``blobs_<split>`` (the files' bytes end to end, uint8), ``ends_<split>`` (where each
    file ends) and ``labels_<split>``; the header bytes every file shares (FER-2013's JPEGs: 328 of
    ~1,600) are stored once as ``prefix``. Plain arrays only: it loads with ``allow_pickle=False``.
    """
    packed = {}
    for split, root in splits.items():
        blobs, labels = [], []
        for label, name in enumerate(EMOTIONS):
            for path in sorted((Path(root) / name).glob("*")):
                blobs.append(path.read_bytes())
                labels.append(label)
        packed[split] = (blobs, np.asarray(labels, np.int8))
    prefix = common_prefix([b for blobs, _ in packed.values() for b in blobs])
    arrays = {"prefix": np.frombuffer(prefix, np.uint8)}
    for split, (blobs, labels) in packed.items():
        tails = [b[len(prefix):] for b in blobs]
        arrays[f"blobs_{split}"] = np.frombuffer(b"".join(tails), np.uint8)
        arrays[f"ends_{split}"] = np.cumsum([len(t) for t in tails], dtype=np.int64)
        arrays[f"labels_{split}"] = labels
    with open(out, "wb") as fh:  # a file object: np.savez would add ".npz" to a path
        np.savez(fh, **arrays)


def common_prefix(blobs: list[bytes]) -> bytes:
    """The longest byte string every blob starts with."""
    if not blobs:
        return b""
    low, high = min(blobs), max(blobs)  # the common prefix of all = that of the extremes
    n = next((i for i, (a, b) in enumerate(zip(low, high)) if a != b), min(len(low), len(high)))
    return low[:n]


def load_jpeg_cache(path: str | Path, split: str, size: int = 48) -> FaceArrays:
    """Decode one split of a cache written by ``pack_jpeg_cache``."""
    with _open_npz(path) as z:
        blobs, ends = z[_key(z, path, "blobs", split)].tobytes(), z[f"ends_{split}"]
        labels, prefix = z[f"labels_{split}"], z["prefix"].tobytes()
    if len(labels) != len(ends):
        raise ClassmoodError(f"{path} is not a readable data cache ({len(ends)} files but {len(labels)} labels in {split!r})")
    starts = np.concatenate([[0], ends[:-1]])
    images = [decode_gray(prefix + blobs[a:b], size) for a, b in zip(starts, ends)]
    keep = [i for i, im in enumerate(images) if im is not None]
    if not keep:
        raise ClassmoodError(f"{path} holds no readable images in split {split!r}")
    return FaceArrays(np.stack([images[i] for i in keep]), np.asarray(labels, np.int64)[keep])


def save_arrays(splits: dict[str, FaceArrays], out: str | Path) -> None:
    """Decoded splits as one ``.npz`` (``images_<split>``, ``labels_<split>``): fastest to load."""
    np.savez(out, **{f"{k}_{s}": getattr(a, k) for s, a in splits.items() for k in ("images", "labels")})


def load_split(source: str | Path, split: str | None = None, size: int = 48) -> FaceArrays:
    """An image folder, or an ``.npz`` cache file (``save_arrays`` or ``pack_jpeg_cache``) + ``split`` name.

    Caches are read as plain arrays (``allow_pickle=False``): a pickle, which can run code when
    loaded, is refused with a ``ClassmoodError``."""
    source = Path(source)
    if not source.is_file():
        return load_image_folder(source, size)
    if split is None:
        raise ClassmoodError(f"{source} is a cache file: name the split to read from it")
    if source.suffix != ".npz":
        raise ClassmoodError(f"{source}: data caches are read only as .npz arrays (a pickle can run code "
                             "when loaded); pack the folders again with pack_jpeg_cache or save_arrays")
    with _open_npz(source) as z:
        if f"images_{split}" in z.files:
            return FaceArrays(z[f"images_{split}"], z[_key(z, source, "labels", split)].astype(np.int64))
    return load_jpeg_cache(source, split, size)


@contextmanager
def _open_npz(path: str | Path) -> Iterator[np.lib.npyio.NpzFile]:
    """An ``.npz`` opened with ``allow_pickle=False``; anything unreadable (an object array included)
    becomes one ``ClassmoodError`` line."""
    try:
        with np.load(path, allow_pickle=False) as z:
            yield z
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ClassmoodError(f"{path} is not a readable data cache ({' '.join(str(exc).split())[:160]})") from None


def _key(z: np.lib.npyio.NpzFile, path: str | Path, kind: str, split: str) -> str:
    """``<kind>_<split>`` if the cache holds it, else a ``ClassmoodError`` naming the splits it holds."""
    key = f"{kind}_{split}"
    if key not in z.files:
        held = sorted({f.split("_", 1)[1] for f in z.files if "_" in f})
        raise ClassmoodError(f"{path} has no split {split!r} (it holds {', '.join(held) or 'none'})")
    return key
