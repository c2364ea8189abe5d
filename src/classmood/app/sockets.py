"""Open WebSocket connections per login cookie, so that signing out closes them at once.

Streamlit streams a page over one WebSocket for as long as the tab is open; checking the cookie
only when it opens would let a second tab keep receiving after sign-out. ``SocketRegistry.serve``
runs a connection until its cookie is revoked (``close_cookie``, at ``/logout``) or stops being valid
(re-checked every ``RECHECK_S``: a new password, expiry, a sign-out seen by another server process),
then closes it with code 1008 and tells the app behind it that the client went away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

RECHECK_S = 2.0
POLICY_VIOLATION = 1008


class SocketRegistry:
    """The open WebSockets, by the id of the cookie that opened them."""

    def __init__(self) -> None:
        self._open: dict[str, set[asyncio.Event]] = {}

    def close_cookie(self, cookie_id: str | None) -> None:
        """Close every WebSocket opened with this cookie."""
        for ended in self._open.get(cookie_id or "", set()):
            ended.set()

    def count(self) -> int:
        return sum(len(events) for events in self._open.values())

    async def serve(self, app, scope, receive, send, cookie_id: str, still_valid: Callable[[], bool]) -> None:
        """Run ``app`` on this WebSocket until it ends or its cookie no longer opens the app."""
        ended = asyncio.Event()
        self._open.setdefault(cookie_id, set()).add(ended)

        async def watch() -> None:
            while not ended.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), RECHECK_S)
                if not ended.is_set() and not still_valid():
                    ended.set()
            with contextlib.suppress(Exception):  # the client may already be gone
                await send({"type": "websocket.close", "code": POLICY_VIOLATION})

        async def guarded_receive():
            if ended.is_set():
                return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}
            message = asyncio.ensure_future(receive())
            stop = asyncio.ensure_future(ended.wait())
            await asyncio.wait({message, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if message.done():
                return message.result()
            message.cancel()
            return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}

        async def guarded_send(message) -> None:
            if not ended.is_set():  # nothing more reaches a signed-out client
                await send(message)

        watcher = asyncio.create_task(watch())
        try:
            await app(scope, guarded_receive, guarded_send)
        finally:
            ended.set()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
            self._open[cookie_id].discard(ended)
            if not self._open[cookie_id]:
                del self._open[cookie_id]
