"""Output writers: annotated image/mp4 and the per-frame face table (CSV + Parquet), all atomic."""

from __future__ import annotations

from classmood.output.atomic import AtomicWriter, atomic_path, write_text_atomic
from classmood.output.media import VideoWriter, write_image
from classmood.output.table import COLUMNS, FaceTableWriter, result_rows

__all__ = ["COLUMNS", "AtomicWriter", "FaceTableWriter", "VideoWriter", "atomic_path", "result_rows", "write_image", "write_text_atomic"]
