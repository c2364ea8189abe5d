"""A synthetic gallery-view class with known students, to test and benchmark tracking.

Faces come from images the caller supplies (e.g. FER-2013 read from its own folder; nothing
is shipped). The generator renders a meeting-style grid of tiles with each student's name
under their face, and follows a script of events: tiles re-order, students leave and come
back, the detector misses faces. Ground truth is kept for every rendered face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class GalleryFrame:
    """One rendered frame with the true student index and box of every visible face."""

    image: np.ndarray
    timestamp: float
    students: list[int]
    boxes: np.ndarray  # (N, 4) x, y, w, h of the face inside each tile


@dataclass(slots=True)
class SyntheticGallery:
    """Meeting gallery of ``len(faces)`` students; call ``frame(t)`` for time ``t`` seconds."""

    faces: list[np.ndarray]  # grayscale face images, one per student
    names: list[str]
    tile: int = 120
    columns: int = 5
    reorder_every_s: float = 20.0
    away: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # student -> [(start, end)]
    jitter_px: float = 1.5
    seed: int = 0

    def order_at(self, t: float) -> list[int]:
        """Student index shown in each tile slot at time ``t`` (re-ordered every period)."""
        period = int(t // self.reorder_every_s) if self.reorder_every_s > 0 else 0
        order = np.arange(len(self.faces))
        if period:
            order = np.random.default_rng(self.seed * 7919 + period).permutation(len(self.faces))
        return [int(i) for i in order]

    def present(self, student: int, t: float) -> bool:
        return not any(start <= t < end for start, end in self.away.get(student, []))

    def frame(self, t: float) -> GalleryFrame:
        rows = -(-len(self.faces) // self.columns)
        canvas = np.full((rows * self.tile, self.columns * self.tile, 3), 40, np.uint8)
        rng = np.random.default_rng(int(t * 1000) + self.seed)
        visible = [s for s in self.order_at(t) if self.present(s, t)]
        boxes = []
        face_size = int(self.tile * 0.62)
        for slot, student in enumerate(visible):
            row, col = divmod(slot, self.columns)
            x0, y0 = col * self.tile, row * self.tile
            cv2.rectangle(canvas, (x0 + 2, y0 + 2), (x0 + self.tile - 3, y0 + self.tile - 3), (70, 60, 55), -1)
            dx, dy = rng.normal(0, self.jitter_px, 2)
            fx = int(x0 + (self.tile - face_size) / 2 + dx)
            fy = int(y0 + self.tile * 0.08 + dy)
            face = cv2.resize(self.faces[student], (face_size, face_size), interpolation=cv2.INTER_CUBIC)
            noisy = np.clip(face.astype(np.float32) + rng.normal(0, 3, face.shape), 0, 255).astype(np.uint8)
            canvas[fy : fy + face_size, fx : fx + face_size] = cv2.cvtColor(noisy, cv2.COLOR_GRAY2BGR)
            cv2.putText(canvas, self.names[student], (x0 + 6, y0 + self.tile - 12),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
            boxes.append((fx, fy, face_size, face_size))
        return GalleryFrame(canvas, t, visible, np.array(boxes, np.float32).reshape(-1, 4))


def load_faces(folder: Path, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` distinct grayscale faces picked at random from the images under ``folder``."""
    files = sorted(Path(folder).rglob("*.jpg"))
    if len(files) < count:
        raise ValueError(f"need {count} face images under {folder}, found {len(files)}")
    picks = np.random.default_rng(seed).choice(len(files), size=count, replace=False)
    return [cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE) for i in picks]


def count_id_switches(truth: list[list[int]], predicted: list[list[int]]) -> int:
    """ID switches (CLEAR-MOT style): times a true student's assigned id differs from their last one."""
    last: dict[int, int] = {}
    switches = 0
    for students, ids in zip(truth, predicted):
        for student, sid in zip(students, ids):
            if student in last and last[student] != sid:
                switches += 1
            last[student] = sid
    return switches


def write_gallery_video(path: Path, gallery: SyntheticGallery, seconds: float, fps: float) -> list[list[int]]:
    """Render ``seconds`` of ``gallery`` to an mp4 file; returns the true students of each frame."""
    first = gallery.frame(0.0)
    height, width = first.image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    truth = []
    try:
        for k in range(int(round(seconds * fps))):
            frame = gallery.frame(k / fps)
            writer.write(frame.image)
            truth.append(frame.students)
    finally:
        writer.release()
    return truth
