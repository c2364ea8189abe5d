"""Test media for the pipeline tests: real FER-2013 faces from ../shared, scenes and videos built from them.

Nothing from the data set is copied into the repository; files are made in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FER = REPO.parent / "shared" / "datasets" / "fer2013"


def fer_files(cls: str, n: int, split: str = "publictest") -> list[Path]:
    """The first ``n`` FER-2013 images of a class (sorted, so tests are repeatable)."""
    folder = FER / split / cls
    if not folder.is_dir():
        pytest.skip(f"FER-2013 not found at {folder}")
    files = sorted(folder.glob("*.jpg"))[:n]
    assert len(files) == n, f"expected {n} images in {folder}"
    return files


def fer_face(cls: str = "happy", i: int = 0) -> np.ndarray:
    """One real FER face as BGR uint8 48x48."""
    return cv2.imread(str(fer_files(cls, i + 1)[i]))


def scene(size=(480, 640), faces=(("happy", 0, (100, 120), 144),)) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A grey canvas with FER faces pasted at known places: ``faces`` = (class, i, (x, y), side).

    Returns the BGR image and the pasted squares as x, y, w, h.
    """
    h, w = size
    canvas = np.full((h, w, 3), 90, np.uint8)
    placed = []
    for cls, i, (x, y), side in faces:
        canvas[y:y + side, x:x + side] = cv2.resize(fer_face(cls, i), (side, side), interpolation=cv2.INTER_CUBIC)
        placed.append((x, y, side, side))
    return canvas, placed


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def two_face_video(path: Path, n: int = 8, fps: float = 10.0) -> Path:
    """A 640x480 video with two real faces drifting right by 4 px a frame (back every 15 frames)."""
    frames = []
    for k in range(n):
        img, _ = scene(faces=(("happy", 0, (60 + 4 * (k % 15), 100), 150), ("surprise", 0, (380 + 4 * (k % 15), 160), 150)))
        frames.append(img)
    return write_video(path, frames, fps)


def cut_video(video: Path, out: Path, keep: float = 0.45) -> Path:
    """A real mp4 cut short: remuxed with its index (moov) first, as cameras and phones write them,
    then only the first ``keep`` of its bytes kept, as an interrupted copy or download leaves it."""
    import av

    whole = out.with_name(f"{out.stem}.whole.mp4")
    with av.open(str(video)) as src, av.open(str(whole), "w", format="mp4", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = whole.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m classmood ARGS`` as a user would; returns the CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "classmood", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
