"""Bundled emotion models: find them by name, read their JSON metadata, list them.

A model is ``<name>.onnx`` plus ``<name>.json`` in ``classmood/models/`` (or in the
folder named by ``$CLASSMOOD_MODELS_DIR``, searched first). Any ``.onnx`` path with
a ``.json`` beside it works too, so new models can be measured before they ship.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError

DEFAULT_MODEL = "realtime"
REQUIRED_KEYS = ("name", "classes", "input_size", "mean", "std")


def model_dirs() -> list[Path]:
    """Folders searched for models, first match wins."""
    dirs = []
    if os.environ.get("CLASSMOOD_MODELS_DIR"):
        dirs.append(Path(os.environ["CLASSMOOD_MODELS_DIR"]))
    dirs.append(Path(__file__).resolve().parent.parent / "models")
    return dirs


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Metadata of one ONNX emotion model (the ``<name>.json`` beside it)."""

    name: str
    path: Path
    classes: tuple[str, ...]
    input_size: int
    mean: float
    std: float
    version: str = ""
    architecture: str = ""
    params: int | None = None
    publictest_accuracy: float | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    @property
    def one_view_path(self) -> Path | None:
        """The twin that runs one view of a face, for a model that averages each face with its
        mirror image inside its graph (``one_view_model`` in the JSON); None when it has none."""
        name = self.extra.get("one_view_model")
        path = self.path.with_name(str(name)) if name else None
        return path if path is not None and path.is_file() else None

    @classmethod
    def from_json(cls, onnx_path: Path) -> ModelInfo:
        meta_path = onnx_path.with_suffix(".json")
        if not meta_path.is_file():
            raise ClassmoodError(f"{onnx_path}: missing metadata file {meta_path.name}")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ClassmoodError(f"{meta_path}: unreadable model metadata ({exc})") from None
        missing = [k for k in REQUIRED_KEYS if k not in meta]
        if missing:
            raise ClassmoodError(f"{meta_path}: metadata lacks {', '.join(missing)}")
        classes = tuple(meta["classes"])
        if classes != EMOTIONS:
            raise ClassmoodError(f"{meta_path}: classes {list(classes)} differ from {list(EMOTIONS)}")
        known = {f for f in cls.__dataclass_fields__ if f not in ("path", "extra")}
        return cls(
            name=str(meta["name"]),
            path=onnx_path,
            classes=classes,
            input_size=int(meta["input_size"]),
            mean=float(_scalar(meta["mean"])),
            std=float(_scalar(meta["std"])),
            version=str(meta.get("version", "")),
            architecture=str(meta.get("architecture", "")),
            params=meta.get("params"),
            publictest_accuracy=meta.get("publictest_accuracy"),
            description=str(meta.get("description", "")),
            extra={k: v for k, v in meta.items() if k not in known},
        )


def _scalar(value) -> float:
    """Grayscale models have one mean/std; accept ``0.5`` or ``[0.5]``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ClassmoodError(f"expected one grayscale mean/std value, got {value}")
        return value[0]
    return value


def resolve_model(name_or_path: str | Path = DEFAULT_MODEL) -> ModelInfo:
    """Find a model by bundled name (``realtime``, ``accurate``) or by ``.onnx`` path."""
    text = str(name_or_path)
    if text.endswith(".onnx") or os.sep in text:
        path = Path(text)
        if not path.is_file():
            raise ClassmoodError(f"{path}: no such model file")
        return ModelInfo.from_json(path)
    for folder in model_dirs():
        path = folder / f"{text}.onnx"
        if path.is_file():
            return ModelInfo.from_json(path)
    available = ", ".join(m.name for m in list_models()) or "none installed"
    raise ClassmoodError(f"unknown model {text!r} (available: {available})")


def list_models() -> list[ModelInfo]:
    """All models found, bundled ones included, sorted by name; a name appears once."""
    found: dict[str, ModelInfo] = {}
    for folder in model_dirs():
        for path in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
            if path.stem not in found and "." not in path.stem:  # not a model's one-view twin
                try:
                    found[path.stem] = ModelInfo.from_json(path)
                except ClassmoodError:
                    continue
    return [found[k] for k in sorted(found)]
