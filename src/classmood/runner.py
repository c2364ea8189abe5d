"""Run the pipeline over a whole source and write the requested outputs.

Used by ``classmood analyze``: a photo gives one result, a folder one result per
readable image, a video or live source a stream of results plus an annotated mp4
and a per-frame table. Every output file is written atomically; those of a truncated video are
named ``<stem>.truncated.*`` so they are never taken for the whole video.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from classmood.emotions import EMOTIONS
from classmood.output.window import LiveWindow
from classmood.pipeline import STAGES, Pipeline
from classmood.sources import FolderSource, Source
from classmood.sources.base import Truncation
from classmood.types import FrameResult

#: Frame rate of the annotated mp4 of a live source (frames are repeated over dropped ones).
LIVE_VIDEO_FPS = 10.0


@dataclass(slots=True)
class RunSummary:
    """What a run over a multi-frame source produced."""

    source: str
    kind: str
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0
    dropped: int = 0
    emotions: Counter = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    interrupted: bool = False
    truncation: Truncation | None = None  # the video ended before its container said it would

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.faces += len(result.detections)
        if len(result.detections):
            self.emotions.update(result.detections.emotions)
        for stage, sec in result.timings.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + sec

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def stage_ms(self) -> dict[str, float]:
        """Mean milliseconds per frame for each pipeline stage."""
        if not self.frames:
            return {}
        return {s: round(1000 * self.stage_seconds[s] / self.frames, 2) for s in STAGES if s in self.stage_seconds}

    def to_dict(self) -> dict:
        out = {
            "source": self.source,
            "kind": self.kind,
            "frames": self.frames,
            "faces": self.faces,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "stage_ms": self.stage_ms(),
            "emotions": {e: self.emotions.get(e, 0) for e in EMOTIONS},
            "outputs": [str(p) for p in self.outputs],
            "interrupted": self.interrupted,
            "truncated": self.truncation is not None,
        }
        if self.truncation is not None:
            out["frames_read"] = self.truncation.frames_read
            out["frames_expected"] = self.truncation.frames_expected
        if self.dropped:
            out["dropped"] = self.dropped
        if self.skipped:
            out["skipped"] = self.skipped
        out["results"] = self.results
        return out


def output_stem(spec: str) -> str:
    """File-name stem for outputs of a source spec (``lecture`` for ``lecture.mp4``, ``webcam0``...)."""
    if spec.isdigit():
        return f"webcam{spec}"
    if spec.startswith("screen"):
        return "screen"
    if "://" in spec:
        return "stream"
    return Path(spec.rstrip("/")).stem or "output"


def truncated_name(path: Path, stem: str) -> Path:
    """``lecture.annotated.mp4`` -> ``lecture.truncated.annotated.mp4``: the output of a cut video says so."""
    return path.with_name(f"{stem}.truncated{path.name[len(stem):]}")


def run_folder(pipeline: Pipeline, source: FolderSource, out_dir: Path | None, *, progress: bool,
               window: LiveWindow | None = None) -> RunSummary:
    """Analyse every image of a folder; annotated copies go to ``out_dir``."""
    from tqdm import tqdm

    from classmood.output import write_image

    summary = RunSummary(str(source.folder), "folder")
    start = time.perf_counter()
    bar = tqdm(total=source.frame_count, unit="img", desc="analyze", disable=not progress, leave=False)
    for result in pipeline.run(source):
        path = source.paths[result.frame.index]
        summary.add(result)
        entry = {"path": str(path), "width": result.frame.width, "height": result.frame.height,
                 "faces": result.detections.to_dicts()}
        summary.results.append(entry)
        if out_dir is not None and result.annotated is not None:
            summary.outputs.append(write_image(out_dir / f"{path.stem}.annotated.jpg", result.annotated))
        bar.update(result.frame.index + 1 + len(source.skipped) - bar.n)  # files done so far
        if window is not None and not window.show(result.annotated):
            break
    bar.close()
    summary.seconds = time.perf_counter() - start
    summary.skipped = [{"path": str(p), "error": why} for p, why in source.skipped]
    return summary


def run_stream(pipeline: Pipeline, source: Source, spec: str, kind: str, out_dir: Path | None, *,
               progress: bool, keep_results: bool, window: LiveWindow | None = None) -> RunSummary:
    """Analyse a video or live source; writes ``<stem>.annotated.mp4`` and the face table to ``out_dir``."""
    from tqdm import tqdm

    from classmood.output import FaceTableWriter, VideoWriter
    from classmood.output.atomic import close_together

    summary = RunSummary(spec, kind)
    stem = output_stem(spec)
    video = table = None
    if out_dir is not None:
        fps = LIVE_VIDEO_FPS if source.live else (source.fps or LIVE_VIDEO_FPS)
        video = VideoWriter(out_dir / f"{stem}.annotated.mp4", fps)
        table = FaceTableWriter(out_dir / f"{stem}.faces.csv", out_dir / f"{stem}.faces.parquet")
    bar = tqdm(total=source.frame_count, unit="frame", desc="analyze", disable=not progress, leave=False)
    start = time.perf_counter()
    try:
        try:
            for result in pipeline.run(source):
                summary.add(result)
                if keep_results:
                    summary.results.append(result.to_dict())
                if video is not None:
                    video.write_at(result.annotated, result.frame.timestamp)
                    table.add(result)
                bar.update(1)
                if window is not None and not window.show(result.annotated):
                    break
        except KeyboardInterrupt:  # Ctrl-C ends a live run cleanly, keeping what was analysed
            summary.interrupted = True
        summary.seconds = time.perf_counter() - start
        summary.dropped = getattr(source, "dropped", 0)
        summary.truncation = source.truncation
        if video is not None and summary.truncation is not None:  # never presented as the whole video
            video.path, table.csv_path, table.parquet_path = (
                truncated_name(p, stem) for p in (video.path, table.csv_path, table.parquet_path))
        if video is not None:
            movie, tables = close_together(video, table)
            summary.outputs.extend(([movie] if movie is not None else []) + tables)
    except BaseException:
        if video is not None:
            video.abort()
            table.abort()
        raise
    finally:
        bar.close()
    return summary
