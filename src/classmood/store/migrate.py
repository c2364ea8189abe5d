"""Schema upgrades for databases made by an earlier classmood: add the columns they lack.

``Base.metadata.create_all`` makes missing tables but never alters existing ones, so each
(nullable) column added to a table after the first release is listed here and added when
absent. Idempotent: a second run changes nothing. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text
from sqlalchemy.schema import CreateColumn

from classmood.store.models import Base, SessionRow

#: nullable columns added after the first release, per table
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    SessionRow.__tablename__: ("position_s", "heartbeat_at", "owner", "status_detail", "teacher", "machine"),
}


def upgrade(engine: Engine) -> list[str]:
    """Add every missing column of ``ADDED_COLUMNS``; returns ``table.column`` for each one added."""
    added = []
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table_name, columns in ADDED_COLUMNS.items():
            present = {c["name"] for c in inspector.get_columns(table_name)}
            table = Base.metadata.tables[table_name]
            for name in columns:
                if name not in present:
                    column = CreateColumn(table.c[name]).compile(dialect=engine.dialect)
                    connection.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {column}"))
                    added.append(f"{table_name}.{name}")
    return added
