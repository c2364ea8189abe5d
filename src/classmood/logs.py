"""One place that routes the project's log records to standard error."""

from __future__ import annotations

import logging
import sys


def log_to_stderr(name: str, fmt: str, level: int) -> None:
    """Send logger ``name``'s records at ``level`` and above to stderr as ``fmt`` (once; not to the root)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(fmt))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
