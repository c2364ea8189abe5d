"""Typed dataclasses passed between the pipeline stages.

Data flow: ``Source -> Frame -> FaceDetector -> Detections``; the classifier, tracker and embedder
fill arrays of the same ``Detections`` (per frame a ``FrameResult``); ``Face`` is the
edge form (JSON, UI, tables); then aggregation, storage and reports.
Coordinates are always pixels of the original frame; boxes are ``(x, y, w, h)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from classmood.emotions import EMOTIONS


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture from a source: BGR uint8 ``(H, W, 3)``."""

    image: np.ndarray
    index: int
    timestamp: float  # seconds since the start of the source (video time or wall-clock)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class Detections:
    """Faces found in one frame, as parallel arrays (like ``supervision.Detections``).

    ``boxes``: float32 ``(N, 4)`` as x, y, w, h; ``scores``: float32 ``(N,)``;
    ``landmarks``: float32 ``(N, 5, 2)`` (eyes, nose, mouth corners) or ``None``
    when the detector gives none. Later stages fill the rest with ``with_``:
    ``probabilities`` float32 ``(N, 7)`` in ``EMOTIONS`` order (classifier),
    ``student_ids`` int64 ``(N,)`` (tracker), ``embeddings`` float32 ``(N, D)``
    and ``names`` object ``(N,)``. ``crops`` uint8 ``(N, S, S)`` are the gray face crops the
    classifier saw, reused by the tracker (one crop per face; in memory only, never stored).
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    student_ids: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    names: np.ndarray | None = None
    crops: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), None)

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def __getitem__(self, index) -> Detections:
        """Select faces by index array, slice or boolean mask."""
        return Detections(*(None if v is None else v[index] for v in (getattr(self, f.name) for f in fields(self))))

    def with_(self, **arrays) -> Detections:
        """A copy with some arrays set (e.g. ``with_(student_ids=ids)``)."""
        return replace(self, **arrays)

    @property
    def emotions(self) -> list[str]:
        """The most likely emotion of each face (needs ``probabilities``)."""
        return [EMOTIONS[i] for i in self.probabilities.argmax(axis=1)]

    @property
    def confidences(self) -> np.ndarray:
        """The probability of each face's most likely emotion."""
        return self.probabilities.max(axis=1)

    def to_faces(self) -> list[Face]:
        """One ``Face`` per detection, for the edges (public API, JSON, UI tables)."""
        faces = []
        for i in range(len(self)):
            box = tuple(int(round(float(v))) for v in self.boxes[i])
            landmarks = None if self.landmarks is None else [(float(a), float(b)) for a, b in self.landmarks[i]]
            probs = {c: float(v) for c, v in zip(EMOTIONS, self.probabilities[i], strict=True)}
            student_id = None if self.student_ids is None else int(self.student_ids[i])
            faces.append(Face(box, float(self.scores[i]), probs, landmarks, student_id))
        return faces

    def to_dicts(self) -> list[dict]:
        """The faces as JSON-ready dicts."""
        return [f.to_dict() for f in self.to_faces()]


@dataclass(slots=True)
class Face:
    """One face with its emotion estimate (probabilities sum to 1)."""

    box: tuple[int, int, int, int]
    score: float
    probabilities: dict[str, float]
    landmarks: list[tuple[float, float]] | None = None
    student_id: int | None = None  # the stable pseudonymous id a tracker gave the face

    @property
    def emotion(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.emotion])

    def to_dict(self) -> dict:
        out = {
            "box": [int(v) for v in self.box],
            "score": round(float(self.score), 4),
            "emotion": self.emotion,
            "probabilities": {k: round(float(self.probabilities[k]), 4) for k in EMOTIONS},
        }
        if self.landmarks is not None:
            out["landmarks"] = [[round(x, 1), round(y, 1)] for x, y in self.landmarks]
        if self.student_id is not None:
            out["student_id"] = self.student_id
        return out


@dataclass(slots=True)
class FrameResult:
    """Everything the pipeline knows about one frame."""

    frame: Frame
    detections: Detections = field(default_factory=Detections.empty)
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    annotated: np.ndarray | None = None  # BGR frame with boxes drawn, when the pipeline annotates

    def to_dict(self) -> dict:
        return {
            "index": self.frame.index,
            "timestamp": round(self.frame.timestamp, 3),
            "width": self.frame.width,
            "height": self.frame.height,
            "faces": self.detections.to_dicts(),
        }
