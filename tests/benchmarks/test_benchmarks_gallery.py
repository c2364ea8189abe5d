"""Meeting frames and group photos built from faces: layout, true boxes, pixels really pasted."""

import numpy as np
import pytest

from benchmarks.gallery import LAYOUTS, build_frame, build_scene, grid_shape, paste_face, tile_rects
from benchmarks.metrics import iou_matrix


def faces(n: int, seed: int = 0) -> np.ndarray:
    """Distinct tiny 'faces': random gray 48x48 patterns."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


@pytest.mark.parametrize("n, expected", [(1, (1, 1)), (9, (3, 3)), (25, (5, 5)), (49, (7, 7)), (10, (4, 3))])
def test_grid_shape(n, expected):
    assert grid_shape(n) == expected


def test_grid_shape_rejects_empty():
    with pytest.raises(ValueError):
        grid_shape(0)


@pytest.mark.parametrize("n", [9, 25, 49])
def test_tiles_fit_the_frame_and_do_not_overlap(n):
    rects = np.array(tile_rects(n, 1920, 1080), np.float64)
    assert len(rects) == n
    assert (rects[:, 0] >= 0).all() and (rects[:, 1] >= 0).all()
    assert (rects[:, 0] + rects[:, 2] <= 1920).all() and (rects[:, 1] + rects[:, 3] <= 1080).all()
    iou = iou_matrix(rects, rects)
    np.fill_diagonal(iou, 0)
    assert iou.max() == 0
    assert abs(rects[0, 2] / rects[0, 3] - 16 / 9) < 0.02


@pytest.mark.parametrize("n", [1, 9, 25, 49])
def test_build_frame_sizes_boxes_and_pixels(n):
    rng = np.random.default_rng(1)
    scene = build_frame(faces(n), np.arange(n) % 7, rng)
    width, height = LAYOUTS[n]
    assert scene.image.shape == (height, width, 3) and scene.image.dtype == np.uint8
    assert scene.boxes.shape == (n, 4) and len(scene.labels) == n
    tile_h = 480 if n == 1 else tile_rects(n, 1920, 1080)[0][3]
    for x, y, w, h in scene.boxes.astype(int):
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert w == h and 0.4 * tile_h <= h <= 0.65 * tile_h  # a webcam-sized face
    # the face pixels are in the box: its centre is gray (B == G == R), unlike the tinted room
    x, y, w, h = scene.boxes[0].astype(int)
    centre = scene.image[y + h // 2, x + w // 2].astype(int)
    assert centre[0] == centre[1] == centre[2]


def test_paste_face_feathers_edges_and_keeps_centre():
    canvas = np.zeros((100, 100, 3), np.uint8)
    face = np.full((48, 48), 200, np.uint8)
    paste_face(canvas, face, 10, 10, 60)
    assert canvas[40, 40, 0] == 200  # centre fully the face
    assert canvas[10, 10, 0] == 0  # corner fully blended out
    assert canvas[5, 5].sum() == 0  # outside untouched


def test_build_scene_boxes_are_apart_and_labels_follow():
    rng = np.random.default_rng(2)
    scene = build_scene(faces(12), np.arange(12) % 7, rng, size=(640, 360), face_px=(30, 60))
    assert 1 <= len(scene.boxes) <= 12 and len(scene.labels) == len(scene.boxes)
    iou = iou_matrix(scene.boxes, scene.boxes)
    np.fill_diagonal(iou, 0)
    assert iou.max() == 0
