"""Atomic file writes: write to a hidden temp file beside the target, rename on success.

A crash or an error therefore never leaves a partial file that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil

#: ``.<stem>.partial-<pid of the writer>-<8 hex><suffix>``
_PARTIAL = re.compile(r"\.(?P<stem>.*)\.partial-(?P<pid>[0-9]+)-[0-9a-f]{8}(?P<suffix>\.[^./]*)?$")


def partial_path(target: Path) -> Path:
    """Hidden temp name beside ``target`` that keeps its extension (codecs pick by it) and names
    the writing process, so that a later run can tell a stale one (its writer was killed) from a live one.
    Stale temp files of the same target are removed first."""
    remove_stale_partials(target)
    return target.with_name(f".{target.stem}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}{target.suffix}")


def remove_stale_partials(target: Path) -> list[Path]:
    """Delete ``target``'s temp files whose writing process is gone (kill -9, power cut); returns them."""
    removed = []
    with contextlib.suppress(OSError):  # a folder not made yet or not listable: nothing to clean
        for entry in target.parent.iterdir():
            match = _PARTIAL.match(entry.name)
            if (match and match["stem"] == target.stem and (match["suffix"] or "") == target.suffix
                    and _writer_is_gone(int(match["pid"]), entry)):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    removed.append(entry)
    return removed


def _writer_is_gone(pid: int, partial: Path) -> bool:
    """No process ``pid`` runs, or the one that does started after the file was last written (a reused pid)."""
    try:
        return psutil.Process(pid).create_time() > partial.stat().st_mtime + 1.0
    except psutil.NoSuchProcess:
        return True
    except (psutil.AccessDenied, OSError):
        return False


def hide_partial_names(text: str) -> str:
    """``text`` with every temp file name replaced by its target's name (for error messages)."""
    return re.sub(r"\.([^\s/'\"]*?)\.partial-[0-9]+-[0-9a-f]{8}", r"\1", text)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path to write; on clean exit it replaces ``target``, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(target)
    try:
        with naming(target, tmp):
            yield tmp
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def naming(target: Path, *temps: Path | None) -> Iterator[None]:
    """An ``OSError`` raised inside names ``target`` when it named one of its temp files or no file
    (a full disk reports ENOSPC on ``write()`` without a file name)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None or exc.filename in {str(t) for t in temps if t is not None}:
            exc.filename = str(target)
        raise


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write a whole text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


class AtomicWriter:
    """Base for writers whose file appears only when ``close()`` succeeds.

    Subclasses implement ``finish()`` (complete the temp file: where a full disk shows),
    ``commit()`` (rename it into place) and ``abort()`` (drop it), or override ``close()``;
    as a context manager an exception calls ``abort()``. ``close_together`` commits
    several writers only once all of them are finished.
    """

    def finish(self) -> None:
        """Complete the temp file(s); nothing is visible under the final name yet."""

    def commit(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self):
        self.finish()
        return self.commit()

    def abort(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def close_together(*writers: AtomicWriter | None) -> list:
    """Finish every writer, then commit them all: a failure (full disk) leaves none of their files under a
    final name, where closing them one by one would leave the first ones looking like a complete run."""
    writers = [w for w in writers if w is not None]
    try:
        for writer in writers:
            writer.finish()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return [writer.commit() for writer in writers]
