"""The one error type classmood raises for bad input or an impossible request.

Its message is a single line meant for a person; the CLI prints it as
``error: <message>`` and exits non-zero, never with a traceback.
"""

from __future__ import annotations


class ClassmoodError(Exception):
    """A problem the user can fix (bad file, missing camera, unknown model...)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always one line

    @property
    def message(self) -> str:
        return str(self)
