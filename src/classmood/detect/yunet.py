"""Default face detector: YuNet (libfacedetection v3) on ONNX Runtime.

The frame is rescaled so its longer side lies in ``[min_side, max_side]`` before
detection: big frames are downscaled (time grows with area), small ones upscaled so faces
of ~12 px still show. The default 640 px keeps live analysis fast; raise ``max_side``
(``--detect-size``) for galleries of tiny tiles. Boxes and the five landmarks (eyes, nose
tip, mouth corners) are mapped back to original pixels; boxes are clipped to the frame.
The network and its decoding live in ``yunet_onnx``; this module decides the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from classmood.detect.base import clip_boxes
from classmood.detect.yunet_onnx import YuNetOnnx
from classmood.types import Detections

DEFAULT_MAX_SIDE = 640
#: Smallest longest side a frame is shrunk to by the frame-to-frame speed-up.
MIN_DETECT_SIDE = 160


@dataclass(slots=True)
class _StreamState:
    """What the previous frame of a continuous source showed."""

    faces: int = 0  # faces found
    smallest: float = 0.0  # side of the smallest face, original pixels
    since_full: int = 0  # frames since the last detection at full scale
    # faces the reduced scale found when a fallback search at full scale then found more: a face
    # only visible at full scale (often a false one) must not force two searches on every frame
    reduced_baseline: int | None = None


class YuNetDetector:
    """YuNet on ONNX Runtime. ``score_threshold`` is 0..1; ``threads`` as for the emotion model.

    Frame-to-frame speed-up (``follow_face_size``): after ``reset(continuous=True)``
    (``Pipeline.run`` calls it for videos and live sources) a frame is first searched
    at the smaller scale that still makes the previous frame's smallest face
    ``face_px`` pixels tall; when that finds fewer faces than the previous frame, or
    every ``full_every`` frames, the frame is searched at full scale. A webcam close-up
    is thus searched at ~200 px instead of 640 px. Unrelated pictures (photos, folders)
    are always searched at full scale.
    """

    name = "yunet"

    def __init__(self, score_threshold: float = 0.6, max_side: int = DEFAULT_MAX_SIDE, min_side: int = 320,
                 min_face: int = 8, *, follow_face_size: bool = True, face_px: int = 40,
                 full_every: int = 10, threads: int | None = None) -> None:
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError("score_threshold must lie in [0, 1]")
        self.score_threshold = score_threshold
        self.max_side = max_side
        self.min_side = min_side
        self.min_face = min_face
        self.follow_face_size = follow_face_size
        self.face_px = face_px
        self.full_every = full_every
        self._stream: _StreamState | None = None
        self._net = YuNetOnnx(threads=threads)

    def reset(self, continuous: bool = False) -> None:
        """Start of a new source; ``continuous`` frames (video, live) allow the speed-up."""
        self._stream = _StreamState() if continuous and self.follow_face_size else None

    def scale_for(self, width: int, height: int) -> float:
        """Factor applied to the frame before a full-scale detection."""
        longest = max(width, height)
        if longest > self.max_side:
            return self.max_side / longest
        if longest < self.min_side:
            return self.min_side / longest
        return 1.0

    def _reduced_scale(self, full: float, width: int, height: int) -> float | None:
        """Smaller scale for this frame of a continuous source, or ``None`` for full scale."""
        state = self._stream
        if state is None or state.faces == 0 or state.since_full + 1 >= self.full_every:
            return None
        scale = max(self.face_px / state.smallest, MIN_DETECT_SIDE / max(width, height))
        return scale if scale < 0.8 * full else None

    def _remember(self, found: Detections, full: bool) -> None:
        state = self._stream
        if state is None:
            return
        state.faces = len(found)
        state.smallest = float(found.boxes[:, 2:].min()) if len(found) else 0.0
        state.since_full = 0 if full else state.since_full + 1

    def detect(self, image: np.ndarray) -> Detections:
        height, width = image.shape[:2]
        full = self.scale_for(width, height)
        reduced = self._reduced_scale(full, width, height)
        state = self._stream
        if reduced is not None:
            found = self.detect_at(image, reduced)
            if len(found) >= state.faces or (state.reduced_baseline and len(found) >= state.reduced_baseline):
                self._remember(found, full=False)
                return found
            missed_at_reduced = len(found)
        else:
            missed_at_reduced = None
        found = self.detect_at(image, full)
        self._remember(found, full=True)
        if state is not None:
            state.reduced_baseline = missed_at_reduced  # kept until the next full-scale search
        return found

    def detect_at(self, image: np.ndarray, scale: float) -> Detections:
        """Detect on ``image`` resized by ``scale``; boxes in original pixels, best first."""
        height, width = image.shape[:2]
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            small = cv2.resize(image, size, interpolation=interp)
        else:
            small = image
        raw = self._net(small, self.score_threshold)
        if not len(raw.scores):
            return Detections.empty()
        factor = np.array([width / small.shape[1], height / small.shape[0]], np.float32)
        boxes = clip_boxes(raw.boxes * np.tile(factor, 2), width, height)
        big_enough = (boxes[:, 2] >= self.min_face) & (boxes[:, 3] >= self.min_face)
        return Detections(boxes[big_enough], raw.scores[big_enough], (raw.landmarks * factor)[big_enough])
