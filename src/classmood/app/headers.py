"""Security headers on every HTTP response of the app.

The Content-Security-Policy lets the page run only the app's own script files and the few inline
scripts it ships (by hash: Streamlit's page and the screen-sharing helper), talk only to its own
server, and be framed only by itself (Streamlit's components are same-origin frames). A response that
sets its own policy (the sandboxed session report) keeps it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

REPORT_PATH = "/session-report"
#: the session report, shown in a frame: no script, no plugin, an opaque origin that cannot reach the app
REPORT_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
INLINE_SCRIPT = re.compile(rb"<script(?:\s[^>]*)?>(.*?)</script>", re.S)


def _script_hash(body: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"


def inline_script_hashes(*pages: bytes) -> list[str]:
    """CSP hash sources of the inline (no ``src``) scripts in ``pages``."""
    return sorted({_script_hash(m.group(1)) for page in pages for m in INLINE_SCRIPT.finditer(page)
                   if m.group(1).strip()})


@functools.lru_cache(maxsize=1)
def content_security_policy() -> str:
    import streamlit

    from classmood.app.display_capture import SCRIPT

    streamlit_page = (Path(streamlit.__file__).parent / "static" / "index.html").read_bytes()
    scripts = " ".join(["'self'", *inline_script_hashes(streamlit_page, SCRIPT)])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",  # Streamlit styles its elements inline
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self' blob: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


def security_headers() -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", content_security_policy().encode()),
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),  # no-referrer would make browsers send "Origin: null"
        (b"cross-origin-opener-policy", b"same-origin"),
    ]


class SecurityHeaders:
    """ASGI middleware: add ``security_headers()`` to every HTTP response that does not set them itself."""

    def __init__(self, app) -> None:
        self.app = app
        self.headers = security_headers()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, add_headers)
