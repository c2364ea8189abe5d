"""Stable student ids for the faces of a class: tracking, re-identification, name labels."""

from classmood.track.appearance import EMBEDDING_DIM, crop_embedding, embed_crops, embed_faces
from classmood.track.tracker import StudentTracker, TrackerConfig

__all__ = ["EMBEDDING_DIM", "StudentTracker", "TrackerConfig", "crop_embedding", "embed_crops", "embed_faces"]
