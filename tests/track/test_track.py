"""Tracking: stable student ids on rendered meeting windows of real FER-2013 faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from classmood.track import StudentTracker, crop_embedding, embed_faces
from classmood.assets.meeting import Meeting, class_of, scripted_meeting
from classmood.assets.portraits import load_face_images, portraits_from_faces
from classmood.assets.truth import count_id_switches
from fixtures.paths import FER

FACES = FER / "publictest"
pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason=f"FER-2013 faces not found at {FACES}")


def load_faces(folder, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` FER-2013 faces, grayscale."""
    return [cv2.cvtColor(face, cv2.COLOR_BGR2GRAY) for face in load_face_images(folder, count, seed)]


def meeting(faces: list[np.ndarray], reorder_every_s: float = 0.0, away=None, seconds: float = 60.0, seed: int = 0,
            size: tuple[int, int] = (960, 540)) -> Meeting:
    """A Zoom window of ``faces`` (student ``S01`` is ``faces[0]``...), re-ordered every ``reorder_every_s``;
    ``away`` = {student index: [(leaves, rejoins)]}."""
    people = class_of(len(faces), seed, portraits_from_faces(faces), varied=False)
    return scripted_meeting(people, reorder_every_s, away, seconds, seed, app="zoom", size=size, page=len(faces))


def run_tracker(gallery: Meeting, seconds: float, fps: float, blink: float = 0.0, seed: int = 0):
    tracker = StudentTracker()
    rng = np.random.default_rng(seed)
    truth, predicted = [], []
    for k in range(int(seconds * fps)):
        frame = gallery.frame(k / fps)
        keep = rng.random(len(frame.students)) >= blink
        boxes = frame.boxes[keep]
        ids = tracker.update(boxes, embed_faces(frame.image, boxes), frame.timestamp)
        assert len(set(ids)) == len(ids), "two faces of one frame got the same id"
        truth.append([s for s, k in zip(frame.students, keep) if k])
        predicted.append(ids)
    return tracker, truth, predicted


def test_ids_survive_reordering_blinks_and_absences():
    faces = load_faces(FACES, 25, seed=1)
    gallery = meeting(faces, reorder_every_s=8.0, seconds=40,
                      away={3: [(5.0, 15.0)], 7: [(12.0, 30.0)], 20: [(2.0, 4.0), (20.0, 26.0)]})
    tracker, truth, predicted = run_tracker(gallery, seconds=40, fps=4, blink=0.15)
    assert count_id_switches(truth, predicted) == 0
    assert len(tracker.students) == 25
    # one id per true student, one true student per id
    pairs = {(s, i) for ss, ii in zip(truth, predicted) for s, i in zip(ss, ii)}
    assert len(pairs) == 25


def test_fifty_faces_keep_fifty_ids():
    faces = load_faces(FACES, 50, seed=2)
    gallery = meeting(faces, reorder_every_s=6.0, seconds=15, size=(1280, 720))
    tracker, truth, predicted = run_tracker(gallery, seconds=15, fps=2, blink=0.1, seed=3)
    assert len(tracker.students) == 50
    assert count_id_switches(truth, predicted) <= 2  # < 0.3 % of the 1,500 face observations


def test_a_returning_student_gets_the_old_id_and_a_newcomer_a_new_one():
    faces = load_faces(FACES, 6, seed=4)
    tracker = StudentTracker()
    gallery = meeting(faces[:5], away={2: [(1.0, 60.0)]})
    first = {s: i for s, i in zip(gallery.frame(0).students, tracker.update(
        gallery.frame(0).boxes, embed_faces(gallery.frame(0).image, gallery.frame(0).boxes), 0.0))}
    for t in (2.0, 10.0, 30.0):  # student 2 is away long enough to lose the motion track
        frame = gallery.frame(t)
        tracker.update(frame.boxes, embed_faces(frame.image, frame.boxes), t)
    back = meeting(faces, seed=9)
    frame = back.frame(61.0)
    ids = dict(zip(frame.students, tracker.update(frame.boxes, embed_faces(frame.image, frame.boxes), 61.0)))
    assert ids["S03"] == first["S03"]
    assert ids["S06"] not in first.values()


def test_motion_keeps_a_moving_face_through_detector_gaps():
    face = load_faces(FACES, 1, seed=5)[0]
    tracker = StudentTracker()
    image = np.full((240, 640), 30, np.uint8)
    seen = []
    for k in range(20):
        if k % 4 == 3:  # detector blinks every 4th frame
            tracker.update(np.zeros((0, 4)), np.zeros((0, 1)), k * 0.1)
            continue
        x = 20 + 15 * k
        canvas = image.copy()
        canvas[60:156, x : x + 96] = np.array(__import__("cv2").resize(face, (96, 96)))
        box = np.array([[x, 60, 96, 96]], np.float32)
        seen += tracker.update(box, embed_faces(canvas, box), k * 0.1)
    assert set(seen) == {1}


def test_embedding_tells_the_same_face_from_others():
    faces = load_faces(FACES, 20, seed=6)
    rng = np.random.default_rng(0)
    jittered = [np.clip(f.astype(np.float32) * 1.1 + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in faces]
    a = np.stack([crop_embedding(f) for f in faces])
    b = np.stack([crop_embedding(f) for f in jittered])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-3)
    similarity = a @ b.T
    assert (similarity.argmax(axis=1) == np.arange(20)).all()


def test_a_track_begun_while_a_face_was_missed_is_merged_back_into_its_student():
    """A re-order moves a face far and changes its crop: the tracker begins a new track for it. When
    the face, in that new place, is matched to its student again, the new track was a duplicate."""
    faces = load_faces(FACES, 2, seed=7)
    changed = cv2.GaussianBlur(cv2.flip(faces[0], 1), (7, 7), 0)  # the same face, looking different for a moment
    tracker = StudentTracker()
    image = np.full((300, 900), 40, np.uint8)

    def frame(at_x: int, face: np.ndarray, t: float) -> int:
        canvas = image.copy()
        canvas[100:196, at_x:at_x + 96] = cv2.resize(face, (96, 96))
        other = cv2.resize(faces[1], (96, 96))
        canvas[100:196, 20:116] = other  # a second student who stays put
        boxes = np.array([[20, 100, 96, 96], [at_x, 100, 96, 96]], np.float32)
        return tracker.update(boxes, embed_faces(canvas, boxes), t)[1]

    first = [frame(300, faces[0], k * 0.2) for k in range(5)]
    moved = frame(700, changed, 1.0)  # far away and unlike before: a new track
    assert moved != first[0] and tracker.merged == []
    back = frame(700, faces[0], 1.2)  # alike again, where the new track expects a face
    assert back == first[0]
    assert tracker.merged == [(moved, first[0])] and moved not in tracker.students
    assert frame(702, faces[0], 1.4) == first[0]  # and it stays their id


def _unit(*parts: tuple[int, float], dim: int = 8) -> np.ndarray:
    vector = np.zeros(dim, np.float32)
    for axis, value in parts:
        vector[axis] = value
    return vector / np.linalg.norm(vector)


@pytest.mark.parametrize("like_other, same_id", [(0.1, True), (0.5, False)])
def test_a_moved_face_below_the_re_identification_bar_is_its_student_only_when_clearly_so(like_other, same_id):
    """A's face shows far from where it was, cropped anew (0.55 alike their remembered look, under the
    0.6 bar): it is A's when no other student is nearly as alike, else a new student."""
    tracker = StudentTracker()
    a, b = _unit((0, 1.0)), _unit((1, 1.0))
    boxes = np.array([[10, 10, 80, 80], [300, 10, 80, 80]], np.float32)
    first = tracker.update(boxes, np.stack([a, b]), 0.0)
    moved = np.sqrt(max(0.0, 1 - 0.55 ** 2 - like_other ** 2))
    face = _unit((0, 0.55), (1, like_other), (2, moved))
    ids = tracker.update(np.array([[300, 10, 80, 80], [600, 200, 80, 80]], np.float32), np.stack([b, face]), 0.2)
    assert ids[0] == first[1]
    assert (ids[1] == first[0]) is same_id
