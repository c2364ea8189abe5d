"""Opening the session database (SQLite in the user data folder by default, or any URL)
and turning driver errors into one-line messages a teacher can act on."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from classmood.errors import ClassmoodError
from classmood.store.migrate import upgrade
from classmood.store.models import Base, SessionRow

DATABASE_ENV = "CLASSMOOD_DATABASE_URL"


class StoreError(ClassmoodError):
    """The session database cannot be used (locked, unreachable, full...)."""


class SessionExistsError(StoreError):
    pass


class SessionNotFoundError(StoreError):
    pass


class SessionBusyError(StoreError):
    """Another monitor is writing the session right now."""


class SessionSourceError(StoreError):
    """``--resume`` with another source than the session was recorded from."""


def default_database_url() -> str:
    """``$CLASSMOOD_DATABASE_URL`` or a SQLite file in the user's data folder."""
    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV]
    from classmood.privacy import data_folder

    return f"sqlite:///{data_folder() / 'classmood.db'}"


def describe_url(url: str) -> str:
    """The URL without a password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given
        return url


def translate_error(exc: Exception, url: str) -> StoreError:
    """One clear message for a database failure."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    where = describe_url(url)
    if "locked" in text or "busy" in text:
        return StoreError(f"database {where} is locked by another program; close it or use another --db")
    if "disk is full" in text or "no space" in text or "disk full" in text or "database or disk is full" in text:
        return StoreError(f"disk full while writing {where}; free some space (everything recorded so far is kept)")
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return StoreError(f"database {where} is read-only: {text.splitlines()[0]}")
    if "unable to open" in text or "could not connect" in text or "connection" in text or "name or service" in text:
        return StoreError(f"cannot reach database {where}: {text.splitlines()[0]}")
    return StoreError(f"database {where} failed: {text.splitlines()[0] if text else type(exc).__name__}")


class Store:
    """The database of recorded class sessions: ``with store.transaction() as db: ...`` for ORM work."""

    def __init__(self, url: str | None = None, *, busy_timeout_s: float = 5.0) -> None:
        self.url = url or default_database_url()
        self.engine = self._create_engine(self.url, busy_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        try:
            Base.metadata.create_all(self.engine)
            upgrade(self.engine)  # a database made by an earlier classmood gets the newer columns
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise translate_error(exc, self.url) from None

    @staticmethod
    def _create_engine(url: str, busy_timeout_s: float) -> Engine:
        try:
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

                @event.listens_for(engine, "connect")
                def _sqlite_pragmas(dbapi_connection, _record) -> None:
                    cursor = dbapi_connection.cursor()
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA synchronous=NORMAL")
                    cursor.execute("PRAGMA foreign_keys=ON")
                    cursor.close()

                return engine
            return create_engine(url, pool_pre_ping=True, connect_args=_connect_timeout(url))
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot use database {describe_url(url)}: {exc}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work (an ORM session) committed on success; database errors become ``StoreError``."""
        db = self._sessions()
        try:
            yield db
            db.commit()
        except IntegrityError as exc:
            db.rollback()
            raise translate_error(exc, self.url) from None
        except (OperationalError, DBAPIError) as exc:
            with contextlib.suppress(SQLAlchemyError):
                db.rollback()
            raise translate_error(exc, self.url) from None
        finally:
            db.close()

    def find_session(self, db: Session, name: str) -> SessionRow:
        row = db.scalar(select(SessionRow).where(SessionRow.name == name))
        if row is None:
            raise SessionNotFoundError(f"no session named {name!r} in {describe_url(self.url)} "
                                       "(see `classmood sessions list`)")
        return row

    def close(self) -> None:
        self.engine.dispose()


def _connect_timeout(url: str) -> dict:
    return {"connect_timeout": 5} if url.startswith("postgresql") else {}
