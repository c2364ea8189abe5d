"""The face emotion pipeline on real faces and the real bundled ONNX model: sources, detection,
classification, Pipeline timings, outputs and the evaluate measurement."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pandas as pd
import pytest

import classmood
from classmood.classify import EmotionClassifier, crop_face, list_models, resolve_model, square_box
from classmood.classify.evaluate import evaluate
from classmood.detect import WholeImageDetector, YuNetDetector
from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError
from classmood.output import FaceTableWriter, VideoWriter, atomic_path, write_image
from classmood.pipeline import Pipeline
from classmood.sources import FolderSource, ImageSource, VideoFileSource, open_source, source_kind
from classmood.sources.live import LatestFrameGrabber
from classmood.types import Frame

from fixtures.faces import box_iou
from fixtures.media import fer_face, fer_files, scene, two_face_video, write_video


@pytest.fixture(scope="module")
def classifier():
    return EmotionClassifier("realtime")


@pytest.fixture(scope="module")
def detector():
    return YuNetDetector()


# --- models -----------------------------------------------------------------------------

def test_bundled_models_follow_the_contract():
    names = {m.name for m in list_models()}
    assert "realtime" in names  # the default; "accurate" joins it when the models issue ships it
    for info in list_models():
        assert info.classes == EMOTIONS
        assert info.input_size > 0 and info.std > 0
        assert info.path.suffix == ".onnx" and info.path.with_suffix(".json").is_file()
    with pytest.raises(ClassmoodError, match="unknown model"):
        resolve_model("no-such-model")


def test_classifier_gives_probabilities_deterministically_and_batch_independent(classifier):
    crops = np.stack([cv2.cvtColor(fer_face(c, 0), cv2.COLOR_BGR2GRAY) for c in ("happy", "surprise", "sad")])
    crops = np.stack([cv2.resize(c, (classifier.size, classifier.size)) for c in crops])
    probs = classifier.predict_crops(crops)
    assert probs.shape == (3, 7) and probs.dtype == np.float32
    assert np.all(probs >= 0) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(probs, classifier.predict_crops(crops))  # deterministic
    singles = np.concatenate([classifier.predict_crops(crops[i:i + 1]) for i in range(3)])
    assert np.allclose(probs, singles, atol=1e-5)  # batching changes nothing
    assert classifier.predict_crops(crops[:0]).shape == (0, 7)


def test_flip_averages_a_face_with_its_mirror_image():
    plain, flipped = EmotionClassifier("realtime", flip=False), EmotionClassifier("realtime", flip=True)
    crops = np.stack([cv2.resize(cv2.cvtColor(fer_face(c, 2), cv2.COLOR_BGR2GRAY), (plain.size, plain.size))
                      for c in ("happy", "angry")])
    expected = (plain.predict_crops(crops) + plain.predict_crops(crops[:, :, ::-1].copy())) / 2
    assert np.allclose(flipped.predict_crops(crops), expected, atol=1e-5)


@pytest.mark.parametrize("name", [m.name for m in list_models()])
def test_every_bundled_model_loads_and_classifies(name):
    clf = EmotionClassifier(name)
    crop = cv2.resize(cv2.cvtColor(fer_face("happy", 1), cv2.COLOR_BGR2GRAY), (clf.size, clf.size))
    p = clf.predict_crops(crop[None])
    assert p.shape == (1, 7) and abs(float(p.sum()) - 1) < 1e-5


# --- detection --------------------------------------------------------------------------

def test_yunet_finds_real_faces_at_their_place(detector):
    image, placed = scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))
    found = detector.detect(image)
    assert len(found) == 2 and found.landmarks.shape == (2, 5, 2)  # eyes, nose tip, mouth corners
    for box, points in zip(found.boxes, found.landmarks):  # the five points lie on the face they belong to
        x, y, w, h = box
        assert np.all((points >= (x, y)) & (points <= (x + w, y + h)))
    assert np.all(np.diff(found.scores) <= 0)  # best first
    for box in placed:
        assert max(box_iou(box, b) for b in found.boxes) > 0.4


def test_yunet_maps_boxes_back_from_downscaled_big_frames(detector):
    image, placed = scene(size=(1080, 1920), faces=(("happy", 2, (1500, 700), 240),))
    assert detector.scale_for(1920, 1080) < 1
    found = detector.detect(image)
    assert len(found) == 1
    assert box_iou(placed[0], found.boxes[0]) > 0.4
    x, y, w, h = found.boxes[0]
    assert x >= 0 and y >= 0 and x + w <= 1920 and y + h <= 1080


def test_yunet_upscales_tiny_frames_and_clips_boxes(detector):
    face = fer_face("happy", 0)  # a 48x48 crop: the face touches the border
    found = detector.detect(face)
    assert len(found) == 1
    x, y, w, h = found.boxes[0]
    assert x >= 0 and y >= 0 and x + w <= 48 and y + h <= 48 and w > 20


def test_no_face_gives_empty_detections(detector):
    assert len(detector.detect(np.full((240, 320, 3), 128, np.uint8))) == 0


def test_whole_image_detector_and_square_crop():
    det = WholeImageDetector().detect(np.zeros((30, 50, 3), np.uint8))
    assert det.boxes.tolist() == [[0, 0, 50, 30]] and det.scores.tolist() == [1.0]
    assert square_box((10, 20, 30, 40), 100, 100) == (5, 20, 40)
    gray = np.arange(100 * 100, dtype=np.uint32).reshape(100, 100).astype(np.uint8)
    assert crop_face(gray, (90, 90, 20, 20), 48).shape == (48, 48)  # leaves the frame: padded


# --- pipeline and API ---------------------------------------------------------------------

def test_pipeline_records_stage_timings_and_annotates(classifier, detector):
    image, _ = scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))
    pipe = Pipeline(detector, classifier, annotate=True)
    results = list(pipe.run([Frame(image, 0, 0.0), Frame(image, 1, 0.1)]))
    assert len(results) == 2
    for r in results:
        assert set(r.timings) == {"decode", "detect", "classify", "annotate"}
        assert all(v >= 0 for v in r.timings.values())
        assert len(r.detections) == 2 and r.annotated.shape == image.shape
        assert not np.array_equal(r.annotated, image)  # something was drawn
        assert set(r.detections.emotions) <= set(EMOTIONS)
        assert np.allclose(r.detections.probabilities.sum(axis=1), 1, atol=1e-4)
    assert np.array_equal(image, scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))[0])


def test_max_faces_keeps_the_best(classifier, detector):
    image, _ = scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))
    result = Pipeline(detector, classifier, max_faces=1).process(Frame(image, 0, 0.0))
    assert len(result.detections) == 1


def test_analyze_api_on_array_path_and_gray(tmp_path):
    image, placed = scene(faces=(("happy", 0, (100, 120), 160),))
    faces = classmood.analyze(image)
    assert len(faces) == 1 and box_iou(placed[0], faces[0].box) > 0.4
    d = faces[0].to_dict()
    assert set(d) >= {"box", "score", "emotion", "probabilities"} and list(d["probabilities"]) == list(EMOTIONS)
    path = tmp_path / "one.png"
    cv2.imwrite(str(path), image)
    assert [f.box for f in classmood.analyze(path)] == [f.box for f in faces]
    gray_faces = classmood.analyze(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    assert len(gray_faces) == 1


# --- sources ----------------------------------------------------------------------------

def test_source_kinds(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "v.mp4").write_bytes(b"x")
    assert source_kind("0") == "webcam" and source_kind(3) == "webcam"
    assert source_kind("screen") == "screen" and source_kind("screen:0,0,640,480") == "screen"
    assert source_kind("rtsp://127.0.0.1/cam") == "stream"
    assert source_kind(tmp_path) == "folder"
    assert source_kind(tmp_path / "a.jpg") == "image"
    assert source_kind(tmp_path / "v.mp4") == "video"
    with pytest.raises(ClassmoodError, match="no such"):
        source_kind(tmp_path / "missing.mp4")


def test_video_round_trip_with_stride(tmp_path):
    path = two_face_video(tmp_path / "two.mp4", n=9, fps=10)
    with VideoFileSource(path) as src:
        assert src.frame_count == 9 and src.fps == pytest.approx(10)
        frames = list(src)
    assert [f.index for f in frames] == list(range(9))
    assert frames[3].timestamp == pytest.approx(0.3) and frames[0].image.shape == (480, 640, 3)
    with open_source(str(path), every=4) as src:
        assert [f.index for f in src] == [0, 4, 8]
    with open_source(str(path), every=2, max_frames=3) as src:
        assert src.frame_count == 3 and [f.index for f in src] == [0, 2, 4]


def test_folder_source_keeps_paths_and_skips_junk(tmp_path, caplog):
    for i, cls in enumerate(("happy", "sad")):
        cv2.imwrite(str(tmp_path / f"{i}.png"), scene(faces=((cls, 0, (100, 100), 150),))[0])
    (tmp_path / "notes.txt").write_text("not an image")
    src = FolderSource(tmp_path)
    frames = list(src)
    assert len(frames) == 2 and [p.name for p in src.paths] == ["0.png", "1.png"]
    assert [p.name for p, _ in src.skipped] == ["notes.txt"]


def test_image_source_reads_one_frame(tmp_path):
    path = tmp_path / "x.jpg"
    cv2.imwrite(str(path), fer_face())
    frames = list(ImageSource(path))
    assert len(frames) == 1 and frames[0].image.shape == (48, 48, 3)


def test_latest_frame_grabber_drops_frames_for_a_slow_consumer():
    counter = iter(range(10_000))

    def fast_camera():
        time.sleep(0.002)
        n = next(counter, None)
        return None if n is None or n >= 300 else np.full((2, 2), n, np.int32)

    grabber = LatestFrameGrabber(fast_camera)
    seen, seq = [], 0
    while True:
        got = grabber.next(seq, timeout=2.0)
        if got is None:
            break
        seq, image, _ = got
        seen.append(int(image[0, 0]))
        time.sleep(0.02)  # a consumer 10x slower than the camera
    grabber.stop()
    assert seen == sorted(seen) and seen[-1] == 299  # always the newest, ends with the last frame
    assert len(seen) < 100  # most frames were dropped, not queued


# --- outputs ----------------------------------------------------------------------------

def test_outputs_round_trip_and_are_atomic(tmp_path, classifier, detector):
    src_path = two_face_video(tmp_path / "in.mp4", n=6)
    pipe = Pipeline(detector, classifier, annotate=True)
    with VideoFileSource(src_path) as src, VideoWriter(tmp_path / "out.mp4", src.fps) as video, \
            FaceTableWriter(tmp_path / "t.csv", tmp_path / "t.parquet") as table:
        for r in pipe.run(src):
            video.write(r.annotated)
            table.add(r)
    with VideoFileSource(tmp_path / "out.mp4") as back:
        assert back.frame_count == 6 and next(iter(back)).image.shape == (480, 640, 3)
    csv, pq = pd.read_csv(tmp_path / "t.csv"), pd.read_parquet(tmp_path / "t.parquet")
    assert len(csv) == len(pq) == 12 and list(csv.columns) == list(pq.columns)
    assert set(csv["frame"]) == set(range(6)) and csv["emotion"].isin(EMOTIONS).all()
    assert np.allclose(csv[[f"p_{c}" for c in EMOTIONS]].sum(axis=1), 1, atol=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4", "t.csv", "t.parquet"]

    # a failure mid-way leaves nothing that looks complete
    with pytest.raises(RuntimeError), VideoWriter(tmp_path / "broken.mp4", 10) as video, \
            FaceTableWriter(tmp_path / "b.csv", tmp_path / "b.parquet"):
        video.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "c.json") as tmp:
        tmp.write_text("{")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4", "t.csv", "t.parquet"]
    with VideoWriter(tmp_path / "live.mp4", fps=10) as live:  # frames at 0, 0.1 and 0.5 s
        for t in (0.0, 0.1, 0.5):
            live.write_at(np.full((48, 64, 3), int(t * 400), np.uint8), t)
    with VideoFileSource(tmp_path / "live.mp4") as back:
        levels = [int(f.image.mean().round()) for f in back]
    assert len(levels) == 6 and levels[2:5] == [levels[1]] * 3 and levels[5] > levels[1]  # gap filled
    (tmp_path / "live.mp4").unlink()
    write_image(tmp_path / "img.png", np.zeros((4, 4, 3), np.uint8))
    assert cv2.imread(str(tmp_path / "img.png")).shape == (4, 4, 3)


# --- evaluate ---------------------------------------------------------------------------

def _eval_folder(tmp_path):
    root = tmp_path / "eval"
    for cls in ("happy", "surprise", "neutral"):
        (root / cls).mkdir(parents=True)
        for f in fer_files(cls, 10):
            (root / cls / f.name).write_bytes(f.read_bytes())
    return root


def test_real_model_recognises_clear_expressions_through_the_whole_pipeline(tmp_path):
    """Far above chance (1/7) on real happy and surprised faces, found by YuNet: catches any
    preprocessing bug (channel order, normalisation, crop) that a shape check cannot."""
    root = tmp_path / "clear"
    for cls in ("happy", "surprise"):
        (root / cls).mkdir(parents=True)
        for f in fer_files(cls, 20):
            (root / cls / f.name).write_bytes(f.read_bytes())
    report = evaluate(root, "realtime", detect=True, progress=False).to_dict()
    assert report["per_class"]["happy"]["recall"] >= 0.6
    assert report["per_class"]["surprise"]["recall"] >= 0.6


def test_evaluate_counts_every_image(tmp_path):
    root = _eval_folder(tmp_path)
    report = evaluate(root, "realtime", progress=False).to_dict()
    assert report["n"] == 30 and report["classes"] == list(EMOTIONS)
    conf = np.array(report["confusion"])
    assert conf.shape == (7, 7) and conf.sum() == 30 and conf.sum(axis=1).tolist() == [0, 0, 0, 10, 10, 0, 10]
    assert report["accuracy"] == pytest.approx(np.trace(conf) / 30, abs=1e-4)
    assert report["per_class"]["happy"]["n"] == 10 and report["per_class"]["angry"]["n"] == 0
    json.dumps(report)
    detected = evaluate(root, "realtime", detect=True, progress=False).to_dict()
    assert detected["n"] == 30 and np.array(detected["confusion"]).sum() + detected["undetected"] == 30
    assert detected["undetected"] < 10  # YuNet finds most of these crops


def test_stream_source_reads_live_without_queueing(tmp_path):
    """A capture read as a live stream (here a local file through OpenCV's FFmpeg backend)."""
    from classmood.sources import StreamSource

    path = two_face_video(tmp_path / "live.mp4", n=40)
    with StreamSource(str(path)) as live:
        assert live.live
        seen = []
        for frame in live:
            seen.append(frame.index)
            time.sleep(0.01)
        dropped = live.dropped
    assert seen == list(range(len(seen))) and 1 <= len(seen) <= 40
    assert len(seen) + dropped == 40  # every frame was either analysed or dropped, none queued twice


def test_bundled_sample_video_faces_are_found():
    """The shipped sample class: YuNet must find the students the sample's truth file lists."""
    from classmood.assets import SAMPLE_TRUTH, SAMPLE_VIDEO

    if not SAMPLE_VIDEO.is_file():
        pytest.skip("bundled sample video not present")
    truth = json.loads(SAMPLE_TRUTH.read_text())["frames"]
    found = expected = 0
    with open_source(str(SAMPLE_VIDEO), every=30) as src:
        pipe = Pipeline()
        for result in pipe.run(src):
            boxes = result.detections.boxes
            for _student, *box in truth[result.frame.index]:
                expected += 1
                found += any(box_iou(box, b) > 0.3 for b in boxes)
            assert np.allclose(result.detections.probabilities.sum(axis=1), 1, atol=1e-4)
    assert expected > 0 and found / expected >= 0.9


class ScaleRecordingYuNet(YuNetDetector):
    """The real detector, noting the scale of every search it runs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scales: list[float] = []

    def detect_at(self, image, scale):
        self.scales.append(scale)
        return super().detect_at(image, scale)


def test_video_detection_follows_face_size_without_losing_faces(tmp_path, classifier):
    """A close-up face is searched at a smaller scale; a small face joining is still found."""
    frames = []
    for k in range(18):
        faces = [("happy", 0, (40 + 2 * k, 60), 320)]
        if k >= 6:
            faces.append(("surprise", 0, (480, 300), 90))  # a small second face joins at frame 6
        frames.append(scene(faces=tuple(faces))[0])
    path = write_video(tmp_path / "closeup.mp4", frames, fps=10)

    follow = ScaleRecordingYuNet(full_every=4)
    with VideoFileSource(path) as src:
        followed = list(Pipeline(follow, classifier).run(src))
    plain = YuNetDetector(follow_face_size=False)
    with VideoFileSource(path) as src:
        reference = list(Pipeline(plain, classifier).run(src))

    full = follow.scale_for(640, 480)
    assert sum(s < full for s in follow.scales) >= 8  # most frames took the cheap path
    assert [len(r.detections) for r in followed[:6]] == [1] * 6
    assert all(len(r.detections) == 2 for r in followed[6 + 4:])  # found within full_every frames
    for a, b in zip(followed, reference, strict=True):
        for box in a.detections.boxes:
            assert max(box_iou(box, other) for other in b.detections.boxes) > 0.6
    assert follow._stream is None  # the state ends with the source: photos are searched at full scale
