"""Per-frame face table, streamed to CSV and Parquet (one row per face per frame).

Columns: frame, timestamp, face (index within the frame), x, y, w, h, score,
emotion, confidence, then ``p_<class>`` for each of the 7 classes, plus
``student_id`` (empty unless a tracker set it). Frames without faces have no rows.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from classmood.emotions import EMOTIONS
from classmood.output.atomic import AtomicWriter, naming, partial_path
from classmood.types import FrameResult

COLUMNS = ["frame", "timestamp", "face", "x", "y", "w", "h", "score", "emotion", "confidence",
           *(f"p_{c}" for c in EMOTIONS), "student_id"]

SCHEMA = pa.schema(
    [("frame", pa.int64()), ("timestamp", pa.float64()), ("face", pa.int32()),
     ("x", pa.int32()), ("y", pa.int32()), ("w", pa.int32()), ("h", pa.int32()),
     ("score", pa.float32()), ("emotion", pa.string()), ("confidence", pa.float32()),
     *((f"p_{c}", pa.float32()) for c in EMOTIONS), ("student_id", pa.int64())]
)


def result_rows(result: FrameResult) -> list[dict]:
    """Table rows for one frame."""
    rows = []
    for i, face in enumerate(result.detections.to_faces()):
        x, y, w, h = face.box
        row = {"frame": result.frame.index, "timestamp": round(result.frame.timestamp, 4), "face": i,
               "x": x, "y": y, "w": w, "h": h, "score": round(face.score, 4), "emotion": face.emotion,
               "confidence": round(face.confidence, 4)}
        row.update({f"p_{c}": round(face.probabilities[c], 4) for c in EMOTIONS})
        row["student_id"] = face.student_id
        rows.append(row)
    return rows


class FaceTableWriter(AtomicWriter):
    """Streams rows to ``<stem>.csv`` and ``<stem>.parquet``; both appear only on ``close()``.

    Rows are flushed to Parquet in row groups of ``batch_rows`` so long videos stay in bounded memory.
    """

    def __init__(self, csv_path: str | Path | None, parquet_path: str | Path | None, batch_rows: int = 5000) -> None:
        self.csv_path = Path(csv_path) if csv_path else None
        self.parquet_path = Path(parquet_path) if parquet_path else None
        self.batch_rows = batch_rows
        self.rows_written = 0
        self._pending: list[dict] = []
        self._csv_tmp = self._pq_tmp = None
        self._csv_file = self._csv = self._pq = self._pq_file = None
        try:
            self._open()
        except BaseException:
            self.abort()  # the first file may be open when the second cannot be
            raise

    def _open(self) -> None:
        if self.csv_path:
            self.csv_path.parent.mkdir(parents=True, exist_ok=True)
            self._csv_tmp = partial_path(self.csv_path)
            self._csv_file = open(self._csv_tmp, "w", newline="")  # noqa: SIM115 - open until close()
            self._csv = csv.DictWriter(self._csv_file, fieldnames=COLUMNS)
            self._csv.writeheader()
        if self.parquet_path:
            self.parquet_path.parent.mkdir(parents=True, exist_ok=True)
            self._pq_tmp = partial_path(self.parquet_path)
            # a Python file, not a path: Arrow cannot take a file name that is not valid UTF-8
            self._pq_file = open(self._pq_tmp, "wb")  # noqa: SIM115 - open until close()
            self._pq = pq.ParquetWriter(self._pq_file, SCHEMA)

    def add(self, result: FrameResult) -> None:
        rows = result_rows(result)
        if self._csv:
            with naming(self.csv_path, self._csv_tmp):
                self._csv.writerows(rows)
        self._pending.extend(rows)
        self.rows_written += len(rows)
        if len(self._pending) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pq is not None and self._pending:
            with naming(self.parquet_path, self._pq_tmp):
                self._pq.write_table(pa.Table.from_pylist(self._pending, schema=SCHEMA))
        self._pending = []

    def finish(self) -> None:
        """Complete both temp files (a full disk shows here); nothing is renamed yet."""
        self._flush()
        if self._csv_file is not None:
            with naming(self.csv_path, self._csv_tmp):
                self._csv_file.close()
            self._csv_file = None
        if self._pq is not None:
            with naming(self.parquet_path, self._pq_tmp):
                self._pq.close()
                self._pq_file.close()
            self._pq = self._pq_file = None

    def commit(self) -> list[Path]:
        """Move both finished files into place; returns the written paths."""
        written = []
        for tmp, path in ((self._csv_tmp, self.csv_path), (self._pq_tmp, self.parquet_path)):
            if tmp is not None and tmp.exists():
                with naming(path, tmp):
                    tmp.replace(path)
                written.append(path)
        return written

    def abort(self) -> None:
        """Drop both partial files (closing them may fail again on a full disk: they go anyway)."""
        with contextlib.suppress(OSError):
            if self._csv_file is not None:
                self._csv_file.close()
        with contextlib.suppress(OSError):
            if self._pq is not None:
                self._pq.close()
        with contextlib.suppress(OSError):
            if self._pq_file is not None:
                self._pq_file.close()
        self._csv_file = self._pq = self._pq_file = None
        for tmp in (self._csv_tmp, self._pq_tmp):
            if tmp is not None:
                tmp.unlink(missing_ok=True)
