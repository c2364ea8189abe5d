"""Short recorded classes cut from the bundled sample class, and what a plain single-process run
(``watch_class`` in this process, no Ray) stores for each: what every batch run must store too."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from classmood.assets import SAMPLE_VIDEO
from fixtures.media import write_video

from batch_clips import CLIPS, SETTINGS, stored


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """The four clips as mp4 files (MPEG-4 Part 2, as the project's own video writer makes them)."""
    folder = tmp_path_factory.mktemp("recordings")
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) == 210
    return {name: write_video(folder / f"{name}.mp4", frames[start:end], fps=15.0)
            for name, (start, end) in CLIPS.items()}


@pytest.fixture(scope="session")
def reference(clips, tmp_path_factory) -> dict[str, tuple[int, float, int]]:
    """(students, seconds, rows) of each clip analysed by the plain single-process path, one pipeline."""
    from classmood.class_session.watch import watch_class
    from classmood.consent import require_confirmation

    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'plain.db'}"
    pipeline, counts = SETTINGS.pipeline(), {}
    for name, path in clips.items():
        with watch_class(path, name, settings=SETTINGS, db=url, consent=require_confirmation(),
                         pipeline=pipeline) as watched:
            for _ in watched.snapshots():
                pass
        counts[name] = stored(url, name).counts
    return counts
