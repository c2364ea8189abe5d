"""YuNet (libfacedetection v3) on ONNX Runtime: one frame in, scored boxes and five landmarks out.

``yunet.onnx`` is libfacedetection's network with its own weights, written by
``scripts/yunet_to_onnx.py`` (see ``YUNET-PROVENANCE.md``). It takes the BGR frame as raw 0..255
values, zero-padded right and bottom to multiples of 32, and gives per-stride (8, 16, 32) class and
objectness logits, box offsets and landmark offsets. They are decoded here as libfacedetection does:
score ``sqrt(sigmoid(cls) * sigmoid(obj))``, box centre ``prior + offset * stride``, size
``exp(log_size) * stride``, then greedy NMS at IoU 0.45 over the best 1,000, the best 512 kept (libfacedetection keeps
candidates from score 0.2; filtering at a higher threshold first keeps exactly the same faces above it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MODEL_PATH = Path(__file__).with_name("yunet.onnx")
STRIDES = (8, 16, 32)
PAD_MULTIPLE = 32
NMS_IOU = 0.45
TOP_K = 1000
KEEP_TOP_K = 512


@dataclass(frozen=True, slots=True)
class RawFaces:
    """Faces in the input image's pixels (padding goes right and bottom), best first: ``boxes`` x, y, w, h
    ``(N, 4)``, ``scores`` 0..1 ``(N,)``, ``landmarks`` ``(N, 5, 2)``: the person's right eye, left eye,
    nose tip, right and left mouth corners (the person's right is the image's left)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray


def pad_to_multiple(image: np.ndarray, multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """``image`` zero-padded right and bottom so both sides are multiples of ``multiple``."""
    height, width = image.shape[:2]
    bottom, right = -height % multiple, -width % multiple
    if bottom or right:
        image = cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return np.ascontiguousarray(image)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -88.0, 88.0)))


def decode_level(outputs: dict[str, np.ndarray], stride: int, threshold: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates of one stride with score >= ``threshold``: x1, y1, x2, y2 boxes, scores, landmarks."""
    cls, obj = outputs[f"cls_{stride}"][0, 0], outputs[f"obj_{stride}"][0, 0]
    scores = np.sqrt(_sigmoid(cls) * _sigmoid(obj)).ravel()
    keep = np.flatnonzero(scores >= threshold)
    cols = cls.shape[1]
    prior = np.stack([keep % cols, keep // cols], axis=1).astype(np.float32) * stride  # x, y
    bbox = outputs[f"bbox_{stride}"][0].reshape(4, -1)[:, keep].T
    centre = bbox[:, :2] * stride + prior
    half = np.exp(bbox[:, 2:]) * stride / 2
    kps = outputs[f"kps_{stride}"][0].reshape(10, -1)[:, keep].T.reshape(-1, 5, 2)
    landmarks = kps * stride + prior[:, None, :]
    return np.concatenate([centre - half, centre + half], axis=1), scores[keep], landmarks


class YuNetOnnx:
    """Runs ``yunet.onnx`` on BGR uint8 images of any size."""

    def __init__(self, model_path: Path | str = MODEL_PATH, threads: int | None = None) -> None:
        from classmood.classify.onnx_classifier import cpu_session

        self.session = cpu_session(model_path, threads)
        self._names = [o.name for o in self.session.get_outputs()]

    def __call__(self, image: np.ndarray, threshold: float) -> RawFaces:
        """Faces scoring >= ``threshold`` in ``image`` (BGR uint8), after NMS, best first."""
        padded = pad_to_multiple(image)[None]
        outputs = dict(zip(self._names, self.session.run(self._names, {"image": padded})))
        parts = [decode_level(outputs, stride, threshold) for stride in STRIDES]
        corners = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts]).astype(np.float32)
        landmarks = np.concatenate([p[2] for p in parts]).astype(np.float32)
        boxes = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1).astype(np.float32)
        if not len(scores):
            return RawFaces(boxes, scores, landmarks)
        order = np.argsort(-scores, kind="stable")[:TOP_K]
        # already filtered by score (cv2 would keep only scores above ``threshold``, not equal to it)
        kept = cv2.dnn.NMSBoxes(boxes[order].tolist(), scores[order].tolist(), 0.0, NMS_IOU)
        kept = order[np.asarray(kept, dtype=np.int64).reshape(-1)][:KEEP_TOP_K]
        return RawFaces(boxes[kept], scores[kept], landmarks[kept])
