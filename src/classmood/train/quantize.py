"""Static int8 quantisation of an exported emotion model with ONNX Runtime (QDQ, per channel).

Calibration uses real training faces; on AVX-512 VNNI CPUs the realtime model runs about
3.5x faster for ~0.1 point of accuracy (measured in docs/models.md).

On x86 CPUs without VNNI (AVX2 only: many laptops, AMD EPYC before Zen 4) ONNX Runtime multiplies
uint8 activations by int8 weights with VPMADDUBSW, which adds two products in a saturating int16.
The convolution that reads the picture itself (one channel, bright pixels, large weights) overflows
there: the realtime model fell from 72.1% to 67.5% on such a CPU. Its weights are therefore stored
as uint8 with zero point 128 (``unsaturated_input_convs``): the same numbers, a kernel that does not
saturate, no measurable cost (that layer is a small share of the work).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from classmood.train.augment import MEAN, STD
from classmood.train.data import FaceArrays, load_image_folder


class _FaceBatches:
    """ONNX Runtime calibration reader over normalised face batches."""

    def __init__(self, faces: np.ndarray, input_name: str, batch: int = 32):
        # equal batches: the histogram calibration (percentile) stacks them into one array
        batch = max(b for b in range(1, batch + 1) if len(faces) % b == 0)
        self._batches = iter([{input_name: faces[i:i + batch]} for i in range(0, len(faces), batch)])

    def get_next(self):
        return next(self._batches, None)


# ONNX Runtime's entropy calibration is left out: quantize_static gives it as many histogram bins as
# quantized bins (128), so its only candidate range is min-max's (measured identical, scripts/int8_study.py)
CALIBRATION_METHODS = {"minmax": "MinMax", "percentile": "Percentile"}  # name -> onnxruntime CalibrationMethod


#: Layers that can stay float32 in an otherwise int8 model (they hold <2% of the realtime net's work).
KEEP_FLOAT = ("first", "head")


def check_keep_float(groups: tuple[str, ...] | list[str]) -> None:
    unknown = sorted(set(groups) - set(KEEP_FLOAT))
    if unknown:
        raise ValueError(f"unknown layer group {unknown[0]!r} to keep float; choose from {', '.join(KEEP_FLOAT)}")


def parse_keep_float(text: str) -> tuple[str, ...]:
    """Layer groups from ``"first,head"`` (``""`` or ``"none"``: none); unknown ones are refused."""
    groups = tuple(g.strip() for g in text.split(",") if g.strip() not in ("", "none"))
    check_keep_float(groups)
    return groups


def float_nodes(model, keep: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the nodes ``keep`` names: ``first``, each convolution that reads the input with no
    convolution before it (one per member and view); ``head``, the fully connected layers."""
    check_keep_float(keep)
    names = []
    before_conv = {i.name for i in model.graph.input} | {t.name for t in model.graph.initializer}
    for node in model.graph.node:  # ONNX nodes are stored in topological order
        ahead = all(name in before_conv or name == "" for name in node.input)
        if node.op_type == "Conv" and ahead and "first" in keep:
            names.append(node.name)
        elif node.op_type != "Conv" and ahead:
            before_conv.update(node.output)
        if node.op_type in ("Gemm", "MatMul") and "head" in keep:
            names.append(node.name)
    return names


def unsaturated_input_convs(model) -> list[str]:
    """Store the int8 weights of each convolution that reads the network's input as uint8 with zero
    point 128 (identical values) so that AVX2 CPUs do not saturate on it; returns their names."""
    from onnx import numpy_helper

    initializers = {t.name: t for t in model.graph.initializer}
    dequantize_of = {n.output[0]: n for n in model.graph.node if n.op_type == "DequantizeLinear"}
    first = set(float_nodes(model, ("first",)))  # a quantize-dequantize pair of the input is not a convolution
    changed = []
    for node in model.graph.node:
        if node.name not in first:
            continue
        weight = dequantize_of.get(node.input[1])
        if weight is None or weight.input[0] not in initializers or len(weight.input) < 3:
            continue
        for name in (weight.input[0], weight.input[2]):  # the values, then their zero points
            values = numpy_helper.to_array(initializers[name])
            if values.dtype == np.int8:
                initializers[name].CopyFrom(numpy_helper.from_array((values.astype(np.int16) + 128).astype(np.uint8), name))
        changed.append(node.name)
    return changed


def _chains(model) -> list[tuple[list, list]]:
    """Per path from the input through the network (one per member and test-time view): its
    convolution nodes and its fully connected nodes, in graph order."""
    chain_of: dict[str, int] = {}
    chains: list[tuple[list, list]] = []
    for node in model.graph.node:  # ONNX nodes are stored in topological order
        found = {chain_of[name] for name in node.input if name in chain_of}
        if node.op_type == "Conv" and not found:
            chains.append(([], []))
            found = {len(chains) - 1}
        if len(found) != 1:  # before the first convolution, or where paths merge (the mean of views)
            continue
        chain = found.pop()
        if node.op_type == "Conv":
            chains[chain][0].append(node)
        elif node.op_type in ("Gemm", "MatMul"):
            chains[chain][1].append(node)
        chain_of.update({name: chain for name in node.output})
    return chains


def range_overrides(model, points: list[tuple[float, int]]) -> dict[str, list[dict]]:
    """ONNX Runtime ``TensorQuantOverrides`` that give every convolution and fully connected layer's
    input and output the (scale, zero point) of a quantisation-aware run (``qat.QuantSim.points``:
    the input, each ReLU, the flattened features, each head layer's output and ReLU)."""
    overrides: dict[str, list[dict]] = {}
    for convs, linears in _chains(model):
        if len(points) != len(convs) + 1 + 2 * len(linears):
            raise ValueError(f"{len(points)} quantisation points do not fit a network of {len(convs)} "
                             f"convolutions and {len(linears)} linear layers (a VGG-style chain is expected)")
        tensors = [t for node in convs for t in (node.input[0], node.output[0])]
        tensors += [t for node in linears for t in (node.input[0], node.output[0])]
        # conv k reads point k and writes point k + 1 (its ReLU's range); linear j reads and writes the next two
        index = [k for c in range(len(convs)) for k in (c, c + 1)] + list(range(len(convs) + 1, len(points)))
        for tensor, k in zip(tensors, index):
            scale, zero_point = points[k]
            overrides[tensor] = [{"scale": np.array(scale, np.float32), "zero_point": np.array(zero_point, np.uint8)}]
    return overrides


def quantize_int8(onnx_path: str | Path, calibration: str | Path | FaceArrays, per_class: int = 40, image_size: int = 48,
                  method: str = "minmax", seed: int = 0, keep_float: tuple[str, ...] = (),
                  points: list[tuple[float, int]] | None = None) -> None:
    """Replace ``onnx_path`` by its int8 version, calibrated on ``per_class`` random faces of each class
    (drawn with ``seed``) of a labelled folder or loaded faces; activation ranges by ``method``; the layer
    groups in ``keep_float`` (see ``KEEP_FLOAT``) stay float32. With ``points`` (the activation ranges of
    a quantisation-aware run, ``qat.py``) those ranges are written instead of calibrated ones."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose one of {', '.join(CALIBRATION_METHODS)}")
    onnx_path = Path(onnx_path)
    faces = calibration if isinstance(calibration, FaceArrays) else load_image_folder(calibration, image_size)
    faces = faces.subset(per_class, seed)
    x = ((faces.images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]
    input_name = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    reader = type("Reader", (_FaceBatches, CalibrationDataReader), {})(x, input_name)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(onnx_path), str(prepared))
        graph = onnx.load(str(prepared))
        excluded = float_nodes(graph, keep_float)
        extra = {} if points is None else {"TensorQuantOverrides": range_overrides(graph, points),
                                           "QDQDisableWeightAdjustForInt32Bias": True}
        quantized = Path(tmp) / "int8.onnx"
        quantize_static(str(prepared), str(quantized), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=getattr(CalibrationMethod, CALIBRATION_METHODS[method]),
                        op_types_to_quantize=["Conv", "Gemm", "MatMul"],  # softmax and means stay float
                        nodes_to_exclude=excluded, extra_options=extra)
        model = onnx.load(str(quantized))
        unsaturated_input_convs(model)
        onnx.save(model, str(onnx_path))
