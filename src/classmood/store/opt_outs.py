"""The do-not-analyse list: names of students who opted out, kept in the session database.

A student shown under a name on the list is neither classified nor stored (see
``ClassSession``): live views show them as "opted out" and nothing else. Names are compared
without regard to case, accents' composed or decomposed forms, or repeated spaces, so that
"Ana  María" typed by the teacher matches "ana maría" read from a meeting tile.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from classmood.errors import ClassmoodError
from classmood.store.database import Store
from classmood.store.models import OptOutRow, SessionRow, StudentRow
from classmood.track.names import name_key

__all__ = ["add_opt_out", "is_opted_out", "name_key", "opted_out_names", "remove_opt_out", "students_named"]

MAX_NAME = 200


def _checked(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ClassmoodError("an opt-out needs a name, e.g. classmood optout add \"Ana María\"")
    if len(name) > MAX_NAME or not name.isprintable():
        raise ClassmoodError(f"a name must be printable text of at most {MAX_NAME} characters")
    return name


def opted_out_names(store: Store) -> list[str]:
    """Every name on the list, as typed, in the order added."""
    with store.transaction() as db:
        return list(db.scalars(select(OptOutRow.name).order_by(OptOutRow.added_at, OptOutRow.id)))


def is_opted_out(store: Store, name: str) -> bool:
    """Whether ``name`` is on the list."""
    with store.transaction() as db:
        return db.scalar(select(OptOutRow.id).where(OptOutRow.key == name_key(name))) is not None


def add_opt_out(store: Store, name: str) -> bool:
    """Put ``name`` on the list; False when it was there already."""
    name = _checked(name)
    if is_opted_out(store, name):
        return False
    with store.transaction() as db:
        db.add(OptOutRow(name=name, key=name_key(name), added_at=datetime.now(UTC)))
    return True


def remove_opt_out(store: Store, name: str) -> bool:
    """Take ``name`` off the list; False when it was not on it."""
    with store.transaction() as db:
        return db.execute(delete(OptOutRow).where(OptOutRow.key == name_key(_checked(name)))).rowcount > 0


def students_named(db, name: str) -> list[tuple[int, int, SessionRow]]:
    """``(session id, student id, session)`` of every stored student shown as ``name``, compared as
    the list compares names (in Python: the database cannot case-fold and normalise Unicode alike)."""
    key = name_key(name)
    named = db.execute(select(StudentRow.session_id, StudentRow.student_id, StudentRow.name, SessionRow)
                       .join(SessionRow, SessionRow.id == StudentRow.session_id)
                       .where(StudentRow.name.is_not(None))).all()
    return [(session_id, student_id, row) for session_id, student_id, shown, row in named if name_key(shown) == key]


def sessions_holding(store: Store, name: str) -> list[str]:
    """Names of the sessions that still hold a student shown as ``name`` (recorded before the opt-out)."""
    with store.transaction() as db:
        return sorted({row.name for _, _, row in students_named(db, name)})
