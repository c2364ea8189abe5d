"""Keep WebRTC's UDP sockets on the address the app serves HTTP on.

aiortc gathers its ICE host candidates with ``aioice.ice.get_host_addresses``: every address of
every interface except loopback, whatever the app is bound to, so with HTTP on 127.0.0.1 the video
still listened for UDP on the LAN. Neither aiortc's ``RTCConfiguration`` nor aioice's ``Connection``
(aioice 0.13, aiortc 1.16) has an option to choose the interfaces, so ``bind_ice_to`` replaces that one
function (the module attribute aioice looks up at each gathering) by one that returns the bound
address. Bound to all interfaces (``0.0.0.0`` / ``::``), aioice's own choice is kept.
"""

from __future__ import annotations

import ipaddress

from classmood.app.guard import WILDCARDS


def ice_addresses(bind: str, use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """The host-candidate addresses for an app bound to ``bind`` (an IP address)."""
    version = ipaddress.ip_address(bind).version
    return [bind] if (version == 4 and use_ipv4) or (version == 6 and use_ipv6) else []


def bind_ice_to(bind: str) -> None:
    """Make aiortc gather UDP candidates on ``bind`` only (a no-op for a wildcard bind)."""
    import socket

    import aioice.ice

    bind = bind.strip("[]")
    if bind in WILDCARDS:
        return
    try:
        ipaddress.ip_address(bind)
    except ValueError:  # a host name: the address it resolves to, as the HTTP server binds it
        bind = socket.getaddrinfo(bind, None)[0][4][0]
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ice_addresses(bind, use_ipv4, use_ipv6)
