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

from classmood.geometry import iou_matrix
from classmood.track.kalman import BoxKalman

_FORBIDDEN = 1e6


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Thresholds of the tracker; similarities are cosine similarities of embeddings."""

    lost_after_s: float = 1.5  # a student without detection for this long loses their motion track
    iou_gate: float = 0.2  # minimum box overlap for a motion match
    motion_min_similarity: float = 0.3  # ... whose appearance must not be this unlike
    iou_weight: float = 0.3  # weight of (1 - IoU) next to (1 - similarity) in the matching cost
    appearance_margin: float = 0.08  # a match must look nearly as alike as the most alike (followed) student
    motion_veto_margin: float = 0.25  # no motion match when a student not followed is this much more alike
    appearance_match: float = 0.75  # this alike is a match wherever the face is (tiles re-ordered)
    reid_similarity: float = 0.60  # this alike brings back a student who was away
    reid_clear_similarity: float = 0.50  # ... and this alike, when each is the other's clear best by ``reid_clear_margin``
    reid_clear_margin: float = 0.10
    gallery_momentum: float = 0.95  # how slowly a student's remembered appearance adapts
    max_students: int = 1000  # oldest away students are forgotten past this
    duplicate_within_s: float = 5.0  # a student this new, never seen beside the one a face is matched to, may be them


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
        #: ``(duplicate, student)`` pairs the last ``update`` found to be one student (see ``_duplicates``)
        self.merged: list[tuple[int, int]] = []

    def update(self, boxes: np.ndarray, embeddings: np.ndarray, timestamp: float) -> list[int]:
        """Student id for each box (``(N, 4)`` x, y, w, h) with its ``(N, D)`` unit embedding."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        self.merged = []
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
            # (and far less alike than a student not followed now: a face back after a layout change)
            by_motion = ((iou >= self.config.iou_gate) & (sim >= self.config.motion_min_similarity)
                         & (sim >= sim.max(axis=0)[None, :] - margin)
                         & (sim >= best_similarity[None, :] - self.config.motion_veto_margin))
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
            self._reid_clear_best(ids, similarity, index_of, candidates, free_dets)

        # 3) a new track that was this face's a moment ago is a duplicate of the student matched now
        self.merged = self._duplicates(ids, boxes, active, timestamp)
        for duplicate, _ in self.merged:
            del self.students[duplicate]

        # 4) new students, then update everyone matched.
        for j in range(len(boxes)):
            if ids[j] is None:
                ids[j] = self._new_student(embeddings[j], timestamp)
            self._observe(self.students[ids[j]], boxes[j], embeddings[j], timestamp)
        self._forget_oldest()
        return [int(i) for i in ids]

    def _reid_clear_best(self, ids: list[int | None], similarity: np.ndarray, index_of: dict[int, int],
                         candidates: list[StudentTrack], free_dets: list[int]) -> None:
        """Faces still without a student (``ids`` None) that are less alike their student than
        ``reid_similarity`` (a face back after a layout change is cropped anew) but each the other's
        clearly best match: the face is far more like this student than like any other student (matched
        to a face of this frame or not), and the student far more like this face than any other unmatched face."""
        free_dets = [j for j in free_dets if ids[j] is None]
        taken = {i for i in ids if i is not None}
        candidates = [s for s in candidates if s.student_id not in taken]
        if not free_dets or not candidates:
            return
        rows = [index_of[s.student_id] for s in candidates]
        sim = similarity[np.ix_(rows, free_dets)]
        margin = self.config.reid_clear_margin
        for c, j in enumerate(free_dets):
            r = int(sim[:, c].argmax())
            best = sim[r, c]
            others_for_face = np.delete(similarity[:, j], rows[r])  # every other student, matched or not
            others_for_student = np.delete(sim[r], c)
            if (best >= self.config.reid_clear_similarity
                    and (not len(others_for_face) or best - others_for_face.max() >= margin)
                    and (not len(others_for_student) or best - others_for_student.max() >= margin)):
                ids[j] = candidates[r].student_id
                sim[r] = -np.inf  # one face per student

    def _duplicates(self, ids: list[int | None], boxes: np.ndarray, active: list[StudentTrack],
                    timestamp: float) -> list[tuple[int, int]]:
        """Tracks begun for a student's face while it was missed (a tile that moved far, a look that
        changed): ``(duplicate, student)`` where the face matched to ``student`` now is where an
        unmatched track, begun within ``duplicate_within_s`` and never seen beside ``student``, expected it."""
        taken = {i for i in ids if i is not None}
        spare = [s for s in active if s.student_id not in taken
                 and timestamp - s.first_seen <= self.config.duplicate_within_s]
        pairs: list[tuple[int, int]] = []
        for j, student_id in enumerate(ids):
            if student_id is None or not spare:
                continue
            student = self.students[student_id]
            iou = iou_matrix(np.stack([s.predicted_box for s in spare]), boxes[j][None])[:, 0]
            for k in np.argsort(-iou).tolist():
                if iou[k] >= self.config.iou_gate and spare[k].first_seen > student.last_seen:
                    pairs.append((spare.pop(k).student_id, student_id))
                    break
        return pairs

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
