"""The Pipeline and the ``classmood.analyze`` call on real faces and the real bundled ONNX model:
stage timings, annotation, the face limit, and arrays, paths and gray images as input."""

from __future__ import annotations

import cv2
import numpy as np

import classmood
from classmood.emotions import EMOTIONS
from classmood.pipeline import Pipeline
from classmood.types import Frame
from fixtures.faces import box_iou
from fixtures.media import scene


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
