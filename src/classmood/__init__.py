"""classmood: real-time class mood from faces, offline, on a laptop CPU.

The public API stays light to import; the heavy parts load on first use::

    import classmood
    faces = classmood.analyze("photo.jpg")            # list[Face]
    for snapshot in classmood.monitor("lesson.mp4", session="physics 3B"):
        print(snapshot.mood.engagement)               # ClassSnapshot per frame, recorded per second
    with classmood.open_source("lecture.mp4") as src:
        for result in classmood.Pipeline().run(src):  # FrameResult per frame
            ...
"""

from __future__ import annotations

import os
from importlib import import_module

# ONNX Runtime 1.3x starts Microsoft's 1DS telemetry when it is imported: a device id and an event
# store under ~/.cache/Microsoft, and an HTTP client. classmood never sends anything: off before
# any of its modules imports onnxruntime (child processes inherit it).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError
from classmood.types import Detections, Face, Frame, FrameResult

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "analyze": "classmood.api",
    "monitor": "classmood.class_session.watch",
    "ClassSession": "classmood.class_session",
    "ClassSettings": "classmood.class_session",
    "ClassSnapshot": "classmood.class_session",
    "Pipeline": "classmood.pipeline",
    "open_source": "classmood.sources",
    "read_image": "classmood.sources",
    "Source": "classmood.sources",
    "EmotionClassifier": "classmood.classify",
    "list_models": "classmood.classify",
    "YuNetDetector": "classmood.detect",
    "WholeImageDetector": "classmood.detect",
    "FaceDetector": "classmood.detect",
    "draw_faces": "classmood.annotate",
}

__all__ = ["EMOTIONS", "ClassmoodError", "Detections", "Face", "Frame", "FrameResult", "__version__", *_LAZY]  # noqa: PLE0604 - the keys


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'classmood' has no attribute {name!r}")
