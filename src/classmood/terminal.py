"""Showing user-controlled strings (session, student and file names, OCR text) on a terminal.

A name may hold escape sequences (``\\x1b]0;...\\x07`` retitles the terminal, ``\\x1b[2J``
clears it), newlines that forge extra output lines, bidirectional overrides that reorder
text, bytes that are not UTF-8, or rich markup (``[bold]``, ``[/]``). Every command
prints such strings through ``printable`` (plain output) or ``rich_safe`` (rich output).
"""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL, and the Unicode bidirectional embeddings, overrides and isolates
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# what JSON leaves unescaped but a terminal acts on, and lone surrogates (undecodable file-name bytes)
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """``text`` as one line of harmless characters: controls become visible ``\\xNN``/``\\uNNNN`` escapes,
    undecodable file-name bytes (surrogate escapes) become ``\\xNN``."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


def json_text(obj: object) -> str:
    """``obj`` as JSON for a terminal: non-ASCII text as is, but C1 controls, bidi overrides and the
    surrogates of undecodable file-name bytes as ``\\uXXXX`` escapes (JSON escapes C0 itself)."""
    import json

    text = json.dumps(obj, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)



def rich_safe(text: object) -> str:
    """``printable(text)`` with rich markup escaped, for ``Console.print`` and table cells."""
    from rich.markup import escape

    return escape(printable(text))
