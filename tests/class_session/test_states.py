"""Per-second states of real students in a rendered gallery: present, camera off, away, left.

The real detector and emotion model watch a 9-tile Zoom window in which one student turns the camera
off, one leaves for good and one leaves and rejoins (the grid re-flows twice and once more on the
return); the store's per-second table must say which is which, second by second.
"""

from __future__ import annotations

import pytest

from classmood.assets.meeting import Meeting, class_of
from classmood.assets.timeline import Change
from classmood.class_session import ClassSession, ClassSettings
from classmood.store import Store
from classmood.store.states import student_states_frame
from classmood.track.tracker import TrackerConfig
from classmood.types import Frame

FPS = 5
CHANGES = (Change(4, "camera_off", "S03"), Change(9, "camera_on", "S03"), Change(6, "leave", "S05"),
           Change(5, "leave", "S07"), Change(10, "rejoin", "S07"))
CLASS = Meeting(class_of(9), "zoom", "dark", (1280, 720), CHANGES)


def watch(store: Store, name: str, settings: ClassSettings, seconds: int = 14) -> list:
    """Analyse the rendered class; returns every snapshot."""
    session = ClassSession.open(store, name, settings.pipeline(), settings)
    snapshots = []
    for i in range(seconds * FPS):
        t = i / FPS
        snapshots.append(session.analyse(Frame(CLASS.frame(t).image, i, t)))
    session.finish()
    return snapshots


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('states') / 'class.db'}")
    snapshots = watch(store, "gallery", ClassSettings(read_names=False, absent_after_s=2.0))
    yield store, snapshots
    store.close()


def absent_students(snapshots) -> set[int]:
    return {alert.student_id for snapshot in snapshots for alert in snapshot.opened if alert.kind == "absent"}


def _who(snapshots, t: float, box_of_student: str) -> int:
    """The student id the tracker gave the face at the true box of ``box_of_student`` at time ``t``."""
    (face,) = [f for f in CLASS.frame(t).faces if f.student_id == box_of_student]
    snapshot = snapshots[int(round(t * FPS))]
    x, y, w, h = face.box
    for student_id, (bx, by, bw, bh) in zip(snapshot.detections.student_ids.tolist(),
                                            snapshot.detections.boxes.tolist()):
        if abs(bx + bw / 2 - x - w / 2) < w / 2 and abs(by + bh / 2 - y - h / 2) < h / 2:
            return student_id
    raise AssertionError(f"{box_of_student} not found at {t} s")


def test_every_student_has_a_state_for_every_second(recorded):
    store, snapshots = recorded
    frame = student_states_frame(store, "gallery")
    assert len(frame) == 9 * 14 and frame.groupby("student").size().eq(14).all()
    states = frame.pivot(index="second", columns="student", values="state")
    camera, leaver, rejoiner = (_who(snapshots, 1.0, s) for s in ("S03", "S05", "S07"))
    assert list(states[camera]) == ["present"] * 4 + ["camera_off"] * 5 + ["present"] * 5
    assert list(states[leaver]) == ["present"] * 6 + ["left"] * 8
    assert list(states[rejoiner]) == ["present"] * 5 + ["away"] * 5 + ["present"] * 4
    others = states.drop(columns=[camera, leaver, rejoiner])
    assert (others == "present").all().all()  # re-flowing the grid moved tiles, not identities
    unseen = frame[frame["state"] != "present"]
    assert unseen[["emotion", "confidence", "engagement"]].isna().all().all()


def test_cards_say_camera_off_and_camera_off_raises_no_absent_alert_by_default(recorded):
    _, snapshots = recorded
    camera, rejoiner = _who(snapshots, 1.0, "S03"), _who(snapshots, 1.0, "S07")
    at_8s = {card.student_id: card.state for card in snapshots[8 * FPS].students}
    assert at_8s[camera] == "camera_off" and at_8s[rejoiner] == "away"
    assert rejoiner in absent_students(snapshots) and camera not in absent_students(snapshots)


def test_camera_off_counts_as_absent_when_the_setting_says_so(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'class.db'}")
    try:
        snapshots = watch(store, "strict", ClassSettings(read_names=False, absent_after_s=2.0,
                                                         camera_off_is_absent=True), seconds=10)
    finally:
        store.close()
    camera = _who(snapshots, 1.0, "S03")
    assert camera in absent_students(snapshots)


def test_a_camera_off_tile_that_moves_stays_its_students_without_names(tmp_path):
    """S03's camera goes off, then S01 leaves: the grid re-flows and S03's empty tile moves. With no
    name read, the tile is known by how it looked when it was last empty."""
    meeting = Meeting(class_of(9, seed=2), "teams", "light", (1280, 720),
                      (Change(2, "camera_off", "S03"), Change(4, "leave", "S01"), Change(7, "camera_on", "S03")))
    tile_of_s03 = [{t.student_id: t.box for t in meeting.frame(at).tiles}["S03"] for at in (3.0, 5.0)]
    assert tile_of_s03[0] != tile_of_s03[1]
    store = Store(f"sqlite:///{tmp_path / 'class.db'}")
    settings = ClassSettings(read_names=False)
    session = ClassSession.open(store, "moved", settings.pipeline(), settings)
    snapshots = [session.analyse(Frame(meeting.frame(i / FPS).image, i, i / FPS)) for i in range(9 * FPS)]
    session.finish()
    states = student_states_frame(store, "moved").pivot(index="second", columns="student", values="state")
    store.close()
    face = next(f for f in meeting.frame(1.0).faces if f.student_id == "S03")
    (camera,) = [i for i, box in zip(snapshots[FPS].detections.student_ids.tolist(), snapshots[FPS].detections.boxes)
                 if abs(box[0] - face.box[0]) < face.box[2] / 2 and abs(box[1] - face.box[1]) < face.box[3] / 2]
    assert list(states[camera]) == ["present"] * 2 + ["camera_off"] * 5 + ["present"] * 2
    assert states.shape[1] == 9  # no face was found on the drawn tile


def test_a_face_back_in_a_camera_off_tile_is_that_student_even_when_it_looks_changed(tmp_path):
    """S03's camera is off for 3 s, then the face shows in the same tile again. The tracker is told to
    trust appearance only when nearly identical (a face whose light or pose changed meanwhile): the
    tile, still S03's, is what gives the face its student back."""
    meeting = Meeting(class_of(9, seed=1), "zoom", "dark", (1280, 720),
                      (Change(2, "camera_off", "S03"), Change(5, "camera_on", "S03")))
    store = Store(f"sqlite:///{tmp_path / 'class.db'}")
    settings = ClassSettings(read_names=False)
    session = ClassSession.open(store, "back", settings.pipeline(), settings)
    session.tracker.config = TrackerConfig(appearance_match=0.999, reid_similarity=0.999, reid_clear_similarity=0.999)
    snapshots = [session.analyse(Frame(meeting.frame(i / FPS).image, i, i / FPS)) for i in range(7 * FPS)]
    session.finish()
    states = student_states_frame(store, "back").pivot(index="second", columns="student", values="state")
    store.close()

    def who(t: float) -> int:
        face = next(f for f in meeting.frame(t).faces if f.student_id == "S03")
        snapshot = snapshots[int(round(t * FPS))]
        (found,) = [i for i, box in zip(snapshot.detections.student_ids.tolist(), snapshot.detections.boxes)
                    if abs(box[0] - face.box[0]) < face.box[2] / 2 and abs(box[1] - face.box[1]) < face.box[3] / 2]
        return found

    assert who(6.0) == who(1.0)
    assert states.shape[1] == 9
    assert list(states[who(1.0)]) == ["present"] * 2 + ["camera_off"] * 3 + ["present"] * 2
