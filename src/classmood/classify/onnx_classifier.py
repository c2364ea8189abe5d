"""Emotion classifier on ONNX Runtime: one batched call for all faces of a frame."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classmood.classify.crop import DEFAULT_MARGIN, crop_faces
from classmood.classify.mirror_over_time import MirrorOverTime
from classmood.classify.registry import DEFAULT_MODEL, ModelInfo, resolve_model
from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError
from classmood.types import Detections


def default_threads() -> int:
    """Threads for ONNX Runtime: the CPUs this process may use (2 on the target laptop)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS / Windows
        return max(1, os.cpu_count() or 1)


def cpu_session(path: Path | str, threads: int | None = None):
    """An ONNX Runtime CPU session that shares 2 cores politely: ``threads`` (default: the CPUs this
    process may use) intra-op threads that sleep instead of spinning; a load failure is a
    ``ClassmoodError`` naming ``path``."""
    import onnxruntime as ort

    ort.disable_telemetry_events()  # also when onnxruntime was imported before classmood
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # no spinning threads: on 2 cores they would steal time from the other model and the sources
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - corrupt or incompatible ONNX file
        raise ClassmoodError(f"{path}: cannot load model ({str(exc).splitlines()[0]})") from None


class EmotionClassifier:
    """Loads a bundled model by name (or an ``.onnx`` path) and classifies face crops."""

    def __init__(self, model: str | Path | ModelInfo = DEFAULT_MODEL, *, threads: int | None = None,
                 margin: float = DEFAULT_MARGIN, flip: bool = False) -> None:
        """``flip`` averages each face with its mirror image outside the model (test-time
        augmentation, twice the inference work), to measure it on models that lack it; a model
        whose metadata says ``flip_tta`` already does this inside its graph."""
        self.info = model if isinstance(model, ModelInfo) else resolve_model(model)
        self.margin = margin
        self.flip = bool(flip)
        self.session = cpu_session(self.info.path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.size = self.info.input_size
        self._scale = np.float32(1.0 / (255.0 * self.info.std))
        self._shift = np.float32(self.info.mean / self.info.std)
        self._threads = threads
        self._one_view = None  # the model's one-view twin, loaded for the first stream
        self._over_time: MirrorOverTime | None = None

    def reset(self, continuous: bool = False) -> None:
        """A new source starts. On a continuous one (consecutive frames of a video or live feed) a
        model with a one-view twin spreads its mirror-image average over two frames
        (``MirrorOverTime``: half the work); otherwise every frame runs both views."""
        self._over_time = None
        if continuous and self.info.one_view_path is not None:
            if self._one_view is None:
                self._one_view = cpu_session(self.info.one_view_path, self._threads)
            self._over_time = MirrorOverTime(lambda crops: self._infer(self._one_view, crops))

    @property
    def name(self) -> str:
        return self.info.name

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """uint8 ``(N, H, W)`` crops -> normalised float32 ``(N, 1, H, W)``."""
        x = crops.astype(np.float32)[:, None, :, :]
        x *= self._scale
        x -= self._shift
        return x

    def predict_crops(self, crops: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, 7)`` in ``EMOTIONS`` order for uint8 ``(N, size, size)`` crops."""
        if len(crops) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        if crops.shape[1:] != (self.size, self.size):
            raise ValueError(f"crops must be {self.size}x{self.size}, got {crops.shape[1:]}")
        batch = np.concatenate([crops, crops[:, :, ::-1]]) if self.flip else crops
        probs = self._infer(self.session, batch)
        if self.flip:
            probs = (probs[: len(crops)] + probs[len(crops):]) / 2
        return probs

    def _infer(self, session, crops: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, 7)``, each row summing to 1, of ``session`` on uint8 crops."""
        (probs,) = session.run(None, {self.input_name: self.preprocess(crops)})
        probs = np.asarray(probs, np.float32).reshape(len(crops), -1)
        if probs.shape[1] != len(EMOTIONS):
            raise ClassmoodError(f"{self.info.path}: model gives {probs.shape[1]} outputs, expected {len(EMOTIONS)}")
        probs = np.clip(probs, 0.0, None)
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)

    def crop(self, image: np.ndarray, detections: Detections) -> Detections:
        """``detections`` with ``crops`` filled: each face as this model sees it (no inference yet)."""
        return detections.with_(crops=crop_faces(image, detections.boxes, self.size, self.margin))

    def classify_crops(self, detections: Detections) -> Detections:
        """``detections`` (with ``crops``) with ``probabilities`` filled, from one batched inference
        call (on a stream after ``reset(True)``: one view a frame, see ``MirrorOverTime``)."""
        if self._over_time is not None:
            probabilities = self._over_time.predict(detections.crops, detections.boxes)
        else:
            probabilities = self.predict_crops(detections.crops)
        return detections.with_(probabilities=probabilities.astype(np.float32, copy=False))

    def classify(self, image: np.ndarray, detections: Detections) -> Detections:
        """``detections`` with ``crops`` and ``probabilities`` filled."""
        return self.classify_crops(self.crop(image, detections))
