"""The shipped face media: licensed, decodable, small, and its face truth matches what a detector finds."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import pytest

from fixtures.faces import match_faces
from fixtures.paths import ROOT
from classmood.assets import ASSETS_DIR, SAMPLE_TRUTH, SAMPLE_VIDEO, WEBCAM_CLIP, WEBCAM_TRUTH
from classmood.assets.portraits import load_portraits

DETECTION_DIR = ROOT / "benchmarks" / "data" / "detection"


def _load_builder():
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "scripts" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def _read_frames(path: Path, wanted: set[int]) -> tuple[int, dict[int, object]]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"OpenCV cannot open {path}"
    count, frames = 0, {}
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if count in wanted:
            frames[count] = frame
        count += 1
    capture.release()
    return count, frames


@pytest.fixture(scope="module")
def sample_truth() -> dict:
    return json.loads(SAMPLE_TRUTH.read_text(encoding="utf-8"))


def test_every_shipped_media_file_has_a_licence_entry():
    licences = (ASSETS_DIR / "LICENSES.md").read_text(encoding="utf-8")
    media = [p.name for p in ASSETS_DIR.iterdir() if p.suffix in {".jpg", ".png", ".mp4", ".json"}]
    assert len(media) >= 6
    missing = [name for name in media if f"`{name}`" not in licences]
    assert not missing, f"add these files to LICENSES.md: {missing}"


def test_portraits_are_real_photos_with_detectable_true_face_boxes():
    portraits = load_portraits()
    assert len(portraits) >= 9
    assert len({p.person for p in portraits}) >= 7
    for portrait in portraits:
        assert portrait.licence.startswith(("public domain", "CC0", "CC BY-SA 4.0"))
        found, extra, ious = match_faces([portrait.face_box], portrait.image)
        assert (found, extra) == (1, 0), portrait.portrait_id
        assert ious[0] > 0.7


def test_sample_video_is_short_small_and_decodes_to_its_truth(sample_truth):
    assert SAMPLE_VIDEO.stat().st_size < 3_000_000
    count, frames = _read_frames(SAMPLE_VIDEO, {0})
    assert count == len(sample_truth["frames"])
    assert 10 <= count / sample_truth["fps"] <= 20
    assert frames[0].shape == (sample_truth["height"], sample_truth["width"], 3)


def test_sample_video_faces_are_found_where_the_truth_says(sample_truth):
    fps = sample_truth["fps"]
    wanted = {0, int(5 * fps), int(8 * fps), int(12 * fps)}  # all in, camera off, one left, rejoined
    _, frames = _read_frames(SAMPLE_VIDEO, wanted)
    total = found_total = 0
    for index in sorted(wanted):
        truth = [face[1:] for face in sample_truth["frames"][index]]
        found, extra, ious = match_faces(truth, frames[index])
        total, found_total = total + len(truth), found_total + found
        assert extra == 0, f"frame {index}: {extra} detections not in the truth"
        assert min(ious) > 0.6
    assert found_total == total


def test_sample_truth_tells_the_class_story(sample_truth):
    fps, frames = sample_truth["fps"], sample_truth["frames"]
    ids = lambda second: [face[0] for face in frames[int(second * fps)]]  # noqa: E731
    everyone = [f"S{i:02d}" for i in range(1, 10)]
    assert ids(1) == everyone
    assert "S05" not in ids(5) and len(ids(5)) == 8  # camera off: tile stays, face gone
    assert "S08" not in ids(8) and "S05" in ids(8)  # left the meeting
    assert ids(10.2)[-1] == "S08" and len(ids(10.2)) == 9  # rejoined as the last tile
    assert "S03" not in ids(11) and len(ids(11)) == 8  # away from the camera
    assert ids(13)[0] == "S09" and sorted(ids(13)) == everyone  # the speaker moved to the first tile
    assert {s["person"] for s in sample_truth["students"].values()} >= {"eileen_collins", "grace_hopper", "jesper"}
    assert len({s["person"] for s in sample_truth["students"].values()}) == 7


def test_sample_truth_matches_the_composer_that_built_it(sample_truth):
    """Fails when the gallery code changes without rebuilding the sample (scripts/make_sample.py video)."""
    builder = _load_builder()
    from classmood.assets.gallery import varied_participants

    people = varied_participants(9, seed=builder.SAMPLE_SEED)
    for index in range(0, len(sample_truth["frames"]), 30):
        frame = builder.sample_frame(people, index)
        assert [[f.student_id, *f.box] for f in frame.faces] == sample_truth["frames"][index], index


def test_webcam_clip_is_a_real_moving_face_with_its_boxes():
    truth = json.loads(WEBCAM_TRUTH.read_text(encoding="utf-8"))
    count, frames = _read_frames(WEBCAM_CLIP, {0, 20, 40, 60})
    assert count == len(truth["boxes"]) == 68
    for index, frame in frames.items():
        assert frame.shape == (truth["height"], truth["width"], 3)
        found, extra, ious = match_faces([truth["boxes"][index]], frame)
        assert (found, extra) == (1, 0) and ious[0] > 0.7, index
    xs = [box[0] for box in truth["boxes"]]
    ys = [box[1] for box in truth["boxes"]]
    assert max(xs) - min(xs) >= 3 or max(ys) - min(ys) >= 3  # the head really moves


@pytest.fixture(scope="module")
def detection_set() -> list[dict]:
    return json.loads((DETECTION_DIR / "annotations.json").read_text(encoding="utf-8"))["images"]


def test_detection_set_is_small_and_well_formed(detection_set):
    assert sum(p.stat().st_size for p in DETECTION_DIR.iterdir()) < 5_000_000
    assert {len(entry["faces"]) for entry in detection_set} >= {1, 9, 25, 49}
    photos = [e for e in detection_set if e["kind"] == "photo"]
    assert sum(len(e["faces"]) >= 3 for e in photos) >= 3  # real photos of groups, not only galleries
    for entry in detection_set:
        image = cv2.imread(str(DETECTION_DIR / entry["file"]))
        assert image.shape[:2] == (entry["height"], entry["width"]), entry["file"]
        assert entry["licence"]
        for box in [f["box"] for f in entry["faces"]] + entry["ignore"]:
            x, y, w, h = box
            assert x >= 0 and y >= 0 and x + w <= entry["width"] and y + h <= entry["height"], (entry["file"], box)


def test_every_face_in_the_real_photos_is_annotated_and_found(detection_set):
    """The real photos' truth is complete: the detector finds each annotated face and nothing else."""
    for entry in (e for e in detection_set if e["kind"] == "photo"):
        truth = [f["box"] for f in entry["faces"]]
        found, extra, _ = match_faces(truth, cv2.imread(str(DETECTION_DIR / entry["file"])), min_iou=0.4,
                                      ignore=entry["ignore"])
        assert (found, extra) == (len(truth), 0), entry["file"]


def test_detection_gallery_truth_is_confirmed_by_the_detector(detection_set):
    gallery = next(e for e in detection_set if e["file"] == "gallery_09_1920x1080.jpg")
    found, extra, _ = match_faces([f["box"] for f in gallery["faces"]], cv2.imread(str(DETECTION_DIR / gallery["file"])))
    assert (found, extra) == (9, 0)


def test_portrait_boxes_agree_with_the_detection_photos(detection_set):
    builder = _load_builder()
    photos = {e["file"]: e for e in detection_set}
    checked = 0
    for source in builder.PORTRAITS:
        entry = photos.get(f"photo_{source.photo.replace('-', '_')}.jpg")
        if entry is not None:
            assert list(source.face_box) in [f["box"] for f in entry["faces"]], source.portrait_id
            checked += 1
    assert checked >= 5
