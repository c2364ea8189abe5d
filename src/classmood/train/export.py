"""Export trained models (one, or an ensemble) to ONNX with their metadata.

The graph takes normalised ``(N, 1, S, S)`` float32 faces and returns ``(N, 7)``
probabilities: softmax, the mean over ensemble members and, optionally, over the image
and its mirror (flip test-time augmentation) all happen inside the graph.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from classmood.emotions import EMOTIONS
from classmood.train.architectures import count_parameters
from classmood.train.augment import MEAN, STD, TEST_VIEWS, view_theta


class Probabilities(nn.Module):
    """Mean softmax of ``members`` over the input and its extra test-time ``views`` (names in
    ``TEST_VIEWS``: shifted, scaled, rotated), each also mirrored when ``flip``."""

    def __init__(self, members: list[nn.Module], flip: bool, views: tuple[str, ...] = (), image_size: int = 48):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.flip = flip
        unknown = sorted({v for v in views if v not in TEST_VIEWS or v == "id"})  # "id" is always there
        if unknown:
            raise ValueError(f"unknown test-time view(s): {', '.join(unknown)} (choose from {', '.join(list(TEST_VIEWS)[1:])})")
        thetas = [view_theta(**TEST_VIEWS[v]) for v in views]
        grids = [F.affine_grid(t, [1, 1, image_size, image_size], align_corners=False) for t in thetas]
        self.n_views = len(grids)
        self.register_buffer("grids", torch.cat(grids) if grids else torch.zeros(0, image_size, image_size, 2))

    def forward(self, x):
        views = [x] + [F.grid_sample(x, self.grids[i:i + 1].expand(x.shape[0], -1, -1, -1), mode="bilinear",
                                     padding_mode="border", align_corners=False) for i in range(self.n_views)]
        if self.flip:
            views += [torch.flip(v, dims=[3]) for v in views]
        probs = [m(v).softmax(dim=1) for m in self.members for v in views]
        return torch.stack(probs).mean(dim=0)


def export_onnx(
    members: list[nn.Module],
    path: str | Path,
    *,
    name: str,
    flip: bool = False,
    views: tuple[str, ...] = (),
    image_size: int = 48,
    metadata: dict | None = None,
    check: bool = True,
) -> dict:
    """Write ``path`` (.onnx) and its ``.json`` metadata; return the metadata.

    With ``check``, ONNX Runtime and torch must agree on random inputs (max abs diff 1e-4).
    """
    path = Path(path)
    wrapper = Probabilities([m.float().eval() for m in members], flip, tuple(views), image_size).eval()
    example = torch.randn(2, 1, image_size, image_size)
    buffer = io.BytesIO()
    torch.onnx.export(
        wrapper, example, buffer, input_names=["faces"], output_names=["probabilities"],
        dynamic_axes={"faces": {0: "batch"}, "probabilities": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    tmp = path.with_suffix(".onnx.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(buffer.getvalue())
    if check:
        max_diff = compare_with_torch(wrapper, tmp, image_size)
        if max_diff > 1e-4:
            tmp.unlink()
            raise RuntimeError(f"ONNX Runtime and torch disagree by {max_diff:.2e}")
    tmp.replace(path)
    meta = {
        "name": name,
        "version": "1",
        "classes": list(EMOTIONS),
        "input_size": image_size,
        "mean": MEAN,
        "std": STD,
        "flip_tta": flip,
        "tta_views": ["id", *views],
        "members": len(members),
        "params": sum(count_parameters(m) for m in members),
        **(metadata or {}),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta


def compare_with_torch(model: nn.Module, onnx_path: str | Path, image_size: int = 48, n: int = 8, seed: int = 0) -> float:
    """Largest absolute difference between torch and ONNX Runtime outputs on random faces."""
    import onnxruntime as ort

    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(n, 1, image_size, image_size)).astype(np.float32))
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    return float(np.abs(expected - got).max())
