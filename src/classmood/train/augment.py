"""Batched data augmentation for 48x48 faces, run on the training device.

Random affine (rotation, scale, shift, horizontal flip) through one ``grid_sample``,
brightness/contrast jitter and random erasing: cheap enough to run on every batch on the
GPU or CPU without a data-loader process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Normalisation of pixels in [0, 1]; stored in every exported model's metadata.
MEAN, STD = 0.5, 0.25


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    shift: float = 0.1
    flip: bool = True
    brightness: float = 0.25
    contrast: float = 0.25
    erase_prob: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)


def normalize(images_uint8: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` or ``(N, 1, H, W)`` uint8 -> normalised float ``(N, 1, H, W)``."""
    x = images_uint8.float().div_(255.0)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return (x - MEAN) / STD


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample ``(N, 1, H, W)`` faces through ``(N, 2, 3)`` affine maps (bilinear, border padding)."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


#: Test-time views: the training augmentation's own transforms at small, fixed strengths (2 px shifts,
#: +8/-7% scale, +-6 degrees); ``"id"`` is the face itself.
SHIFT_2PX = 2 * 2 / 48
TEST_VIEWS: dict[str, dict[str, float]] = {
    "id": {}, "l": {"dx": SHIFT_2PX}, "r": {"dx": -SHIFT_2PX}, "u": {"dy": SHIFT_2PX}, "dn": {"dy": -SHIFT_2PX},
    "s+": {"scale": 1.08}, "s-": {"scale": 0.93}, "rot+": {"rot": 6.0}, "rot-": {"rot": -6.0},
}


def view_theta(dx: float = 0.0, dy: float = 0.0, scale: float = 1.0, rot: float = 0.0) -> torch.Tensor:
    """The ``(1, 2, 3)`` affine map of one test-time view (a shift, scale and rotation, as in training)."""
    a = math.radians(rot)
    c, s = math.cos(a) / scale, math.sin(a) / scale
    return torch.tensor([[[c, -s, dx], [s, c, dy]]], dtype=torch.float32)


def augment(images_uint8: torch.Tensor, cfg: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """Augmented, normalised float batch ``(N, 1, H, W)`` from uint8 ``(N, H, W)``."""
    x = images_uint8.float().div_(255.0).unsqueeze(1)
    n, dev = x.shape[0], x.device
    angle = (torch.rand(n, device=dev) * 2 - 1) * math.radians(cfg.rotate_deg)
    scale = torch.empty(n, device=dev).uniform_(*cfg.scale)
    flip = torch.where(torch.rand(n, device=dev) < 0.5, -1.0, 1.0) if cfg.flip else torch.ones(n, device=dev)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, (torch.rand(n, device=dev) * 2 - 1) * cfg.shift * 2], 1),
        torch.stack([sin * flip, cos, (torch.rand(n, device=dev) * 2 - 1) * cfg.shift * 2], 1),
    ], 1)
    x = warp(x, theta)

    mean = x.mean(dim=(2, 3), keepdim=True)
    contrast = 1 + (torch.rand(n, 1, 1, 1, device=dev) * 2 - 1) * cfg.contrast
    brightness = (torch.rand(n, 1, 1, 1, device=dev) * 2 - 1) * cfg.brightness * 0.5
    x = ((x - mean) * contrast + mean + brightness).clamp_(0, 1)
    x = (x - MEAN) / STD

    if cfg.erase_prob > 0:
        x = random_erase(x, cfg.erase_prob, cfg.erase_area)
    return x


def random_erase(x: torch.Tensor, prob: float, area: tuple[float, float]) -> torch.Tensor:
    """Zero (the normalised mean) a random rectangle in a ``prob`` fraction of the images."""
    n, _, h, w = x.shape
    dev = x.device
    frac = torch.empty(n, device=dev).uniform_(*area)
    aspect = torch.exp(torch.empty(n, device=dev).uniform_(math.log(0.3), math.log(3.3)))
    eh = (torch.sqrt(frac * aspect) * h).clamp(1, h)
    ew = (torch.sqrt(frac / aspect) * w).clamp(1, w)
    top = torch.rand(n, device=dev) * (h - eh)
    left = torch.rand(n, device=dev) * (w - ew)
    rows = torch.arange(h, device=dev).view(1, h, 1)
    cols = torch.arange(w, device=dev).view(1, 1, w)
    inside = (
        (rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1))
        & (torch.rand(n, 1, 1, device=dev) < prob)
    )
    return x.masked_fill(inside.unsqueeze(1), 0.0)
