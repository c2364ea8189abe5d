"""classmood: real-time class mood from faces, offline, on a laptop CPU."""

from classmood.emotions import EMOTIONS
from classmood.types import Detections, Face, Frame, FrameResult

__version__ = "0.1.0"

__all__ = ["EMOTIONS", "Detections", "Face", "Frame", "FrameResult", "__version__"]
