"""Compact checkpoint weights for moving them off a training machine (transfer limits).

fp16 for every float tensor; in models over ``int8_above`` parameters the conv/linear weights
become int8 with one fp32 scale per output channel (a quarter of fp32, <0.5% relative error).
"""

from __future__ import annotations

import torch


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
