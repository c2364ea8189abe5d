"""Whether a ``running`` session is still being written: its owner and heartbeat.

The recorder that writes a session (its owner, ``pid@host/run``) stamps ``heartbeat_at`` at
every flush (about once a second). A running session whose heartbeat is older than
``STALE_AFTER_S``, or whose owner process on this host is gone, was interrupted (kill -9,
power cut) and may be taken over by ``--resume``.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime

import psutil

#: a heartbeat older than this (a few flush periods of ~1 s) means nobody writes the session
STALE_AFTER_S = 10.0


def this_owner() -> str:
    """``pid@hostname/run``: this process, and a token of its own for each recorder it opens."""
    return f"{os.getpid()}@{socket.gethostname()}/{uuid.uuid4().hex[:8]}"


def utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def owner_alive(owner: str | None) -> bool:
    """False when ``owner`` is a process of this host that no longer exists (unknown hosts: True)."""
    pid, _, where = (owner or "").partition("@")
    if where.partition("/")[0] != socket.gethostname() or not pid.isdigit():
        return True
    return psutil.pid_exists(int(pid))


def is_live(owner: str | None, heartbeat_at: datetime | None, now: datetime | None = None) -> bool:
    """True when a monitor still writes the session: fresh heartbeat and an owner that exists."""
    if heartbeat_at is None:
        return False
    age = ((now or datetime.now(UTC)) - utc(heartbeat_at)).total_seconds()
    return age <= STALE_AFTER_S and owner_alive(owner)


def shown_status(status: str, owner: str | None, heartbeat_at: datetime | None) -> str:
    """The status to show: a ``running`` session nobody writes any more is ``interrupted``."""
    return "interrupted" if status == "running" and not is_live(owner, heartbeat_at) else status
