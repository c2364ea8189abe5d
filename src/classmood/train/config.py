"""Training configuration: one dataclass, read from YAML/JSON and saved beside the run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml


@dataclass
class TrainConfig:
    """Every choice of a training run. Unknown keys in a config file are an error."""

    arch: str = "vgg7_w32"  # the network of the shipped realtime model
    out_dir: str = "runs/vgg7_w32"
    train_data: str = "../shared/datasets/fer2013/train"
    val_data: str = "../shared/datasets/fer2013/publictest"
    train_split: str | None = None  # split names when the data are a packed cache file
    val_split: str | None = None
    limit_per_class: int | None = None  # smoke runs: at most this many faces per class
    image_size: int = 48
    epochs: int = 60
    time_budget_s: float | None = None  # when set, the schedule runs over this many seconds
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_frac: float = 0.03
    label_smoothing: float = 0.1
    augment: dict = field(default_factory=dict)  # overrides of AugmentConfig
    teachers: list[str] = field(default_factory=list)  # checkpoint paths for distillation
    teacher_model: str | None = None  # ONNX model (path or bundled name): targets computed once, ~3x cheaper
    teacher_probs: str | None = None  # .npy (N, 7) teacher probabilities in training-set order (precomputed targets)
    teacher_views: int = 0  # with teachers: their targets on this many augmented views per face kept and replayed
    distill_alpha: float = 0.7
    distill_temperature: float = 3.0
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    threads: int | None = None
    imagenet_checkpoint: str | None = None  # resnet50 only: user-supplied weights
    init_checkpoint: str | None = None  # start from these weights (warm restart), not from scratch
    swa_start: float | None = None  # from this fraction of the schedule: lr held at swa_lr, weights averaged per epoch
    swa_lr: float = 0.002
    bn_faces: int = 8000  # clean training faces (+ mirrors) that re-measure batch norm of best_bn.pt / swa.pt
    qat_observe_steps: int | None = None  # quantisation-aware fine-tune (qat.py): int8 ranges observed this many steps, then frozen

    def __post_init__(self):
        if self.qat_observe_steps is not None and self.swa_start is not None:
            raise ValueError("qat_observe_steps and swa_start do not go together: an average of int8-rounded weights is not int8-rounded")

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> TrainConfig:
        text = Path(path).read_text()
        is_yaml = str(path).endswith((".yml", ".yaml"))
        try:
            data = yaml.safe_load(text) if is_yaml else json.loads(text)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not valid {'YAML' if is_yaml else 'JSON'}: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):  # an empty file would silently train every default
            raise ValueError(f"{path} holds no settings (expected 'key: value' lines)")
        return cls.from_dict({**data, **{k: v for k, v in overrides.items() if v is not None}})

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
