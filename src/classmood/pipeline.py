"""The streaming pipeline: decode -> detect -> classify -> (annotate), timed per stage.

``Pipeline.process(frame)`` analyses one frame (``locate`` the faces, then ``classify`` them: a
class session runs the two apart, to skip students who opted out); ``Pipeline.run(source)`` streams a
``Source`` and records in ``FrameResult.timings`` the seconds spent in each stage
(``decode`` is the wait for the source's next frame).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from classmood.classify import DEFAULT_MODEL, EmotionClassifier
from classmood.detect import FaceDetector, YuNetDetector, follow_faces
from classmood.types import Frame, FrameResult

STAGES = ("decode", "detect", "classify", "annotate")


class Pipeline:
    """Face detection + emotion classification over frames.

    ``max_faces`` keeps the highest-scoring faces only; ``annotate=True`` fills
    ``FrameResult.annotated`` with boxes, labels and confidence bars. On a continuous source the
    detector follows the faces it knows between full detections (``FollowingDetector``);
    ``follow=False`` searches every frame whole.
    """

    def __init__(self, detector: FaceDetector | None = None, classifier: EmotionClassifier | None = None, *,
                 model: str | Path = DEFAULT_MODEL, max_faces: int | None = None, annotate: bool = False,
                 follow: bool = True) -> None:
        detector = detector if detector is not None else YuNetDetector()
        self.detector = follow_faces(detector) if follow else detector
        self.classifier = classifier if classifier is not None else EmotionClassifier(model)
        self.max_faces = max_faces
        self.annotate = annotate

    def reset(self, continuous: bool = False) -> None:
        """Tell the detector and the classifier a new source starts; ``continuous=True``
        (consecutive frames of one video or live feed) lets the detector follow the previous
        frame's faces and the classifier spread its mirror-image average over two frames. ``run``
        does this itself; call it when feeding ``process`` the frames of a live feed one by one."""
        for stage in (self.detector, self.classifier):
            reset = getattr(stage, "reset", None)
            if reset is not None:
                reset(continuous)

    def locate(self, frame: Frame) -> FrameResult:
        """Find the faces of one frame and crop each as the classifier will see it; no emotion yet
        (a class session decides in between which faces may be classified: opted-out students not)."""
        t0 = time.perf_counter()
        detections = self.detector.detect(frame.image)
        if self.max_faces is not None and len(detections) > self.max_faces:
            detections = detections[: self.max_faces]  # detectors return faces best-first
        t1 = time.perf_counter()
        detections = self.classifier.crop(frame.image, detections)
        return FrameResult(frame, detections, {"detect": t1 - t0, "classify": time.perf_counter() - t1})

    def classify(self, result: FrameResult) -> FrameResult:
        """Fill the emotion probabilities of the faces ``locate`` found (and that are still in ``result``)."""
        t0 = time.perf_counter()
        result.detections = self.classifier.classify_crops(result.detections)
        result.timings["classify"] = result.timings.get("classify", 0.0) + time.perf_counter() - t0
        return result

    def process(self, frame: Frame) -> FrameResult:
        """Analyse one frame: ``locate`` then ``classify`` every face."""
        result = self.classify(self.locate(frame))
        if self.annotate:
            from classmood.annotate import draw_faces

            t0 = time.perf_counter()
            result.annotated = draw_faces(frame.image, result.detections)
            result.timings["annotate"] = time.perf_counter() - t0
        return result

    def run(self, source) -> Iterator[FrameResult]:
        """Stream results for every frame of ``source`` (any iterable of ``Frame``).

        For a continuous source (``source.continuous``: video, webcam, screen, stream)
        the detector may use what it saw in the previous frame (see ``FollowingDetector``, ``YuNetDetector``).
        """
        self.reset(bool(getattr(source, "continuous", False)))
        try:
            frames = iter(source)
            while True:
                t0 = time.perf_counter()
                try:
                    frame = next(frames)
                except StopIteration:
                    return
                decode = time.perf_counter() - t0
                result = self.process(frame)
                result.timings = {"decode": decode, **result.timings}
                yield result
        finally:
            self.reset(False)
