"""Files classmood writes are this user's only: a 077 umask for the whole process, 0700 data folders.

Class recordings, per-student emotions, the database and its -wal/-shm files, reports and
exports are personal data; with the usual 022 umask they were readable by every local user.
``private_umask`` runs once at process start (the CLI's callback, which the web app's
``classmood app`` also passes through before it execs Streamlit).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Create every later file 0600 and folder 0700 in this process and its children."""
    os.umask(PRIVATE_UMASK)


def data_folder() -> Path:
    """classmood's own folder in the user's data directory (private): the default database, caches."""
    from platformdirs import user_data_dir

    return private_folder(user_data_dir("classmood", appauthor=False))


def library_caches_inside_data_folder() -> None:
    """Point the caches libraries keep in the home folder (matplotlib's font list) into classmood's
    data folder, so that nothing is written outside it and the outputs asked for (once per process;
    a folder the user chose is kept)."""
    if "MPLCONFIGDIR" not in os.environ:
        os.environ["MPLCONFIGDIR"] = str(private_folder(data_folder() / "cache" / "matplotlib"))


def private_folder(path: str | Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700, also when an older version made it 0755."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path
