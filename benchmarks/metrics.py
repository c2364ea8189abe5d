"""Scores: emotion accuracy per class, detection recall/precision by IoU matching, speed figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from classmood.emotions import EMOTIONS

#: A found box counts as a true face when its IoU with a true box reaches this (PASCAL VOC's 0.5
#: is strict for 48x48 FER crops whose framing differs from every detector's; both systems are
#: scored with the same value).
IOU_THRESHOLD = 0.4


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    accuracy: float
    per_class: dict[str, float]  # recall of each true class
    macro_recall: float
    confusion: list[list[int]]  # rows: true class, columns: predicted class (EMOTIONS order)
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def accuracy_report(probabilities: np.ndarray, labels: np.ndarray) -> AccuracyReport:
    """Accuracy of argmax predictions; a row with NaN (no answer) counts as wrong."""
    probs = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    if probs.shape != (len(labels), len(EMOTIONS)):
        raise ValueError(f"expected probabilities of shape ({len(labels)}, {len(EMOTIONS)}), got {probs.shape}")
    answered = ~np.isnan(probs).any(axis=1)
    predicted = np.where(answered, np.nan_to_num(probs, nan=-1.0).argmax(axis=1), -1)
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
    for t, p in zip(labels, predicted):
        if p >= 0:
            confusion[t, p] += 1
    correct = predicted == labels
    per_class = {}
    for k, name in enumerate(EMOTIONS):
        mask = labels == k
        if mask.any():
            per_class[name] = float(correct[mask].mean())
    return AccuracyReport(
        accuracy=float(correct.mean()) if len(labels) else float("nan"),
        per_class=per_class,
        macro_recall=float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        confusion=confusion.tolist(),
        n=len(labels),
    )


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(N, 4)`` and ``(M, 4)`` x, y, w, h boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def inside_fraction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise share of each ``a`` box's area that lies inside each ``b`` box."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return iw * ih / np.maximum((a[:, 2] * a[:, 3])[:, None], 1e-12)


def match_counts(found: np.ndarray, truth: np.ndarray, threshold: float = IOU_THRESHOLD,
                 ignore: np.ndarray | None = None) -> tuple[int, int, int]:
    """Greedy one-to-one matching by IoU (highest first): ``(true_pos, false_pos, false_neg)``.

    An unmatched found box lying at least half inside an ``ignore`` region (faces too small,
    dark or only pictured, as annotated) is neither a hit nor a false alarm.
    """
    found = np.asarray(found, np.float64).reshape(-1, 4)
    truth = np.asarray(truth, np.float64).reshape(-1, 4)
    iou = iou_matrix(found, truth)
    matched_found: set[int] = set()
    matched_truth: set[int] = set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < threshold:
            break
        if i not in matched_found and j not in matched_truth:
            matched_found.add(i)
            matched_truth.add(j)
    tp = len(matched_found)
    unmatched = [i for i in range(len(found)) if i not in matched_found]
    fp = len(unmatched)
    if ignore is not None and len(ignore) and unmatched:
        fp -= int((inside_fraction(found[unmatched], ignore).max(axis=1) >= 0.5).sum())
    return tp, fp, len(truth) - tp


@dataclass(frozen=True, slots=True)
class DetectionReport:
    recall: float
    precision: float
    true_positives: int
    false_positives: int
    false_negatives: int
    iou_threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


def detection_report(found: list, truth: list, threshold: float = IOU_THRESHOLD,
                     ignore: list | None = None) -> DetectionReport:
    """Recall and precision over a set of images (lists of per-image box arrays)."""
    if len(found) != len(truth) or (ignore is not None and len(ignore) != len(truth)):
        raise ValueError(f"{len(found)} detection lists for {len(truth)} images")
    tp = fp = fn = 0
    for i, (f, t) in enumerate(zip(found, truth)):
        skip = None if ignore is None else np.asarray(ignore[i])
        a, b, c = match_counts(np.asarray(f), np.asarray(t), threshold, skip)
        tp, fp, fn = tp + a, fp + b, fn + c
    recall = tp / (tp + fn) if tp + fn else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return DetectionReport(recall, precision, tp, fp, fn, threshold)


@dataclass(frozen=True, slots=True)
class SpeedReport:
    fps: float  # frames processed per second of processing time
    mean_ms: float
    median_ms: float
    p95_ms: float
    frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def speed_report(latencies_s: list[float]) -> SpeedReport:
    """Throughput and latency figures from per-frame latencies in seconds."""
    lat = np.asarray(latencies_s, np.float64)
    if lat.size == 0 or (lat <= 0).any():
        raise ValueError("speed needs at least one positive latency")
    return SpeedReport(
        fps=float(lat.size / lat.sum()),
        mean_ms=float(lat.mean() * 1e3),
        median_ms=float(np.median(lat) * 1e3),
        p95_ms=float(np.percentile(lat, 95) * 1e3),
        frames=int(lat.size),
    )


def stage_means_ms(stage_times: list[dict[str, float]]) -> dict[str, float]:
    """Mean milliseconds per frame of each pipeline stage."""
    names = sorted({k for row in stage_times for k in row})
    return {k: float(np.mean([row.get(k, 0.0) for row in stage_times]) * 1e3) for k in names}
