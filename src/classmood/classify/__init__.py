"""Emotion classification on ONNX Runtime and the registry of bundled models."""

from __future__ import annotations

from classmood.classify.crop import crop_face, crop_faces, square_box
from classmood.classify.onnx_classifier import EmotionClassifier
from classmood.classify.registry import (
    DEFAULT_MODEL,
    ModelInfo,
    list_models,
    resolve_model,
)

__all__ = [
    "DEFAULT_MODEL", "EmotionClassifier", "ModelInfo", "crop_face", "crop_faces", "list_models",
    "resolve_model", "square_box",
]
