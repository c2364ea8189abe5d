"""Which Host and Origin the app answers: stops DNS rebinding and other sites driving the app.

Every HTTP request and WebSocket must name a known host in its ``Host`` header: the bound address,
``localhost``, ``127.0.0.1``, ``[::1]``, this machine's own IP addresses when bound to all interfaces,
and the names given with ``classmood app --allowed-host`` (``CLASSMOOD_APP_ALLOWED_HOSTS``, comma
separated). Another Host gets 400. A request that carries an ``Origin`` (a browser's POST, every
WebSocket upgrade) must come from the app's own ``scheme://host:port``, else 403 / the socket is refused,
so that neither Streamlit's own origin check (which trusts any port of localhost and otherwise looks up
this machine's external IP on the internet) nor the login form ever sees a foreign origin.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse

ALLOWED_HOSTS_ENV = "CLASSMOOD_APP_ALLOWED_HOSTS"
BIND_ENV = "CLASSMOOD_APP_HOST"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_host(host: str) -> tuple[str, int | None] | None:
    """``host[:port]`` -> (lower-case name without brackets or final dot, port); None if malformed."""
    try:
        parts = urlsplit(f"//{host}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname.lower().rstrip("."), port


def _machine_addresses() -> set[str]:
    """This machine's own IP addresses (what a LAN visitor types when the app serves all interfaces)."""
    import psutil

    addresses = {a.address.split("%")[0].lower() for nic in psutil.net_if_addrs().values() for a in nic}
    return {a for a in addresses if _is_ip(a)}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostPolicy:
    """The host names this app answers to."""

    hosts: frozenset[str]

    @classmethod
    def from_environment(cls) -> HostPolicy:
        """Loopback names, the bind address (``$CLASSMOOD_APP_HOST``) and ``$CLASSMOOD_APP_ALLOWED_HOSTS``."""
        bind = os.environ.get(BIND_ENV, "127.0.0.1").strip().strip("[]").lower()
        extra = {h.strip().strip("[]").lower().rstrip(".") for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",")}
        hosts = set(LOOPBACK_NAMES) | {h for h in extra if h}
        hosts |= _machine_addresses() if bind in WILDCARDS else {bind}
        return cls(frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        split = _split_host(host)
        return split is not None and split[0] in self.hosts

    @staticmethod
    def same_origin(origin: str, scheme: str, host: str) -> bool:
        """True when ``origin`` is exactly this app's ``scheme://host:port`` (default ports folded)."""
        web_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        own = _split_host(host)
        try:
            parts = urlsplit(origin)
            theirs = (parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme))
        except ValueError:
            return False
        if own is None or parts.path or parts.query or parts.username:
            return False
        return theirs == (web_scheme, own[0], own[1] or DEFAULT_PORTS.get(web_scheme))

    def refusal(self, scope) -> tuple[int, str] | None:
        """Why this request or WebSocket is refused (status, text), or None when it may go on."""
        host = header(scope, b"host").decode("latin-1")
        if not self.host_allowed(host):
            return 400, "Unknown host. Open the app by the address it serves (see classmood app --allowed-host)."
        origin = header(scope, b"origin").decode("latin-1")
        if origin and not self.same_origin(origin, scope.get("scheme", "http"), host):
            return 403, "Requests from another site or port are refused."
        return None


def is_local_visit(client_address: str, host: str) -> bool:
    """A visitor on this very computer: a loopback client address that also asked for a loopback host."""
    split = _split_host(host)
    try:
        loopback_client = ipaddress.ip_address(client_address).is_loopback
    except ValueError:
        return False
    return loopback_client and split is not None and split[0] in LOOPBACK_NAMES


def header(scope, name: bytes) -> bytes:
    """One request header (repeated ones joined by commas); empty when absent."""
    return b",".join(v for k, v in scope.get("headers", []) if k.lower() == name)


class HostOriginGuard:
    """ASGI middleware: refuse requests and WebSockets with a foreign Host or Origin (see ``HostPolicy``)."""

    def __init__(self, app, policy: HostPolicy | None = None) -> None:
        self.app = app
        self.policy = policy or HostPolicy.from_environment()

    async def __call__(self, scope, receive, send) -> None:
        refusal = self.policy.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, receive, send)
