"""The one-view twin of a model whose graph averages each face with its mirror image.

A live stream can run the mirror test-time augmentation over two consecutive frames instead of
within one (``classmood.classify.mirror_over_time``): it needs the model's network on one view.
This cuts that part out of the exported graph (the same int8 weights, nothing re-trained) and writes
it beside the model as ``<name>.one_view.onnx``, named in the model's JSON as ``one_view_model``.

    python -m classmood.train.one_view src/classmood/models/realtime.onnx
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

INPUT = "faces"
OUTPUT = "probabilities"


def first_view_output(model) -> str:
    """The output of the softmax that reads the unflipped view (the first one of the mean)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    mean = producers[OUTPUT]
    if mean.op_type != "ReduceMean":
        raise ValueError(f"{OUTPUT} is not a mean of views (made by {mean.op_type}): no mirror image to take out")
    concat = producers[mean.input[0]]
    first = producers[concat.input[0]]
    while first.op_type != "Softmax":  # Unsqueeze before the Concat
        first = producers[first.input[0]]
    return first.output[0]


def write_one_view(model_path: Path | str) -> Path:
    """Write ``<name>.one_view.onnx`` beside ``model_path`` and name it in ``<name>.json``."""
    import onnx
    import onnx.utils

    model_path = Path(model_path)
    out = model_path.with_name(f"{model_path.stem}.one_view.onnx")
    view = first_view_output(onnx.load(str(model_path)))
    onnx.utils.extract_model(str(model_path), str(out), [INPUT], [view])
    one = onnx.load(str(out))
    for node in one.graph.node:  # the same output name as the full model
        node.output[:] = [OUTPUT if name == view else name for name in node.output]
    one.graph.output[0].name = OUTPUT
    onnx.save(one, str(out))
    _check(model_path, out)
    meta_path = model_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["one_view_model"] = out.name
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return out


def _check(model_path: Path, one_view_path: Path) -> None:
    """The twin on a face and on its mirror image, averaged, must give the model's output."""
    import onnxruntime as ort

    faces = np.random.default_rng(0).normal(0, 1, (8, 1, 48, 48)).astype(np.float32)
    full = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    one = ort.InferenceSession(str(one_view_path), providers=["CPUExecutionProvider"])
    size = full.get_inputs()[0].shape[-1]
    faces = faces[..., :size, :size] if isinstance(size, int) else faces
    both = (one.run(None, {INPUT: faces})[0] + one.run(None, {INPUT: faces[..., ::-1].copy()})[0]) / 2
    diff = float(np.abs(both - full.run(None, {INPUT: faces})[0]).max())
    if diff > 1e-5:
        one_view_path.unlink()
        raise ValueError(f"{one_view_path.name}: the two views averaged differ from the model by {diff:.2e}")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(f"wrote {write_one_view(argument)}")
