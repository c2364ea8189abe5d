"""Recorded sessions: SQLAlchemy tables, the database, the batched recorder, queries."""

from classmood.store.database import (
    DATABASE_ENV, SessionBusyError, SessionExistsError, SessionNotFoundError, SessionSourceError, Store, StoreError,
    default_database_url,
)
from classmood.store.recorder import SessionRecorder, StudentSighting

__all__ = [
    "DATABASE_ENV", "SessionBusyError", "SessionExistsError", "SessionNotFoundError", "SessionRecorder",
    "SessionSourceError", "Store", "StoreError",
    "StudentSighting", "default_database_url",
]
