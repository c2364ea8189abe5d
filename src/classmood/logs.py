"""One place that routes the project's log records to standard error."""

from __future__ import annotations

import logging
import sys

from classmood.terminal import printable


class PrintableFormatter(logging.Formatter):
    """A formatter whose lines carry no terminal control characters (file names come from users)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def log_to_stderr(name: str, fmt: str, level: int) -> None:
    """Send logger ``name``'s records at ``level`` and above to stderr as ``fmt`` (once; not to the root)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(PrintableFormatter(fmt))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
