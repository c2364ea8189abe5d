"""The recordings of a batch: files, folders (their videos, recursively) and glob patterns,
each with the session it is recorded as (the prefix + the file's stem)."""

from __future__ import annotations

import glob
from dataclasses import dataclass, replace
from pathlib import Path

from classmood.errors import ClassmoodError
from classmood.sources import VIDEO_EXTENSIONS


@dataclass(frozen=True, slots=True)
class Recording:
    """One recorded class to analyse: its file (resolved), its session name and its frames to analyse
    (None until counted, or when the container does not say)."""

    path: Path
    session: str
    frames: int | None = None


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Every recording named by ``inputs``, resolved, in order, each once. A folder gives the videos
    in it and below it; a pattern (``*``, ``?``, ``[``) its matches. A name or pattern that matches
    nothing is a one-line ``ClassmoodError``."""
    found: dict[Path, None] = {}
    for given in inputs:
        if glob.has_magic(given):
            matches = [Path(m) for m in sorted(glob.glob(given, recursive=True))]
            paths = [p for m in matches for p in (_videos_in(m) if m.is_dir() else [m])]
        else:
            path = Path(given)
            if not path.exists():
                raise ClassmoodError(f"{given}: no such file or folder")
            paths = _videos_in(path) if path.is_dir() else [path]
        if not paths:
            raise ClassmoodError(f"{given}: no video recordings there ({', '.join(sorted(VIDEO_EXTENSIONS))})")
        found.update((p.resolve(), None) for p in paths)
    return list(found)


def _videos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)


def plan_recordings(paths: list[Path], prefix: str) -> list[Recording]:
    """One session per recording, named ``prefix`` + the file's stem; two files with one stem would
    share a session, which is refused in one line."""
    by_name: dict[str, Path] = {}
    for path in paths:
        name = prefix + path.stem
        if name in by_name:
            raise ClassmoodError(f"{by_name[name]} and {path} would both be session {name!r}; "
                                 "rename one or run them as two batches with different --session-prefix")
        by_name[name] = path
    return [Recording(path, name) for name, path in by_name.items()]


def count_frames(recording: Recording, every: int) -> Recording:
    """``recording`` with the number of frames to analyse (every ``every``-th): the file is opened
    and its header read, so an unreadable one is a one-line ``ClassmoodError`` before any work."""
    from classmood.sources import open_source

    with open_source(recording.path, every=every) as source:
        return replace(recording, frames=source.frame_count)
