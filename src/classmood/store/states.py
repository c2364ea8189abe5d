"""Every second of every student, seen or not, with its state: the table ``sessions export`` writes.

The store keeps what a student showed in each second their face was seen (``student_seconds``)
and the seconds their gallery tile was shown without a face (``camera_off_seconds``). Their other
seconds, from their first appearance to the end of the recorded session, are ``away`` when they
came back later (face or tile) and ``left`` when they did not: a student who leaves the meeting
still has rows, with no emotion.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import select

from classmood.store.database import SessionNotFoundError, Store
from classmood.store.models import CameraOffSecondRow, StudentRow
from classmood.store.queries import alerts_frame, for_export, seconds_frame, students_frame


def student_states_frame(store: Store, name: str) -> pd.DataFrame:
    """One row per student per second of session ``name`` from the student's first second to the
    session's last: ``student``, ``label``, ``name`` (read or corrected, None if unknown), ``second``,
    ``state`` (``present``, ``camera_off``, ``away`` or ``left``), then the estimates of a present
    second (``emotion``, ``confidence``, ``engagement``, ``presence``, one column per emotion), empty
    in the others."""
    seen = seconds_frame(store, name)
    students = students_frame(store, name)
    with store.transaction() as db:
        session = store.find_session(db, name)
        duration = int(np.ceil(session.duration_s or 0.0))
        camera_off = pd.DataFrame(db.execute(
            select(StudentRow.student_id, CameraOffSecondRow.second)
            .join(StudentRow, StudentRow.id == CameraOffSecondRow.student_row_id)
            .where(CameraOffSecondRow.session_id == session.id)).all(), columns=["student", "second"])
        names = dict(db.execute(select(StudentRow.student_id, StudentRow.name)
                                .where(StudentRow.session_id == session.id)).all())
    seen = seen.assign(state="present")
    camera_off = camera_off.assign(state="camera_off")
    last_second = max([duration - 1, *seen["second"].tolist(), *camera_off["second"].tolist()], default=-1)
    grid = pd.DataFrame(
        [(student, second) for student, first in zip(students["student"], students["first_seen_s"])
         for second in range(int(np.floor(first)), last_second + 1)], columns=["student", "second"])
    known = pd.concat([seen, camera_off[~camera_off.set_index(["student", "second"]).index.isin(
        seen.set_index(["student", "second"]).index)]], ignore_index=True)
    frame = grid.merge(known, on=["student", "second"], how="outer").sort_values(["second", "student"])
    frame["state"] = _unseen_states(frame)
    frame["label"] = [label for label in students.set_index("student")["label"].reindex(frame["student"])]
    frame["name"] = [names.get(student) or None for student in frame["student"]]
    columns = ["student", "label", "name", "second", "state"]
    return frame[columns + [c for c in seen.columns if c not in columns]].reset_index(drop=True)


def _unseen_states(frame: pd.DataFrame) -> pd.Series:
    """``state`` with the unseen seconds filled: ``away`` before the student's last seen or
    camera-off second, ``left`` after it."""
    state = frame["state"].copy()
    unseen = state.isna()
    last = frame[~unseen].groupby("student")["second"].max()
    comes_back = frame["second"] < frame["student"].map(last).fillna(-1)
    state[unseen & comes_back] = "away"
    state[unseen & ~comes_back] = "left"
    return state


def student_record(store: Store, name: str, student_id: int) -> dict:
    """Everything stored about one student of a session (a student's right of access): their row,
    every second (with its state) and every alert about them, JSON-ready."""
    students = students_frame(store, name)
    row = students[students["student"] == student_id]
    if row.empty:
        raise SessionNotFoundError(f"session {name!r} has no student S{student_id:02d}")
    seconds, alerts = student_states_frame(store, name), alerts_frame(store, name)

    def records(frame: pd.DataFrame) -> list[dict]:
        return json.loads(frame.to_json(orient="records"))

    return {"session": name, "student": records(row)[0],
            "seconds": records(for_export(seconds[seconds["student"] == student_id])),
            "alerts": records(alerts[alerts["student"] == student_id])}
