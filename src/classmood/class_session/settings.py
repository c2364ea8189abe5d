"""What every class session is analysed with: one settings vocabulary for the CLI, the app and the API.

``ClassSettings`` is the one set of names (``absent_after_s``, ``negative_after_s``...) that
``classmood monitor``, the web app and ``classmood.monitor()`` use in code and store, under the same
keys, as a session's settings JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from classmood.aggregate import AggregatorConfig, AlertConfig


@dataclass(frozen=True, slots=True)
class ClassSettings:
    """How a class session is analysed (durations in seconds, thresholds as fractions)."""

    model: str = "realtime"
    every: int = 1  # analyse every N-th frame of a video
    detect_size: int = 960  # longest side (px) searched for faces; 960 finds the small tiles of a gallery
    min_score: float = 0.6  # face detector score threshold
    max_faces: int = 60  # at most this many faces per frame
    absent_after_s: float = 60.0  # a student unseen this long raises an alert
    camera_off_is_absent: bool = False  # a student whose gallery tile shows no face counts as absent too
    negative_after_s: float = 120.0  # a student looking negative this long raises an alert
    negative_threshold: float = 0.5  # smoothed probability of angry+disgust+fear+sad that counts
    mood_drop: float = 0.15  # class engagement this far below its baseline raises an alert
    read_names: bool = True  # read gallery tiles' name labels with OCR (RapidOCR or Tesseract), when installed

    def aggregator_config(self) -> AggregatorConfig:
        """The aggregator's alert thresholds for these settings."""
        return AggregatorConfig(alerts=AlertConfig(
            absent_after_s=self.absent_after_s, camera_off_is_absent=self.camera_off_is_absent,
            negative_after_s=self.negative_after_s,
            negative_threshold=self.negative_threshold, mood_drop=self.mood_drop))

    def pipeline(self):
        """The detector + emotion classifier these settings describe."""
        from classmood.detect import YuNetDetector
        from classmood.pipeline import Pipeline

        return Pipeline(YuNetDetector(score_threshold=self.min_score, max_side=self.detect_size), model=self.model,
                        max_faces=self.max_faces)

    def pipeline_settings(self) -> dict:
        """The part of these settings that builds the pipeline (for a pipeline in another process)."""
        return {"model": self.model, "detect_size": self.detect_size, "min_score": self.min_score,
                "max_faces": self.max_faces}

    def stored(self) -> dict:
        """The settings JSON recorded with the session (the same keys from every caller)."""
        return asdict(self)
