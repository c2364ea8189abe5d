"""Send small responses at once: switch off Nagle's algorithm on each connection (``TCP_NODELAY``).

Streamlit binds its listening socket itself, without naming the protocol, and asyncio sets
``TCP_NODELAY`` only on sockets that name it; so every connection kept Nagle's algorithm. A
response goes out as two writes (headers, then body), the second waits for the browser's
acknowledgement of the first, and the browser delays that by 40 ms: every request after the first
on a kept-alive connection took ~44 ms, even ``/health`` (measured with ``http.client`` on this
machine), and the live page's faces (``/live-faces``) reached it 40 ms late.

``NoDelay`` finds the connection's socket through the server's transport (uvicorn's request and
WebSocket objects hold it; asyncio's ``get_extra_info("socket")`` gives it) and sets the option
once per connection; where a server offers no transport, nothing changes.
"""

from __future__ import annotations

import socket


def _connection_socket(receive):
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    return transport.get_extra_info("socket") if transport is not None else None


def set_nodelay(receive) -> bool:
    """Set ``TCP_NODELAY`` on the TCP connection behind ``receive``; True when it is set."""
    sock = _connection_socket(receive)
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        if not sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # the connection is gone already
        return False
    return True


class NoDelay:
    """ASGI middleware: ``set_nodelay`` on the connection of every HTTP request and WebSocket."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            set_nodelay(receive)
        await self.app(scope, receive, send)
