"""Password-guess throttling: exponential back-off per client address and over all clients.

A few failures are free; after that each further failure doubles the wait before the next
attempt (up to ``max_delay_s``), and ``/login`` answers 429 with ``Retry-After`` until it has passed.
An attempt counts as a failure from the moment it starts (until it succeeds), so parallel guesses
cannot slip through while the hash is being checked. Quiet for ``reset_after_s``: forgotten.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

FREE_ENV = "CLASSMOOD_APP_LOGIN_FREE_FAILURES"


@dataclass
class Backoff:
    """Failure count and time of the last one, for one client (or all of them)."""

    failures: int = 0
    last: float = 0.0

    def wait_s(self, now: float, free: int, base_s: float, max_s: float, reset_after_s: float) -> float:
        if now - self.last > reset_after_s:
            self.failures = 0
        if self.failures < free:
            return 0.0
        delay = min(base_s * 2 ** (self.failures - free), max_s)
        return max(0.0, self.last + delay - now)


@dataclass
class LoginThrottle:
    """Back-off for ``/login``: ``free`` failures per client (``total_free`` over all) before waits start."""

    free: int = 5
    total_free: int = 50
    base_s: float = 1.0
    max_s: float = 300.0
    reset_after_s: float = 900.0
    clients: dict[str, Backoff] = field(default_factory=dict)
    total: Backoff = field(default_factory=Backoff)

    @classmethod
    def from_environment(cls) -> LoginThrottle:
        """Defaults, or ``$CLASSMOOD_APP_LOGIN_FREE_FAILURES`` free failures per client (10x that in total)."""
        free = int(os.environ.get(FREE_ENV, cls.free))
        return cls(free=free, total_free=10 * free)

    def retry_after_s(self, client: str, now: float | None = None) -> float:
        """Seconds this client must wait before its next attempt (0: may try now)."""
        now = time.monotonic() if now is None else now
        mine = self.clients.get(client, Backoff()).wait_s(now, self.free, self.base_s, self.max_s, self.reset_after_s)
        everyone = self.total.wait_s(now, self.total_free, self.base_s, self.max_s, self.reset_after_s)
        return max(mine, everyone)

    def attempt(self, client: str, now: float | None = None) -> None:
        """Count an attempt as failed until ``succeeded`` says otherwise."""
        now = time.monotonic() if now is None else now
        if len(self.clients) > 10_000:  # bounded memory under a spray of addresses
            self.clients = {k: b for k, b in self.clients.items() if now - b.last <= self.reset_after_s}
        for backoff in (self.clients.setdefault(client, Backoff()), self.total):
            backoff.failures += 1
            backoff.last = now

    def succeeded(self, client: str) -> None:
        """The right password: this client's count starts again, and its attempt leaves the total."""
        self.clients.pop(client, None)
        self.total.failures = max(0, self.total.failures - 1)
