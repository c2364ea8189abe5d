"""The do-not-analyse list on a real database (SQLite and PostgreSQL) with the real detector and model
on the bundled recorded class: a student on it is neither classified nor stored, and shown only as
"opted out"; the other students are untouched and the report made again from the store lacks them."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from classmood.aggregate import AggregateUpdate
from classmood.annotate import OPTED_OUT_COLOR, draw_faces
from classmood.assets import SAMPLE_VIDEO
from classmood.class_session import ClassSession, ClassSettings
from classmood.errors import ClassmoodError
from classmood.report.html import render_report_html
from classmood.sources import open_source
from classmood.store import StudentSighting
from classmood.store.opt_outs import add_opt_out, is_opted_out, opted_out_names, remove_opt_out
from classmood.store.queries import rename_student, seconds_frame, students_frame
from classmood.track.names import default_engine

from fixtures.cli import run_cli
from fixtures.store import second

SETTINGS = ClassSettings(read_names=False)


@pytest.fixture(scope="module")
def frames():
    with open_source(SAMPLE_VIDEO, max_frames=90) as source:  # 3 s of a 9-student class
        return list(source)


@pytest.fixture()
def pipeline(monkeypatch):
    """The real pipeline; each call of its classifier notes the student ids it was given."""
    real = SETTINGS.pipeline()
    classified: list[int] = []
    classify_crops = real.classifier.classify_crops

    def noting(detections):
        classified.extend(detections.student_ids.tolist())
        return classify_crops(detections)

    monkeypatch.setattr(real.classifier, "classify_crops", noting)
    real.classified = classified
    return real


def _unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"  # the list is shared by every session of a database


def _stored_students(store, session: str) -> set[int]:
    return set(students_frame(store, session)["student"]) | set(seconds_frame(store, session)["student"])


def test_a_student_named_with_a_listed_name_is_erased_and_never_classified_again(store, pipeline, frames):
    listed = _unique("Ada Lovelace")
    add_opt_out(store, listed)
    name = _unique("class")
    session = ClassSession.open(store, name, pipeline, SETTINGS)
    for frame in frames[:45]:
        session.analyse(frame)
    session.recorder.flush()
    ada = int(session.snapshot().detections.student_ids[0])
    assert ada in _stored_students(store, name)  # recorded while nobody knew who she was

    session.rename(ada, "  " + listed.upper() + " ")  # the teacher names her: case and spaces do not matter
    assert ada not in _stored_students(store, name)  # erased at once
    card = next(c for c in session.snapshot().students if c.student_id == ada)
    assert card.opted_out and card.emotion is None and card.probabilities == {} and card.confidence == 0.0
    pipeline.classified.clear()
    shown = []
    for frame in frames[45:]:
        snapshot = session.analyse(frame)
        shown.append(ada in snapshot.opted_out.student_ids.tolist())
        assert ada not in snapshot.detections.student_ids.tolist()
        assert snapshot.opted_out.probabilities is None and snapshot.opted_out.crops is None
    session.finish()
    assert all(shown) and ada not in pipeline.classified and len(set(pipeline.classified)) == 8
    assert not any(alert.student_id == ada for alert in session.alert_log)

    stored = _stored_students(store, name)
    assert ada not in stored and len(stored) == 8
    assert len(seconds_frame(store, name).query("student != @ada")) >= 8 * 2  # the others: every second
    report = render_report_html(store, name)
    assert listed.upper() not in report and f"S{ada:02d}" not in report
    assert all(f"S{other:02d}" in report for other in stored)

    picture = draw_faces(frames[-1].image, snapshot.detections, opted_out=snapshot.opted_out)
    x, y, _w, h = np.round(snapshot.opted_out.boxes[0]).astype(int)
    assert tuple(picture[y + h // 2, x]) == OPTED_OUT_COLOR  # her box is grey, labelled "opted out"


def test_resuming_a_class_erases_a_student_whose_name_opted_out_since(store, frames):
    listed, name = _unique("Grace Hopper"), _unique("class")
    first = ClassSession.open(store, name, SETTINGS.pipeline(), SETTINGS)
    for frame in frames[:45]:
        first.analyse(frame)
    grace = int(first.snapshot().detections.student_ids[-1])
    first.rename(grace, listed)
    first.finish("interrupted")  # appearance kept: the resumed run knows every student's face
    assert grace in _stored_students(store, name)

    add_opt_out(store, listed)
    resumed = ClassSession.open(store, name, SETTINGS.pipeline(), SETTINGS, resume=True)
    assert grace not in _stored_students(store, name)
    snapshots = [resumed.analyse(frame) for frame in frames[45:]]
    resumed.finish()
    assert any(grace in s.opted_out.student_ids.tolist() for s in snapshots)  # recognised, shown as opted out
    assert not any(grace in s.detections.student_ids.tolist() for s in snapshots)
    assert grace not in _stored_students(store, name) and len(_stored_students(store, name)) == 8


def test_the_teachers_button_opts_out_for_the_class_and_a_named_student_for_good(store, frames):
    name, named = _unique("class"), _unique("Alan Turing")
    session = ClassSession.open(store, name, SETTINGS.pipeline(), SETTINGS)
    for frame in frames[:30]:
        session.analyse(frame)
    ids = session.snapshot().detections.student_ids.tolist()
    assert session.opt_out(ids[0]) == f"S{ids[0]:02d}"  # no name: this class only
    session.rename(ids[1], named)
    assert session.opt_out(ids[1]) == named and is_opted_out(store, named)  # named: later classes too
    snapshot = None
    for frame in frames[30:60]:
        snapshot = session.analyse(frame)
    session.finish()
    assert set(ids[:2]) <= set(snapshot.opted_out.student_ids.tolist())
    assert not set(ids[:2]) & _stored_students(store, name) and len(_stored_students(store, name)) == 7
    remove_opt_out(store, named)


def test_the_list_compares_names_loosely_and_renaming_into_it_is_refused(store):
    listed = _unique("Ana María")
    assert add_opt_out(store, f"  {listed.replace(' ', '   ')} ") and not add_opt_out(store, listed.upper())
    assert listed in opted_out_names(store) and is_opted_out(store, listed.casefold())
    name = _unique("class")
    session = ClassSession.open(store, name, None, SETTINGS)
    session.recorder.record(*_one_second(5))
    session.finish()
    with pytest.raises(ClassmoodError, match="do-not-analyse list"):
        rename_student(store, name, 5, listed)
    with pytest.raises(ClassmoodError, match="needs a name"):
        add_opt_out(store, "   ")
    assert remove_opt_out(store, listed) and not remove_opt_out(store, listed) and listed not in opted_out_names(store)


def _one_second(student_id: int):
    return AggregateUpdate([second(student_id, 0)], [], []), [StudentSighting(student_id, 0.0, 0.5)], 1.5


def test_the_optout_command(tmp_path):
    db = f"sqlite:///{tmp_path / 'class.db'}"
    added = run_cli("optout", "add", "Ana  María", "--db", db)
    assert added.returncode == 0 and "'Ana María' is now on the do-not-analyse list" in added.stdout
    assert run_cli("optout", "list", "--db", db).stdout.strip() == "Ana María"
    again = run_cli("optout", "add", "ana maría", "--db", db)
    assert again.returncode == 0 and "was already on" in again.stdout
    missing = run_cli("optout", "remove", "Bob", "--db", db)
    assert missing.returncode == 1 and missing.stderr.strip().startswith("error: 'Bob' is not on")
    assert "Traceback" not in missing.stderr
    assert run_cli("optout", "remove", "ANA MARÍA", "--db", db).returncode == 0
    assert run_cli("optout", "list", "--db", db).stdout.strip() == "Nobody has opted out."


@pytest.mark.skipif(default_engine() is None, reason="no OCR installed (pip install -e '.[ocr]')")
def test_a_recording_analysed_faster_than_real_time_reads_the_labels_and_skips_a_listed_student(store):
    """Labels are read per second of the recording, not of the wall clock, so the list applies to a
    video analysed at many times real speed as it does to a live class."""
    listed, name = "Student 03", _unique("class")
    add_opt_out(store, listed)
    try:
        session = ClassSession.open(store, name, ClassSettings().pipeline(), ClassSettings())
        with open_source(SAMPLE_VIDEO) as source:  # 14 s of video, analysed in a few seconds
            snapshots = list(session.run(source))
        students = students_frame(store, name)
        read = list(students.query("name_source == 'ocr'")["label"])
        assert len(read) >= 5, list(students["label"])  # wall-clock pacing read 2 of the 9 labels
        assert listed not in read and len(students) == 8
        assert any(card.opted_out and card.name == listed for card in snapshots[-1].students)
    finally:
        remove_opt_out(store, listed)
