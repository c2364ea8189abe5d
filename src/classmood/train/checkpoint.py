"""Reading training checkpoints safely: tensors, numbers, strings, lists and dicts, nothing else.

A ``.pt`` file is a pickle, and unpickling can call any Python function it names (open a file,
start a program). Every checkpoint classmood writes holds only plain data (the architecture name,
a ``state_dict``, optimizer state, the config as a dict, the RNG state as a tensor), so it is read
with ``torch.load(weights_only=True)`` and no allow-list: a file that asks for anything else is
refused with one line before any of it runs.
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


def read_checkpoint(source: str | Path | IO[bytes], map_location: str | torch.device = "cpu", *,
                    name: str | None = None) -> dict:
    """The dict stored in a checkpoint file (or open binary file), read without running any code.

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
    return state


def read_model_checkpoint(source: str | Path | IO[bytes], map_location: str | torch.device = "cpu", *,
                          name: str | None = None) -> dict:
    """``read_checkpoint`` of a file that must hold a model: ``arch`` (str) and ``model`` (a state dict)."""
    state = read_checkpoint(source, map_location, name=name)
    if not isinstance(state.get("arch"), str) or not isinstance(state.get("model"), dict):
        raise ClassmoodError(f"{name or source} is not a classmood model checkpoint (no 'arch' and 'model' entries)")
    return state


def _refusal(exc: pickle.UnpicklingError) -> str:
    """Why torch's restricted unpickler stopped, in one line: the Python object the file asked for."""
    text = str(exc)
    wanted = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if wanted:
        return f"it asks to run Python code ({wanted.group(1)}) when loaded; only tensors and plain data are read"
    detail = re.search(r"WeightsUnpickler error:\s*(.+?)\s*(?:Check the documentation|$)", text, re.DOTALL)
    reason = " ".join((detail.group(1) if detail else text).split())[:160]
    return f"it is not a checkpoint of tensors and plain data ({reason})"
