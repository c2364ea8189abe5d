"""Who records a session and on which machine, so that many teachers can share one database.

``teacher`` is ``--teacher`` (the app: its Settings), else ``$CLASSMOOD_TEACHER``, else the login
name; ``machine`` is ``$CLASSMOOD_MACHINE``, else the host name. Both are stored with each session
and shown on ``classmood sessions list`` and the app's School page.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass

from classmood.errors import ClassmoodError

TEACHER_ENV = "CLASSMOOD_TEACHER"
MACHINE_ENV = "CLASSMOOD_MACHINE"
MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class SessionOrigin:
    teacher: str
    machine: str


def session_origin(teacher: str | None = None) -> SessionOrigin:
    """The teacher and machine of a session recorded by this process."""
    teacher = teacher if teacher is not None else os.environ.get(TEACHER_ENV) or _login_name()
    machine = os.environ.get(MACHINE_ENV) or socket.gethostname()
    teacher, machine = " ".join(teacher.split()), " ".join(machine.split())
    for what, value in (("teacher", teacher), ("machine", machine)):
        if not value or len(value) > MAX_LENGTH or not value.isprintable():
            raise ClassmoodError(f"the {what} must be printable text of 1 to {MAX_LENGTH} characters, not {value!r}")
    return SessionOrigin(teacher, machine)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
