"""Running trained models: rebuilding one from its checkpoint, logits, mirror-averaged (flip TTA)
probabilities, and the probabilities of an ONNX teacher on a set of faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from classmood.train.architectures import create_model
from classmood.train.augment import normalize
from classmood.train.checkpoint import read_model_checkpoint


def load_checkpoint_model(path: str | Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """Rebuild the model stored in a checkpoint (``arch`` + weights), in eval mode."""
    ckpt = read_model_checkpoint(path)
    model = create_model(ckpt["arch"])
    model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    return model.to(device).eval()


@torch.no_grad()
def predict_logits(model, images: torch.Tensor, batch_size: int = 512, bf16: bool = True) -> torch.Tensor:
    """Logits for uint8 faces ``(N, H, W)``."""
    model.eval()
    out = []
    for start in range(0, images.shape[0], batch_size):
        x = normalize(images[start:start + batch_size])
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            out.append(model(x).float())
    return torch.cat(out)


def flip_probabilities(model, images: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """Mean softmax over uint8 faces ``(N, H, W)`` and their mirror images (flip TTA)."""
    plain = predict_logits(model, images, bf16=bf16).softmax(1)
    mirror = predict_logits(model, images.flip(2), bf16=bf16).softmax(1)
    return (plain + mirror) / 2


def load_teacher_probs(path: str | Path, n: int, device: torch.device, keep: np.ndarray | None = None) -> torch.Tensor:
    """Precomputed teacher probabilities ``(n, 7)``, one row per training face in load order; rows of the
    whole split are cut to the faces a ``limit_per_class`` run keeps (``keep``)."""
    probs = np.load(path).astype(np.float32)
    if keep is not None and probs.shape[0] > n:
        probs = probs[keep]
    if probs.ndim != 2 or probs.shape[0] != n:
        raise ValueError(f"teacher_probs {path} has shape {probs.shape}, expected ({n}, classes)")
    return torch.from_numpy(probs / probs.sum(1, keepdims=True)).to(device)


def teacher_probabilities(model: str, faces: np.ndarray, batch: int = 256) -> np.ndarray:
    """Probabilities ``(N, 7)`` of an ONNX emotion model (path or bundled name) on uint8 faces ``(N, S, S)``."""
    import cv2

    from classmood.classify.onnx_classifier import EmotionClassifier

    classifier = EmotionClassifier(model)
    size = classifier.size
    out = []
    for start in tqdm(range(0, len(faces), batch), desc=f"teacher {Path(model).stem}", leave=False, disable=None):
        chunk = faces[start:start + batch]
        if chunk.shape[1:] != (size, size):
            chunk = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in chunk])
        out.append(classifier.predict_crops(chunk))
    return np.concatenate(out).astype(np.float32)
