"""Atomic file writes: write to a hidden temp file beside the target, rename on success.

A crash or an error therefore never leaves a partial file that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def partial_path(target: Path) -> Path:
    """Hidden temp name beside ``target`` that keeps its extension (codecs pick by it)."""
    return target.with_name(f".{target.stem}.partial-{uuid.uuid4().hex[:8]}{target.suffix}")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path to write; on clean exit it replaces ``target``, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write a whole text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


class AtomicWriter:
    """Base for writers whose file appears only when ``close()`` succeeds.

    Subclasses implement ``close()`` (finish and rename into place) and ``abort()``
    (drop the partial file); as a context manager an exception calls ``abort()``.
    """

    def close(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
