"""What one recording of a batch gave: one row of the final table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from classmood.batch.inputs import Recording
from classmood.store.database import Store
from classmood.store.models import StudentRow, StudentSecondRow

#: statuses that count as success (``skipped``: finished by an earlier run, kept under ``--resume``)
SUCCEEDED = ("finished", "skipped")


@dataclass(frozen=True, slots=True)
class RecordingResult:
    """A recording's outcome: ``status`` is finished, skipped, truncated or failed (``reason`` says why)."""

    recording: Path
    session: str
    status: str
    students: int = 0
    seconds: float = 0.0  # session seconds recorded (the video's duration for a finished one)
    rows: int = 0  # per-student seconds stored
    frames: int = 0  # frames analysed by this run
    elapsed_s: float = 0.0  # analysis wall time on the worker
    replaced: bool = False  # a partial record left by a lost worker (or an earlier run) was replaced
    reason: str = ""

    @classmethod
    def from_store(cls, store: Store, recording: Recording, status: str, **fields) -> RecordingResult:
        """The result of a recording whose session is stored: students, seconds and rows as recorded."""
        with store.transaction() as db:
            row = store.find_session(db, recording.session)
            students = db.scalar(select(func.count()).where(StudentRow.session_id == row.id))
            rows = db.scalar(select(func.count()).where(StudentSecondRow.session_id == row.id))
            return cls(recording.path, recording.session, status, students=students, seconds=float(row.duration_s),
                       rows=rows, **fields)

    @classmethod
    def failed(cls, recording: Recording, reason: str) -> RecordingResult:
        return cls(recording.path, recording.session, "failed", reason=" ".join(reason.split()))

    @property
    def ok(self) -> bool:
        return self.status in SUCCEEDED

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0
