"""Helpers for tests of recorded sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from classmood.store import Store
from classmood.store.liveness import STALE_AFTER_S
from classmood.store.models import SessionRow


def let_heartbeat_go_stale(store: Store, name: str) -> None:
    """What the clock does to a killed monitor's session: its last heartbeat becomes old."""
    old = datetime.now(UTC) - timedelta(seconds=STALE_AFTER_S + 1)
    with store.transaction() as db:
        db.execute(update(SessionRow).where(SessionRow.name == name).values(heartbeat_at=old))
