"""Draw faces on a frame: box, emotion label with confidence, and a confidence bar."""

from __future__ import annotations

import cv2
import numpy as np

from classmood.types import Detections, Face

#: BGR colour per emotion, chosen to be told apart at a glance.
EMOTION_COLORS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 40),
    "fear": (160, 60, 160),
    "happy": (40, 200, 250),
    "neutral": (200, 200, 200),
    "sad": (200, 120, 40),
    "surprise": (230, 160, 255),
}


OPTED_OUT_COLOR = (128, 128, 128)


def draw_faces(image: np.ndarray, faces: Detections | list[Face], *, copy: bool = True,
               opted_out: Detections | None = None) -> np.ndarray:
    """Return ``image`` (a copy unless ``copy=False``) with every face annotated, and the faces of
    students who opted out (``opted_out``: boxes only) marked "opted out" and nothing else."""
    if isinstance(faces, Detections):
        faces = faces.to_faces()
    out = image.copy() if copy else image
    scale = max(0.5, min(1.2, max(out.shape[:2]) / 1000))
    thick = max(1, int(round(2 * scale)))
    for face in faces:
        _draw_face(out, face, scale, thick)
    for box in ([] if opted_out is None else np.round(opted_out.boxes).astype(int).tolist()):
        _draw_label(out, box, "opted out", OPTED_OUT_COLOR, scale, thick)
    return out


def face_label(face: Face) -> str:
    """What a face is labelled with: its student (when tracked), emotion and confidence."""
    prefix = f"#{face.student_id} " if face.student_id is not None else ""
    return f"{prefix}{face.emotion} {face.confidence:.0%}"


def _draw_face(out: np.ndarray, face: Face, scale: float, thick: int) -> None:
    color = EMOTION_COLORS.get(face.emotion, (255, 255, 255))
    _draw_label(out, face.box, face_label(face), color, scale, thick, face.confidence)


def _draw_label(out: np.ndarray, box, label: str, color: tuple[int, int, int], scale: float, thick: int,
                confidence: float | None = None) -> None:
    """A box with its label above (inside when there is no room), and a confidence bar under the label."""
    x, y, w, h = box
    cv2.rectangle(out, (x, y), (x + w, y + h), color, thick, cv2.LINE_AA)
    font_scale = 0.5 * scale + 0.15
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
    bar_h = max(3, int(round(5 * scale)))
    top = y - th - base - bar_h - 4
    if top < 0:  # no room above the box: put the label inside it
        top = y + 1
    cv2.rectangle(out, (x, top), (x + max(tw + 4, w), top + th + base + bar_h + 4), (0, 0, 0), -1)
    cv2.putText(out, label, (x + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, 1, cv2.LINE_AA)
    if confidence is not None:
        bar_y = top + th + base + 2
        bar_w = max(tw, w)
        cv2.rectangle(out, (x + 2, bar_y), (x + 2 + int(bar_w * confidence), bar_y + bar_h), color, -1)
