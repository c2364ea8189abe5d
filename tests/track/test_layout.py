"""Finding the tiles of a meeting window's gallery view, and reading each name in its own tile."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from classmood.assets import SAMPLE_VIDEO
from classmood.assets.meeting import Meeting, class_of
from classmood.assets.timeline import Change
from classmood.assets.labels import STYLES, draw_label, label_fonts
from classmood.sources import open_source
from classmood.track.layout import find_tiles
from classmood.track.names import NameReader, RapidOcrEngine, rapidocr_available
from classmood.track.tiles import TileWatch, drawn

NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Hedy Lamarr", "José Núñez", "Chloé Lefèvre",
         "Ana María Pérez", "Barbara Liskov", "Tim Berners-Lee", "Radia Perlman", "Judea Pearl", "Yann LeCun"]


def _gallery(n: int, size=(1920, 1080), camera_off: int | None = 2, seed: int = 0, panel: str | None = None):
    """A Zoom window of ``n`` unlabelled students, the ``camera_off``-th with the camera off."""
    people = [replace(person, label=None) for person in class_of(n, seed=seed)]
    changes = [Change(0, "camera_off", people[camera_off].student_id)] if camera_off is not None else []
    return Meeting(people, "zoom", "dark", size, changes, panel).frame(1.0)


def _in_a_window(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The gallery inside a meeting app's window: title bar, toolbar, a white chat panel."""
    h, w = image.shape[:2]
    window = np.full((h + 100, w + 320, 3), (40, 38, 36), np.uint8)
    window[44:44 + h, :w] = image
    cv2.putText(window, "Physics 3B - Meeting", (16, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (230, 230, 230), 1)
    window[44 + h:] = (30, 30, 30)
    cv2.rectangle(window, (w // 2 - 60, 54 + h), (w // 2 + 60, 90 + h), (40, 40, 200), -1)
    window[:, w:] = (246, 246, 246)
    cv2.putText(window, "Chat", (w + 24, 90), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2)
    return window, 44


def _matched(found, truth, dy: int = 0) -> int:
    return sum(any(all(abs(a - b) <= 3 for a, b in zip(f, (x, y + dy, w, h))) for f in found)
               for x, y, w, h in (t.box for t in truth))


@pytest.mark.parametrize("n, size", [(9, (1920, 1080)), (25, (1920, 1080)), (23, (1280, 720)), (49, (1920, 1080))])
def test_every_tile_of_a_gallery_is_found_with_a_short_centred_last_row_and_a_camera_off_tile(n, size):
    frame = _gallery(n, size)
    layout = find_tiles(frame.image)
    assert len(layout.tiles) == n and _matched(layout.tiles, frame.tiles) >= n - 1
    window, dy = _in_a_window(frame.image)  # more bars and a white chat panel around the app's own
    framed = find_tiles(window)
    assert len(framed.tiles) == n and _matched(framed.tiles, frame.tiles, dy) >= n - 1
    beside = _gallery(n, size, panel="chat")  # the app's own chat panel beside the gallery
    assert len(find_tiles(beside.image).tiles) == n and _matched(find_tiles(beside.image).tiles, beside.tiles) >= n - 1


def test_a_frame_that_is_not_a_gallery_has_no_tiles():
    slide = np.full((720, 1280, 3), 250, np.uint8)
    cv2.putText(slide, "Lecture 3: vectors", (80, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (10, 10, 10), 3)
    assert find_tiles(slide).tiles == ()
    with open_source(SAMPLE_VIDEO, max_frames=1) as source:  # a real 3x3 gallery of portraits: found
        assert len(find_tiles(next(iter(source)).image).tiles) == 9


def test_the_layout_follows_a_student_leaving():
    assert len(find_tiles(_gallery(25).image).tiles) == 25
    assert len(find_tiles(_gallery(24).image).tiles) == 24


def test_the_last_layout_is_only_checked_while_the_tiles_stay_and_searched_again_when_they_move():
    before = find_tiles(_gallery(25).image)
    same = find_tiles(_gallery(25).image, previous=before)
    assert same.tiles == before.tiles and (same.background, same.tolerance) == (before.background, before.tolerance)
    with open_source(SAMPLE_VIDEO, max_frames=12) as source:  # a compressed video: its edges move a little
        frames = [frame.image for frame in source]
    first = find_tiles(frames[0])
    assert [find_tiles(frame, previous=first).tiles for frame in frames[1:]] == [
        find_tiles(frame).tiles for frame in frames[1:]]
    reflowed = find_tiles(_gallery(24).image, previous=before)  # someone left: the grid re-flows
    assert len(reflowed.tiles) == 24 and reflowed.tiles == find_tiles(_gallery(24).image).tiles
    assert find_tiles(np.full((1080, 1920, 3), 250, np.uint8), previous=before).tiles == ()  # a slide now


def test_each_face_belongs_to_its_tile():
    frame = _gallery(25)
    layout = find_tiles(frame.image)
    assert all(layout.tile_of(face.box) is not None for face in frame.faces)
    owner = {face.student_id: layout.tile_of(face.box) for face in frame.faces}
    assert len(set(owner.values())) == len(owner)  # one face per tile


@pytest.mark.skipif(not (rapidocr_available() and label_fonts()), reason="needs rapidocr and a TrueType font")
def test_names_are_read_in_their_tiles():
    frame = _gallery(len(NAMES), camera_off=None, seed=4)
    for k, tile in enumerate(t.box for t in frame.tiles):
        draw_label(frame.image, tile, NAMES[k], style=STYLES[k % len(STYLES)], font=label_fonts()[k % len(label_fonts())])
    layout, reader = find_tiles(frame.image), NameReader(RapidOcrEngine())
    in_tiles = {NAMES[face.tile]: reader.read(frame.image, face.box, layout) for face in frame.faces}
    under_faces = {NAMES[face.tile]: reader.read(frame.image, face.box) for face in frame.faces}
    right = sum(name == text for name, text in in_tiles.items())
    assert right >= 0.8 * len(in_tiles), in_tiles
    assert right > sum(name == text for name, text in under_faces.items())  # the tile is where the label is


@pytest.mark.parametrize(("app", "theme"), [("zoom", "light"), ("teams", "dark"), ("meet", "light"), ("jitsi", "dark")])
def test_a_camera_off_tile_is_drawn_and_a_filmed_one_is_not(app, theme):
    people = class_of(9, seed=1)
    frame = Meeting(people, app, theme, (1280, 720), (Change(0, "camera_off", people[4].student_id),)).frame(1.0)
    verdicts = {tile.student_id: drawn(frame.image, tile.box) for tile in frame.tiles}
    assert verdicts == {tile.student_id: not tile.camera_on for tile in frame.tiles}


def test_a_face_found_on_a_drawn_tile_is_dropped_and_the_others_kept():
    people = class_of(9, seed=1)
    frame = Meeting(people, "zoom", "light", (1280, 720), (Change(0, "camera_off", people[4].student_id),)).frame(1.0)
    watch = TileWatch()
    watch.step(frame.image, [], 1.0)
    off_tile = next(tile.box for tile in frame.tiles if not tile.camera_on)
    x, y, w, h = off_tile
    disc = np.array([[x + w / 2 - h / 4, y + h / 4, h / 2, h / 2]], np.float32)  # where the initials disc is
    boxes = np.concatenate([frame.boxes.astype(np.float32), disc])
    unsure = np.full(len(boxes), 0.6, np.float32)
    assert watch.drawn_faces(frame.image, boxes, unsure).tolist() == [False] * len(frame.faces) + [True]
    assert not watch.drawn_faces(frame.image, boxes, np.full(len(boxes), 0.9, np.float32)).any()  # sure faces: kept
