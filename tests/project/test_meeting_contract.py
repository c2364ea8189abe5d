"""Issue 21's contract, as a user runs it on a rendered meeting recording with its truth beside it:

    classmood monitor VIDEO --session NAME --no-view
    classmood sessions export NAME --out s.parquet

gives one row per student per second with ``student``, ``name``, ``second``, ``state``, ``emotion``,
``confidence`` and ``engagement``; a student whose camera is off or who has left still has rows, with
that state. The recording re-orders its tiles in the middle (the layout changes) and re-flows twice.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from classmood.assets.meeting import Meeting, class_of
from classmood.assets.timeline import Change
from fixtures.cli import run_cli

SECONDS, FPS = 24, 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contract")
    people = class_of(8, seed=3, names=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra",
                                        "Barbara Liskov", "Donald Knuth", "Radia Perlman", "Niklaus Wirth"])
    ids = [p.student_id for p in people]
    changes = (Change(6.0, "camera_off", "S03"), Change(11.0, "camera_on", "S03"),
               Change(9.0, "reorder", order=tuple(reversed(ids))),  # every tile moves
               Change(14.0, "leave", "S05"),  # for good
               Change(16.0, "leave", "S07"), Change(19.0, "rejoin", "S07"))
    meeting = Meeting(tuple(people), app="teams", theme="light", size=(1280, 720), changes=changes)
    video = folder / "class.mp4"
    truth = meeting.write(video, SECONDS, FPS)
    db, out = f"sqlite:///{folder / 'classes.db'}", folder / "s.parquet"
    watched = run_cli("monitor", video, "--session", "contract", "--no-view", "--db", db, timeout=600)
    assert watched.returncode == 0, watched.stderr
    exported = run_cli("sessions", "export", "contract", "--out", out, "--db", db)
    assert exported.returncode == 0, exported.stderr
    return pd.read_parquet(out), truth


def _identities(frame: pd.DataFrame, truth: dict) -> dict[str, int]:
    """Each true student's stored id: the assignment whose present seconds agree best with theirs.
    Students present throughout are interchangeable here; the ones with events are pinned down."""
    students = list(truth["students"])
    present = [{r["second"] for r in truth["seconds"] if r["student"] == s and r["state"] == "present"}
               for s in students]
    ids = sorted(frame["student"].unique())
    stored = [set(frame.loc[(frame["student"] == sid) & (frame["state"] == "present"), "second"]) for sid in ids]
    disagreement = np.array([[len(p ^ q) for q in stored] for p in present])
    rows, cols = linear_sum_assignment(disagreement)
    return {students[r]: int(ids[c]) for r, c in zip(rows, cols)}


def test_export_has_the_contract_columns_and_a_row_per_student_per_second(exported):
    frame, truth = exported
    assert {"student", "name", "second", "state", "emotion", "confidence", "engagement"} <= set(frame.columns)
    assert set(frame["state"]) <= {"present", "camera_off", "away", "left"}
    assert not frame.duplicated(["student", "second"]).any()
    assert frame["student"].nunique() == len(truth["students"])  # 8 students, 8 ids: no switch, no split
    for _, rows in frame.groupby("student"):  # every second from the first appearance to the end
        assert list(rows["second"]) == list(range(rows["second"].min(), SECONDS))
    present = frame[frame["state"] == "present"]
    assert present["emotion"].notna().all() and present["confidence"].between(0, 1).all()
    assert frame.loc[frame["state"] != "present", ["emotion", "confidence", "engagement"]].isna().all().all()


def test_states_follow_the_truth(exported):
    frame, truth = exported
    ids = _identities(frame, truth)
    assert len(set(ids.values())) == len(ids)
    stored = frame.set_index(["student", "second"])["state"]
    agree = Counter()
    for row in truth["seconds"]:
        agree[row["state"], stored.get((ids[row["student"]], row["second"]))] += 1
    for state in ("camera_off", "left", "away"):
        total = sum(n for (true, _), n in agree.items() if true == state)
        assert total and agree[state, state] >= 0.8 * total, (state, agree)
    assert agree["present", "present"] >= 0.95 * sum(n for (true, _), n in agree.items() if true == "present")


def test_names_are_right_or_empty_never_garbage(exported):
    frame, truth = exported
    ids = _identities(frame, truth)
    names = frame.drop_duplicates("student").set_index("student")["name"]
    read = [name for name in names if name is not None]
    true_names = {info["name"] for info in truth["students"].values()}
    assert set(read) <= true_names and len(read) == len(set(read)) and len(read) >= 4, read
    for student in ("S03", "S05", "S07"):  # the students with events: their id is known for sure
        assert names[ids[student]] in (None, truth["students"][student]["name"])
