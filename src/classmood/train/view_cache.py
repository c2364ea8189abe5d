"""Cached teaching: the teachers' soft targets for a fixed set of augmented views of each face.

Running the teachers on every augmented batch ("consistent teaching") costs several student steps
a batch. With ``teacher_views: K`` the first K epochs do exactly that and keep each augmented view
(as uint8 pixels) with the teachers' targets in slot ``epoch % K``; later epochs show those views
again with their stored targets, so they cost what a plain epoch costs. Slots are saved in the run
folder when complete, so a resumed run keeps them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from classmood.train.augment import MEAN, STD


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Normalised float ``(N, 1, H, W)`` back to uint8 ``(N, H, W)`` (the inverse of ``normalize``)."""
    return (x.float()[:, 0] * STD + MEAN).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)


class TeacherViewCache:
    """``slots`` sets of (augmented view, soft target) per training face, filled batch by batch."""

    def __init__(self, folder: Path, slots: int, n: int, size: int, classes: int):
        self.folder, self.slots = Path(folder), slots
        self.views = np.zeros((slots, n, size, size), np.uint8)
        self.soft = np.zeros((slots, n, classes), np.float32)
        self.filled = np.zeros((slots, n), bool)
        self.complete = [self._load(k) for k in range(slots)]

    def slot_of(self, epoch: int) -> int:
        return epoch % self.slots

    def _path(self, slot: int) -> Path:
        return self.folder / f"teacher_views_{slot}.npz"

    def _load(self, slot: int) -> bool:
        path = self._path(slot)
        if not path.exists():
            return False
        with np.load(path) as data:
            if data["views"].shape != self.views[slot].shape:  # another data set or image size
                return False
            self.views[slot], self.soft[slot], self.filled[slot] = data["views"], data["soft"], data["filled"]
        return True

    def store(self, slot: int, idx: torch.Tensor, x: torch.Tensor, soft: torch.Tensor) -> None:
        i = idx.cpu().numpy()
        self.views[slot, i] = to_pixels(x).cpu().numpy()
        self.soft[slot, i] = soft.float().cpu().numpy()
        self.filled[slot, i] = True

    def finish(self, slot: int) -> None:
        """Mark a slot complete after its filling epoch and save it (atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".teacher_views_{slot}.tmp.npz"
        np.savez(tmp, views=self.views[slot], soft=self.soft[slot], filled=self.filled[slot])
        tmp.replace(self._path(slot))
        self.complete[slot] = True

    def order(self, slot: int, generator_order: torch.Tensor) -> torch.Tensor:
        """The epoch's face order restricted to faces that have a view in this slot."""
        keep = torch.from_numpy(self.filled[slot]).to(generator_order.device)
        return generator_order[keep[generator_order]]

    def views_of(self, slot: int, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Stored uint8 views of faces ``idx``."""
        return torch.from_numpy(self.views[slot, idx.cpu().numpy()]).to(device)

    def targets_of(self, slot: int, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Stored soft targets of faces ``idx``."""
        return torch.from_numpy(self.soft[slot, idx.cpu().numpy()]).to(device)
