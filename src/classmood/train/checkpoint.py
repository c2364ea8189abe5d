"""Reading training checkpoints safely: tensors, numbers, strings, lists and dicts, nothing else.

A ``.pt`` file is a pickle, and unpickling can call any Python function it names (open a file,
start a program). Every checkpoint classmood writes holds only plain data (the architecture name,
a ``state_dict``, optimizer state, the config as a dict, the RNG state as a tensor), so it is read
with ``torch.load(weights_only=True)`` and no allow-list: a file that asks for anything else is
refused with one line before any of it runs.

Writing is atomic (a temporary file, then a rename). For moving weights off a training machine, fp16
for every float tensor; in models over ``int8_above`` parameters the conv/linear weights become int8
with one fp32 scale per output channel (a quarter of fp32, <0.5% relative error).
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import IO

import torch

from classmood.errors import ClassmoodError

MODEL_KEYS = ("arch", "model")
#: Architectures renamed since checkpoints were written: old ``arch`` value -> registry name. The compact
#: VGG students were called after the shipped ``realtime`` model; a checkpoint is read under the new name.
RENAMED_ARCHS = {"realtime": "vgg7_w32", "realtime_s": "vgg7_w24", "realtime_xs": "vgg7_w16"}
QUANT_KEY = "qat"  # quantisation-aware checkpoints: {"points": [(scale, zero_point), ...]} in simulation order


def read_checkpoint(source: str | Path | IO[bytes], map_location: str | torch.device = "cpu", *,
                    name: str | None = None) -> dict:
    """The dict stored in a checkpoint file (or open binary file), read without running any code, with an
    old architecture name in its ``arch`` entry replaced by today's (``RENAMED_ARCHS``).

    Raises ``ClassmoodError`` (one line, naming ``name`` or the path) when the file is missing,
    is not a torch checkpoint, or would need a Python object other than plain data to load."""
    shown = name or str(source)
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then refuses
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(source, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ClassmoodError(f"checkpoint not found: {shown}") from None
    except pickle.UnpicklingError as exc:
        raise ClassmoodError(f"{shown} is refused as a checkpoint: {_refusal(exc)}") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClassmoodError(f"{shown} is not a readable torch checkpoint ({reason})") from None
    if not isinstance(state, dict):
        raise ClassmoodError(f"{shown} is not a classmood checkpoint (it holds a {type(state).__name__}, not a dict)")
    arch = state.get("arch")
    if isinstance(arch, str) and arch in RENAMED_ARCHS:
        state["arch"] = RENAMED_ARCHS[arch]
    return state


def read_model_checkpoint(source: str | Path | IO[bytes], map_location: str | torch.device = "cpu", *,
                          name: str | None = None) -> dict:
    """``read_checkpoint`` of a file that must hold a model: ``arch`` (str) and ``model`` (a state dict)."""
    state = read_checkpoint(source, map_location, name=name)
    if not isinstance(state.get("arch"), str) or not isinstance(state.get("model"), dict):
        raise ClassmoodError(f"{name or source} is not a classmood model checkpoint (no 'arch' and 'model' entries)")
    return state


def qat_ranges(state: dict) -> list[tuple[float, int]] | None:
    """The int8 activation ranges ``(scale, zero_point)`` a quantisation-aware checkpoint carries; None for others."""
    entry = state.get(QUANT_KEY)
    return None if entry is None else [tuple(point) for point in entry["points"]]


def with_qat_ranges(state: dict, points: list[tuple[float, int]]) -> dict:
    """``state`` with the int8 activation ranges a quantisation-aware run trained with."""
    return {**state, QUANT_KEY: {"points": points}}


def write_checkpoint(state: dict, path: str | Path) -> None:
    """Save ``state`` to ``path`` through a temporary file beside it, so a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def fp16_weights(state: dict) -> dict:
    """The state dict with every float tensor in fp16 (how checkpoints are kept in the repo)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def slim_weights(state: dict, int8_above: int = 3_000_000) -> dict:
    """fp16 weights; models over ``int8_above`` parameters keep conv/linear weights as int8 with one fp32
    scale per output channel (``name`` -> ``{"q": int8, "scale": fp32}``), to fit the transfer limit."""
    slim = fp16_weights(state)
    if sum(v.numel() for v in state.values() if v.is_floating_point()) <= int8_above:
        return slim
    for k, v in state.items():
        if v.is_floating_point() and v.ndim >= 2:
            scale = v.float().abs().flatten(1).amax(1).clamp_min(1e-12) / 127
            shape = (-1,) + (1,) * (v.ndim - 1)
            slim[k] = {"q": (v.float() / scale.view(shape)).round().clamp(-127, 127).to(torch.int8), "scale": scale}
    return slim


def unslim_weights(slim: dict) -> dict:
    """The float32 state dict back from ``slim_weights``."""
    out = {}
    for k, v in slim.items():
        if isinstance(v, dict):
            out[k] = v["q"].float() * v["scale"].view((-1,) + (1,) * (v["q"].ndim - 1))
        else:
            out[k] = v.float() if v.is_floating_point() else v
    return out


def _refusal(exc: pickle.UnpicklingError) -> str:
    """Why torch's restricted unpickler stopped, in one line: the Python object the file asked for."""
    text = str(exc)
    wanted = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if wanted:
        return f"it asks to run Python code ({wanted.group(1)}) when loaded; only tensors and plain data are read"
    detail = re.search(r"WeightsUnpickler error:\s*(.+?)\s*(?:Check the documentation|$)", text, re.DOTALL)
    reason = " ".join((detail.group(1) if detail else text).split())[:160]
    return f"it is not a checkpoint of tensors and plain data ({reason})"
