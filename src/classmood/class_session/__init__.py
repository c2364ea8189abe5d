"""A class session: the one service that turns a video source into a recorded, watched class.

``ClassSettings`` says how a class is analysed, ``ClassSession`` runs it frame by frame and
``ClassSnapshot`` is what a dashboard draws after each frame.
"""

from classmood.class_session.session import ClassSession
from classmood.class_session.settings import ClassSettings
from classmood.class_session.snapshot import ClassSnapshot, MoodPoint

__all__ = ["ClassSession", "ClassSettings", "ClassSnapshot", "MoodPoint"]
