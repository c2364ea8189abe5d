"""Benchmark scoring: accuracy per class, IoU matching, recall/precision, speed figures."""

import math

import numpy as np
import pytest

from benchmarks.metrics import (accuracy_report, detection_report, iou_matrix, match_counts, speed_report,
                                stage_means_ms)
from classmood.emotions import EMOTIONS


def one_hot(indices):
    out = np.zeros((len(indices), len(EMOTIONS)))
    out[np.arange(len(indices)), indices] = 1.0
    return out


def test_accuracy_overall_per_class_and_confusion():
    labels = np.array([0, 0, 3, 3, 6])
    predicted = np.array([0, 3, 3, 3, 5])
    rep = accuracy_report(one_hot(predicted), labels)
    assert rep.accuracy == pytest.approx(3 / 5)
    assert rep.per_class == {"angry": 0.5, "happy": 1.0, "surprise": 0.0}
    assert rep.macro_recall == pytest.approx(0.5)
    assert rep.confusion[0][3] == 1 and rep.confusion[6][5] == 1 and rep.n == 5


def test_accuracy_counts_missing_answers_as_wrong():
    probs = one_hot([0, 1])
    probs[1] = np.nan
    rep = accuracy_report(probs, np.array([0, 1]))
    assert rep.accuracy == 0.5 and sum(map(sum, rep.confusion)) == 1


def test_accuracy_rejects_wrong_shape():
    with pytest.raises(ValueError):
        accuracy_report(np.zeros((3, 5)), np.array([0, 1, 2]))


def test_iou_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])


def test_matching_is_one_to_one_and_uses_threshold():
    truth = np.array([[0, 0, 10, 10], [100, 100, 10, 10]])
    found = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [300, 300, 5, 5]])  # a duplicate and a stray box
    assert match_counts(found, truth, 0.5) == (1, 2, 1)
    assert match_counts(np.zeros((0, 4)), truth) == (0, 0, 2)
    assert match_counts(found, np.zeros((0, 4))) == (0, 3, 0)


def test_detection_report_sums_images():
    rep = detection_report([[[0, 0, 10, 10]], []], [[[0, 0, 10, 10]], [[5, 5, 5, 5]]])
    assert (rep.true_positives, rep.false_positives, rep.false_negatives) == (1, 0, 1)
    assert rep.recall == 0.5 and rep.precision == 1.0
    empty = detection_report([[]], [[]])
    assert math.isnan(empty.recall) and math.isnan(empty.precision)
    with pytest.raises(ValueError):
        detection_report([[]], [])


def test_speed_report():
    rep = speed_report([0.1, 0.1, 0.2, 0.2])
    assert rep.fps == pytest.approx(4 / 0.6)
    assert rep.median_ms == pytest.approx(150) and rep.frames == 4
    assert 190 <= rep.p95_ms <= 200
    with pytest.raises(ValueError):
        speed_report([])


def test_stage_means():
    means = stage_means_ms([{"detect": 0.01, "classify": 0.002}, {"detect": 0.03}])
    assert means == {"classify": pytest.approx(1.0), "detect": pytest.approx(20.0)}


def test_detections_in_ignore_regions_are_not_false_alarms():
    truth = np.array([[0, 0, 10, 10]])
    found = np.array([[0, 0, 10, 10], [50, 50, 8, 8], [200, 200, 10, 10]])
    ignore = np.array([[45, 45, 20, 20]])  # e.g. a face on a poster
    assert match_counts(found, truth, 0.5, ignore) == (1, 1, 0)
    rep = detection_report([found], [truth], 0.5, ignore=[ignore])
    assert rep.false_positives == 1 and rep.precision == 0.5
