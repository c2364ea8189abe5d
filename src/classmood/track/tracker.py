"""Multi-face tracker that gives every face a stable student id.

SORT-style short-term tracking (a Kalman filter per face, Hungarian assignment on a cost that
mixes box overlap and appearance) plus a gallery of every student seen so far, so that a
student who leaves and returns, or whose gallery tile moves to another place, gets their
old id back (appearance re-identification, as in DeepSORT, with a hand-made embedding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from classmood.track.kalman import BoxKalman, iou_matrix

_FORBIDDEN = 1e6


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Thresholds of the tracker; similarities are cosine similarities of embeddings."""

    lost_after_s: float = 1.5  # a student without detection for this long loses their motion track
    iou_gate: float = 0.2  # minimum box overlap for a motion match
    motion_min_similarity: float = 0.3  # ... whose appearance must not be this unlike
    iou_weight: float = 0.3  # weight of (1 - IoU) next to (1 - similarity) in the matching cost
    appearance_margin: float = 0.08  # a match must look nearly as alike as the most alike (followed) student
    appearance_match: float = 0.75  # this alike is a match wherever the face is (tiles re-ordered)
    reid_similarity: float = 0.60  # this alike brings back a student who was away
    gallery_momentum: float = 0.95  # how slowly a student's remembered appearance adapts
    max_students: int = 1000  # oldest away students are forgotten past this


@dataclass(slots=True)
class StudentTrack:
    """What the tracker remembers of one student."""

    student_id: int
    embedding: np.ndarray
    last_seen: float
    first_seen: float
    kalman: BoxKalman | None = None
    hits: int = 1
    predicted_box: np.ndarray | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.kalman is not None


class StudentTracker:
    """Assign student ids to the faces of each frame (``update``), in time order."""

    def __init__(self, config: TrackerConfig | None = None, first_id: int = 1) -> None:
        self.config = config or TrackerConfig()
        self.students: dict[int, StudentTrack] = {}
        self._next_id = first_id

    def update(self, boxes: np.ndarray, embeddings: np.ndarray, timestamp: float) -> list[int]:
        """Student id for each box (``(N, 4)`` x, y, w, h) with its ``(N, D)`` unit embedding."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        self._expire(timestamp)
        active = [s for s in self.students.values() if s.active]
        for student in active:
            student.predicted_box = student.kalman.predict()
        if len(boxes) == 0:
            return []
        embeddings = np.asarray(embeddings, np.float32).reshape(len(boxes), -1)
        ids: list[int | None] = [None] * len(boxes)
        every = list(self.students.values())
        similarity = (
            np.stack([s.embedding for s in every]) @ embeddings.T if every else np.zeros((0, len(boxes)))
        )
        best_similarity = similarity.max(axis=0) if every else np.full(len(boxes), -1.0)
        index_of = {s.student_id: i for i, s in enumerate(every)}

        # 1) active students: motion (IoU) confirmed by appearance, or appearance alone.
        if active:
            sim = similarity[[index_of[s.student_id] for s in active]]
            iou = iou_matrix(np.stack([s.predicted_box for s in active]), boxes)
            margin = self.config.appearance_margin
            # a match by motion must look nearly as alike as the most alike followed student: when the
            # gallery re-flows and a neighbour's face is missed, the face now in their place is another's
            by_motion = ((iou >= self.config.iou_gate) & (sim >= self.config.motion_min_similarity)
                         & (sim >= sim.max(axis=0)[None, :] - margin))
            by_appearance = (sim >= best_similarity[None, :] - margin) & (sim >= self.config.appearance_match)
            cost = np.where(by_motion | by_appearance, (1.0 - sim) + self.config.iou_weight * (1.0 - iou), _FORBIDDEN)
            for r, c in zip(*linear_sum_assignment(cost)):
                if cost[r, c] < _FORBIDDEN:
                    ids[c] = active[r].student_id

        # 2) the rest: students not matched yet (away or tile moved far), by appearance alone.
        taken = {i for i in ids if i is not None}
        free_dets = [j for j, i in enumerate(ids) if i is None]
        candidates = [s for s in every if s.student_id not in taken]
        if free_dets and candidates:
            sim = similarity[np.ix_([index_of[s.student_id] for s in candidates], free_dets)]
            cost = np.where(sim >= self.config.reid_similarity, 1.0 - sim, _FORBIDDEN)
            for r, c in zip(*linear_sum_assignment(cost)):
                if cost[r, c] < _FORBIDDEN:
                    ids[free_dets[c]] = candidates[r].student_id

        # 3) new students, then update everyone matched.
        for j in range(len(boxes)):
            if ids[j] is None:
                ids[j] = self._new_student(embeddings[j], timestamp)
            self._observe(self.students[ids[j]], boxes[j], embeddings[j], timestamp)
        self._forget_oldest()
        return [int(i) for i in ids]

    def merge(self, from_id: int, into_id: int) -> None:
        """``from_id`` was ``into_id`` all along (their tile label says so): one student, with the
        newer one's motion track and appearance."""
        newer = self.students.pop(from_id)
        older = self.students.get(into_id)
        self.students[into_id] = StudentTrack(into_id, newer.embedding, newer.last_seen,
                                              older.first_seen if older else newer.first_seen, newer.kalman,
                                              newer.hits + (older.hits if older else 0), newer.predicted_box)

    def restore(self, student_id: int, embedding: np.ndarray, first_seen: float, last_seen: float) -> None:
        """Remember a student from an earlier run of the same session (no motion track yet)."""
        self.students[student_id] = StudentTrack(student_id, np.asarray(embedding, np.float32), last_seen, first_seen)
        self._next_id = max(self._next_id, student_id + 1)

    def _new_student(self, embedding: np.ndarray, timestamp: float) -> int:
        student_id = self._next_id
        self._next_id += 1
        self.students[student_id] = StudentTrack(student_id, embedding.copy(), timestamp, timestamp, hits=0)
        return student_id

    def _observe(self, student: StudentTrack, box: np.ndarray, embedding: np.ndarray, timestamp: float) -> None:
        jumped = student.kalman is not None and iou_matrix(student.kalman.box[None], box[None])[0, 0] < 0.05
        if student.kalman is None or jumped:  # new, back, or its tile moved: restart the motion model
            student.kalman = BoxKalman(box)
        else:
            student.kalman.update(box)
        m = self.config.gallery_momentum if student.hits else 0.0
        mixed = m * student.embedding + (1.0 - m) * embedding
        student.embedding = (mixed / (np.linalg.norm(mixed) + 1e-6)).astype(np.float32)
        student.last_seen = timestamp
        student.hits += 1

    def _expire(self, timestamp: float) -> None:
        for student in self.students.values():
            if student.active and timestamp - student.last_seen > self.config.lost_after_s:
                student.kalman = None

    def _forget_oldest(self) -> None:
        excess = len(self.students) - self.config.max_students
        if excess > 0:
            away = sorted((s for s in self.students.values() if not s.active), key=lambda s: s.last_seen)
            for student in away[:excess]:
                del self.students[student.student_id]
