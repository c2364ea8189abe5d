"""A stream runs one mirror view of each face a frame and still gives the model's two-view estimate."""

from __future__ import annotations

import cv2
import numpy as np

from classmood.classify import EmotionClassifier, resolve_model
from classmood.classify.onnx_classifier import cpu_session
from classmood.detect import WholeImageDetector
from classmood.pipeline import Pipeline
from classmood.types import Detections, Frame
from fixtures.media import fer_face

CLASSES = ("happy", "surprise", "sad")


def faces(size: int, shift: float = 0.0) -> Detections:
    """Three real faces side by side, 100 px apart (``shift`` moves every box right)."""
    crops = np.stack([cv2.resize(cv2.cvtColor(fer_face(c, 3), cv2.COLOR_BGR2GRAY), (size, size)) for c in CLASSES])
    boxes = np.array([[100 * i + shift, 50, 80, 80] for i in range(len(CLASSES))], np.float32)
    return Detections(boxes, np.ones(len(CLASSES), np.float32), None, crops=crops)


def one_view(classifier: EmotionClassifier, crops: np.ndarray) -> np.ndarray:
    """The twin model on exactly these crops."""
    return classifier._infer(cpu_session(classifier.info.one_view_path), np.ascontiguousarray(crops))


def test_the_realtime_models_twin_averaged_over_both_views_is_the_model():
    classifier = EmotionClassifier("realtime")
    assert classifier.info.one_view_path == resolve_model("realtime").path.with_name("realtime.one_view.onnx")
    crops = faces(classifier.size).crops
    both = (one_view(classifier, crops) + one_view(classifier, crops[:, :, ::-1])) / 2
    assert np.allclose(both, classifier.predict_crops(crops), atol=1e-5)


def test_a_stream_runs_one_view_a_frame_and_a_still_face_gets_the_two_view_estimate():
    classifier = EmotionClassifier("realtime")
    still = faces(classifier.size)
    two_views = classifier.predict_crops(still.crops)
    classifier.reset(continuous=True)

    first = classifier.classify_crops(still).probabilities
    assert np.allclose(first, one_view(classifier, still.crops), atol=1e-6)  # only the faces as they are
    assert not np.allclose(first, two_views, atol=1e-3)
    second = classifier.classify_crops(still).probabilities  # mirrored, averaged with the first frame's view
    assert np.allclose(second, two_views, atol=1e-5)

    moved = classifier.classify_crops(faces(classifier.size, shift=60)).probabilities  # IoU 0.14: new faces
    assert np.allclose(moved, first, atol=1e-6)  # its own (unmirrored) view only
    assert classifier.classify_crops(still.with_(boxes=still.boxes[:0], scores=still.scores[:0],
                                                 crops=still.crops[:0])).probabilities.shape == (0, 7)
    after_gap = classifier.classify_crops(still).probabilities  # nobody in between: nothing to pair with
    assert np.allclose(after_gap, one_view(classifier, still.crops[:, :, ::-1]), atol=1e-6)

    classifier.reset(continuous=False)  # unrelated pictures: both views every time
    assert np.allclose(classifier.classify_crops(still).probabilities, two_views, atol=1e-6)


class _Clip(list):
    continuous = True


def test_the_pipeline_turns_it_on_for_a_continuous_source_only():
    pipeline = Pipeline(WholeImageDetector(), EmotionClassifier("realtime"), follow=False)
    image = cv2.resize(fer_face("happy", 5), (96, 96))
    photo = pipeline.process(Frame(image, 0, 0.0)).detections.probabilities
    frames = [Frame(image, i, i / 10) for i in range(3)]
    streamed = [r.detections.probabilities for r in pipeline.run(_Clip(frames))]
    assert not np.allclose(streamed[0], photo, atol=1e-3)  # one view on the first frame
    assert np.allclose(streamed[1], photo, atol=1e-5) and np.allclose(streamed[2], photo, atol=1e-5)
    assert [np.allclose(r.detections.probabilities, photo, atol=1e-6) for r in pipeline.run(frames)] == [True] * 3
