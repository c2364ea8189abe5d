"""The meeting gallery composer: layouts like a meeting app's, and face truth that a real detector confirms."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from fixtures.faces import box_iou, match_faces
from classmood.assets.gallery import (
    Event,
    Look,
    Participant,
    Reorder,
    compose_gallery,
    gallery_layout,
    render_tile,
    roster_at,
    varied_participants,
    write_gallery_video,
)
from classmood.assets.portraits import Portrait, load_portraits


@pytest.mark.parametrize(("n", "width", "height", "cols"), [(1, 640, 480, 1), (9, 1920, 1080, 3), (25, 1920, 1080, 5),
                                                            (49, 1920, 1080, 7), (8, 960, 540, 3), (2, 1280, 720, 2)])
def test_layout_is_a_centred_grid_of_16_9_tiles_inside_the_frame(n, width, height, cols):
    tiles = gallery_layout(n, width, height)
    assert len(tiles) == n
    assert len({x for x, _, _, _ in tiles[:cols]}) == cols  # first row holds `cols` tiles
    for x, y, w, h in tiles:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert abs(w / h - 16 / 9) < 0.02
    for i, a in enumerate(tiles):  # no two tiles overlap
        for b in tiles[i + 1:]:
            assert box_iou(a, b) == 0.0
    last_row = [t for t in tiles if t[1] == tiles[-1][1]]
    left, right = last_row[0][0], width - (last_row[-1][0] + last_row[-1][2])
    assert abs(left - right) <= 1  # a partial last row is centred, as meeting apps draw it


def test_layout_rejects_impossible_requests():
    with pytest.raises(ValueError):
        gallery_layout(0, 1920, 1080)
    with pytest.raises(ValueError):
        gallery_layout(400, 320, 180)


def test_true_boxes_sit_in_their_tiles_and_a_real_detector_finds_them():
    people = varied_participants(9, seed=3)
    frame = compose_gallery(people, 960, 540)
    assert frame.image.shape == (540, 960, 3)
    assert [f.student_id for f in frame.faces] == [p.student_id for p in people]
    for face in frame.faces:
        tx, ty, tw, th = frame.tiles[face.tile]
        x, y, w, h = face.box
        assert tx <= x and ty <= y and x + w <= tx + tw and y + h <= ty + th
    found, extra, ious = match_faces([f.box for f in frame.faces], frame.image)
    assert (found, extra) == (9, 0)
    assert min(ious) > 0.6


def test_49_small_tiles_are_all_found_at_full_hd():
    frame = compose_gallery(varied_participants(49, seed=5), 1920, 1080, labels=False)
    assert len(frame.faces) == 49
    found, extra, _ = match_faces([f.box for f in frame.faces], frame.image)
    assert found >= 47 and extra == 0


def test_reordering_tiles_moves_the_same_faces_to_new_places():
    people = varied_participants(4, seed=1)
    before = compose_gallery(people, 1280, 720, t=2.0)
    after = compose_gallery(people[::-1], 1280, 720, t=2.0)
    by_id = {f.student_id: f for f in before.faces}
    for face in after.faces:
        old = by_id[face.student_id]
        assert face.tile == 3 - old.tile
        old_tile, new_tile = before.tiles[old.tile], after.tiles[face.tile]
        # same face, same place inside its tile: only the tile moved
        assert (face.box[0] - new_tile[0], face.box[1] - new_tile[1]) == (old.box[0] - old_tile[0], old.box[1] - old_tile[1])
        assert face.box[2:] == old.box[2:]


def test_sway_moves_the_face_and_the_truth_follows_it():
    portrait = load_portraits()[0]
    person = Participant("S01", portrait, Look(sway=0.05, sway_hz=0.5))
    boxes = []
    for t in (0.0, 0.5, 1.0):
        tile, box = render_tile(person, 640, 360, t)
        found, extra, ious = match_faces([box], tile)
        assert (found, extra) == (1, 0) and ious[0] > 0.6
        boxes.append(box)
    assert len(set(boxes)) == 3
    still = Participant("S01", portrait, Look(sway=0.0))
    assert render_tile(still, 640, 360, 0.0)[1] == render_tile(still, 640, 360, 3.0)[1]


def test_mirror_flips_the_face_box_about_the_face_centre():
    portrait = load_portraits()[1]
    plain = render_tile(Participant("S", portrait, Look(sway=0.0)), 640, 360)
    mirrored = render_tile(Participant("S", portrait, Look(sway=0.0, mirror=True)), 640, 360)
    assert plain[1] == mirrored[1]  # the face box is centred by construction
    assert not np.array_equal(plain[0], mirrored[0])


def test_a_face_pushed_out_of_its_tile_is_not_counted():
    whole = load_portraits()[0]
    x, y, w, h = whole.face_box
    face_only = Portrait("face", whole.person, whole.image[y:y + h, x:x + w], (0, 0, w, h), whole.licence)
    inside = render_tile(Participant("S", face_only, Look(sway=0.0)), 640, 360)[1]
    tile, box = render_tile(Participant("S", face_only, Look(offset=(0.6, 0.0), sway=0.0)), 640, 360)
    assert inside is not None and box is None
    assert tile.shape == (360, 640, 3)


def test_a_photo_that_covers_the_tile_is_zoomed_to_fill_it_without_gaps():
    portrait = load_portraits()[0]  # 512x512, face 112 px tall: zoomed, it covers a 16:9 tile with room to spare
    _, centred = render_tile(Participant("S", portrait, Look(sway=0.0)), 640, 360)
    _, pushed = render_tile(Participant("S", portrait, Look(offset=(-0.3, 0.2), sway=0.0)), 640, 360)
    assert centred[3] == pushed[3] >= round(0.42 * 360) - 1  # zoomed in at least as far as asked
    shift_x, shift_y = pushed[0] - centred[0], pushed[1] - centred[1]
    # the photo's own edge stops the shift before a gap opens: far less than the 192 x 72 px asked for
    assert -0.3 * 640 < shift_x < 0 and 0 <= shift_y < 0.2 * 360


def test_same_seed_same_class_and_labels_are_drawn():
    a = compose_gallery(varied_participants(6, seed=9), 1280, 720, t=1.0)
    b = compose_gallery(varied_participants(6, seed=9), 1280, 720, t=1.0)
    assert np.array_equal(a.image, b.image) and a.faces == b.faces
    unlabeled = compose_gallery(varied_participants(6, seed=9), 1280, 720, t=1.0, labels=False)
    x, y, w, h = a.tiles[0]
    corner = (slice(y + h - h // 6, y + h), slice(x, x + w // 3))
    assert not np.array_equal(a.image[corner], unlabeled.image[corner])


def test_written_video_decodes_with_its_truth(tmp_path):
    people = varied_participants(4, seed=4)
    path = tmp_path / "class.mp4"
    truths = write_gallery_video(path, (compose_gallery(people, 640, 360, t=i / 10) for i in range(12)), fps=10)
    assert len(truths) == 12 and all(len(t) == 4 for t in truths)
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (frame := capture.read())[0]:
        frames.append(frame[1])
    assert len(frames) == 12 and frames[0].shape == (360, 640, 3)
    assert list(tmp_path.iterdir()) == [path]


def test_failed_video_write_leaves_no_file(tmp_path):
    path = tmp_path / "empty.mp4"
    with pytest.raises(ValueError):
        write_gallery_video(path, iter(()), fps=10)
    assert list(tmp_path.iterdir()) == []

    def broken_frames():
        yield compose_gallery(varied_participants(1), 320, 180)
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        write_gallery_video(tmp_path / "half.mp4", broken_frames(), fps=10)
    assert list(tmp_path.iterdir()) == []


def test_roster_follows_events_and_reorders():
    people = varied_participants(4, seed=0)
    events = [Event("S02", "left", 1.0, 2.0), Event("S03", "camera_off", 0.5, 1.5), Event("S04", "away", 3.0)]
    reorders = [Reorder(2.5, ("S04", "S01"))]

    def ids(t):
        return [p.student_id for p in roster_at(people, t, events, reorders)]

    assert ids(0.0) == ["S01", "S02", "S03", "S04"]
    assert ids(1.2) == ["S01", "S03", "S04"]
    assert not roster_at(people, 1.2, events, reorders)[1].camera_on
    assert ids(2.0) == ["S01", "S03", "S04", "S02"]  # a returning student's tile comes back last
    assert ids(2.6) == ["S04", "S01", "S03", "S02"]
    away = roster_at(people, 3.5, events, reorders)[0]
    assert away.student_id == "S04" and away.away and away.camera_on


def test_away_and_camera_off_tiles_show_no_face_to_the_detector():
    people = varied_participants(4, seed=6)
    frame = compose_gallery(roster_at(people, 1.0, [Event("S02", "away", 0.0), Event("S03", "camera_off", 0.0)]),
                            1280, 720)
    assert [f.student_id for f in frame.faces] == ["S01", "S04"]
    found, extra, _ = match_faces([f.box for f in frame.faces], frame.image)
    assert (found, extra) == (2, 0)


def test_bad_events_are_refused():
    with pytest.raises(ValueError, match="unknown event kind"):
        Event("S01", "asleep", 0.0, 1.0)
    with pytest.raises(ValueError, match="before it starts"):
        Event("S01", "away", 2.0, 1.0)
