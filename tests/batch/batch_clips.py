"""What the batch tests share: the clips cut from the bundled sample class, the options they are
analysed with, and what the database holds for a session."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import func, select

from classmood.class_session import ClassSettings
from classmood.store import Store
from classmood.store.models import SessionRow, StudentRow, StudentSecondRow

POSTGRES_URL = os.environ.get("CLASSMOOD_TEST_POSTGRES_URL")
SETTINGS = ClassSettings(every=2, read_names=False)  # what the tests' `--every 2 --no-names` means
BATCH_OPTIONS = ("--every", "2", "--no-names")
#: clip name -> frames of the 14 s, 15 frames/s sample class: a whole class and three 4 s parts
CLIPS = {"whole": (0, 210), "part1": (0, 60), "part2": (60, 120), "part3": (120, 180)}


@dataclass(frozen=True)
class Stored:
    """What the database holds for one session."""

    status: str
    students: int
    seconds: float
    rows: int
    distinct_rows: int  # (student, second) pairs: equal to rows when nothing was written twice
    owner: str

    @property
    def counts(self) -> tuple[int, float, int]:
        return self.students, self.seconds, self.rows


def stored(url: str, name: str) -> Stored | None:
    store = Store(url)
    try:
        with store.transaction() as db:
            row = db.scalar(select(SessionRow).where(SessionRow.name == name))
            if row is None:
                return None
            students = db.scalar(select(func.count()).where(StudentRow.session_id == row.id))
            pairs = db.execute(select(StudentSecondRow.student_row_id, StudentSecondRow.second)
                               .where(StudentSecondRow.session_id == row.id)).all()
            return Stored(row.status, students, float(row.duration_s), len(pairs), len(set(pairs)), row.owner or "")
    finally:
        store.close()
