"""Follow known faces between full detections: search only a margin around each face of the
previous frame.

Between full-frame detections each face of the previous frame is cut out with a margin, scaled to a
square cell and pasted into one mosaic, so one run of the detector searches every face
at once (YuNet's graph takes one image, so the crops are batched as a mosaic). Each cell gives back the
face that overlaps the previous box best, mapped to frame pixels: boxes come from this frame's pixels,
so they do not lag. The frame is searched whole by the wrapped detector at once when a face is lost
(its cell finds it nowhere, cut by the cell's edge, or two faces merge), every ``full_every`` frames so
that a face that enters is found (10 frames: within 1 s at 10 analysed frames/s or more), and whenever the mosaic would cost more than ``max_share`` of a whole
search (many small faces: a gallery of 49 is cheaper searched whole). When following loses a face
that the whole search then finds where it was, its cell cannot show it (small, blurred, cut by a
tile's edge): the frames up to the next periodic search are searched whole, instead of paying two
searches a frame.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from classmood.geometry import iou_matrix
from classmood.types import Detections

#: A cell's face must overlap the previous box at least this much (IoU) to be the same face.
MIN_IOU = 0.25
#: Two followed faces overlapping more than this (IoU) have merged: search the whole frame.
MERGED_IOU = 0.45
#: Cell sides are multiples of this (YuNet pads its input to multiples of 32), at least twice it.
CELL_STEP = 32


class FollowingDetector:
    """Wraps a detector that has ``detect``, ``detect_at(image, scale)``, ``scale_for(w, h)`` and
    ``reset(continuous)`` (``YuNetDetector``). Unrelated pictures pass straight through; after
    ``reset(continuous=True)`` faces are followed as the module says. ``follow=False`` turns following
    off. The periodic search restarts the wrapped detector's own frame-to-frame state, so it runs at
    full scale and finds a newcomer smaller than the faces known; a search because a face was lost
    may use that state (YuNet's smaller scale first)."""

    def __init__(self, inner, *, full_every: int = 10, margin: float = 0.5, face_px: int = 48,
                 max_share: float = 0.6, follow: bool = True) -> None:
        self.inner = inner
        self.full_every = full_every
        self.margin = margin
        self.face_px = face_px
        self.cell = CELL_STEP
        self.max_share = max_share
        self.follow = follow
        self._previous: Detections | None = None  # None: not a continuous source
        self._since_full = 0
        self._lost = False  # a face its cell cannot show: search whole until the next periodic search
        self.last_mode = "full"  # what the last ``detect`` did: ``full`` or ``follow`` (for tests and stats)

    @property
    def name(self) -> str:
        return self.inner.name

    def __getattr__(self, attr: str):
        if attr == "inner":  # not set yet (during unpickling): no recursion
            raise AttributeError(attr)
        return getattr(self.inner, attr)  # the wrapped detector's settings (max_side, score_threshold...)

    def reset(self, continuous: bool = False) -> None:
        """Start of a new source; only ``continuous`` frames (video, live) are followed."""
        self.inner.reset(continuous)
        self._previous = Detections.empty() if continuous and self.follow else None
        self._since_full = 0
        self._lost = False

    def detect(self, image: np.ndarray) -> Detections:
        previous = self._previous
        if previous is None:
            self.last_mode = "full"
            return self.inner.detect(image)
        found = None
        due = self._since_full + 1 >= self.full_every
        tried = bool(len(previous)) and not due and not self._lost and self._cheaper(image, previous.boxes)
        if tried:
            found = self._follow(image, previous.boxes)
        if found is None:
            if due:  # the periodic search is at full scale, not at the scale of the faces known
                self.inner.reset(True)
                self._lost = False
            found = self.inner.detect(image)
            if tried:  # following lost a face; the whole search still finds every one: a cell cannot show it
                self._lost = bool(len(found)) and bool(
                    (iou_matrix(previous.boxes, found.boxes).max(axis=1) >= MIN_IOU).all())
            self._since_full = 0
            self.last_mode = "full"
        else:
            self._since_full += 1
            self.last_mode = "follow"
        self._previous = found
        return found

    def _cheaper(self, image: np.ndarray, boxes: np.ndarray) -> bool:
        """Choose the cell size; whether the mosaic costs at most ``max_share`` of a whole-frame search.

        A cell shows its face as large as the whole search would, but no larger than ``face_px``
        (enough for YuNet; smaller faces than the search's would be missed more often)."""
        height, width = image.shape[:2]
        scale = self.inner.scale_for(width, height)
        face = min(self.face_px, float(boxes[:, 2:].max(axis=1).min()) * scale)
        self.cell = max(2 * CELL_STEP, CELL_STEP * math.ceil(face * (1 + 2 * self.margin) / CELL_STEP))
        cols = math.ceil(math.sqrt(len(boxes)))
        rows = math.ceil(len(boxes) / cols)
        return rows * cols * self.cell ** 2 <= self.max_share * width * height * scale ** 2

    def _follow(self, image: np.ndarray, boxes: np.ndarray) -> Detections | None:
        """Each face of ``boxes`` searched for in its own cell; ``None`` when one is lost."""
        cell = self.cell
        cols = math.ceil(math.sqrt(len(boxes)))
        rows = math.ceil(len(boxes) / cols)
        mosaic = np.zeros((rows * cell, cols * cell, 3), np.uint8)
        origins = np.zeros((len(boxes), 2), np.float32)  # frame pixels of each cell's top-left corner
        factors = np.zeros(len(boxes), np.float32)  # frame pixels per cell pixel
        for i, box in enumerate(boxes):
            crop, origins[i], factors[i] = self._crop(image, box)
            r, c = divmod(i, cols)
            mosaic[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = crop
        found = self.inner.detect_at(mosaic, 1.0)
        if not len(found):
            return None
        cells = self._cells_of(found.boxes, cols)
        keep = []
        for i, box in enumerate(boxes):
            mine = np.flatnonzero(cells == i)
            if not len(mine):
                return None
            r, c = divmod(i, cols)
            local = found.boxes[mine] - np.array([c * cell, r * cell, 0, 0], np.float32)
            framed = local * factors[i] + np.concatenate([origins[i], [0, 0]])
            overlap = iou_matrix(framed, box)[:, 0]
            best = int(np.argmax(overlap))
            if overlap[best] < MIN_IOU or not _inside(local[best], cell):
                return None
            keep.append((mine[best], i))
        return self._assemble(found, keep, cols, origins, factors)

    def _crop(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The square around ``box`` with the margin, scaled to one cell (black beyond the frame)."""
        height, width = image.shape[:2]
        side = max(2, int(round(max(box[2], box[3]) * (1 + 2 * self.margin))))
        x0 = int(round(box[0] + box[2] / 2 - side / 2))
        y0 = int(round(box[1] + box[3] / 2 - side / 2))
        x1, y1 = x0 + side, y0 + side
        region = image[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
        if region.shape[:2] != (side, side):
            if region.size == 0:
                region = np.zeros((side, side, 3), np.uint8)
            else:
                region = cv2.copyMakeBorder(region, max(-y0, 0), max(y1 - height, 0), max(-x0, 0),
                                            max(x1 - width, 0), cv2.BORDER_CONSTANT, value=(0, 0, 0))
        interp = cv2.INTER_LINEAR
        crop = cv2.resize(region, (self.cell, self.cell), interpolation=interp)
        return crop, np.array([x0, y0], np.float32), side / self.cell

    def _cells_of(self, boxes: np.ndarray, cols: int) -> np.ndarray:
        """Index of the cell holding each box's centre."""
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        grid = np.floor(centres / self.cell).astype(np.int64)
        return grid[:, 1] * cols + grid[:, 0]

    def _assemble(self, found: Detections, keep: list[tuple[int, int]], cols: int, origins: np.ndarray,
                  factors: np.ndarray) -> Detections | None:
        """The chosen face of each cell in frame pixels, best first; ``None`` when two merged."""
        picked = np.array([k for k, _ in keep])
        cell_index = np.array([i for _, i in keep])
        r, c = np.divmod(cell_index, cols)
        offset = np.stack([c, r], axis=1).astype(np.float32) * self.cell
        factor = factors[cell_index][:, None]
        boxes = found.boxes[picked].copy()
        boxes[:, :2] = (boxes[:, :2] - offset) * factor + origins[cell_index]
        boxes[:, 2:] *= factor
        landmarks = None
        if found.landmarks is not None:
            landmarks = (found.landmarks[picked] - offset[:, None]) * factor[:, None] + origins[cell_index][:, None]
        for i in range(len(boxes) - 1):
            if np.any(iou_matrix(boxes[i + 1:], boxes[i]) > MERGED_IOU):
                return None
        order = np.argsort(-found.scores[picked], kind="stable")
        out = Detections(boxes.astype(np.float32), found.scores[picked].astype(np.float32),
                         None if landmarks is None else landmarks.astype(np.float32))
        return out[order]


def _inside(box: np.ndarray, cell: int) -> bool:
    """Whether a box in cell pixels lies inside the cell without touching its edges: a face cut by the
    edge (boxes are clipped to the mosaic, or run into the next cell) may have moved out of its crop."""
    return bool(box[0] > 0 and box[1] > 0 and box[0] + box[2] < cell and box[1] + box[3] < cell)
