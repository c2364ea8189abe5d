"""Detection alone, following faces or not, on the benchmark's own meeting clips (issue 22).

Reads the clips ``python -m benchmarks run`` wrote (``.bench/work/full/meeting_NNfaces_clipC_II.png``:
one 640x480 webcam face, 3x3, 5x5 and 7x7 galleries at 1920x1080, 10 consecutive frames each) and
times ``detect`` per frame as a stream: ``FollowingDetector(YuNetDetector())`` against
``YuNetDetector()`` alone (YuNet's own frame-to-frame scale), the two alternating clip by clip,
``--repeats`` times, so both see the same load. Prints the median ms per frame and the share of
frames followed; run from the repository root after a benchmark run:
``python experiments/scripts/follow_speed.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2

from classmood.detect import FollowingDetector, YuNetDetector

WORK = Path(".bench/work/full")


def clips(folder: Path) -> dict[int, list[list]]:
    """Face count -> clips -> frames (BGR), in frame order."""
    found: dict[tuple[int, int], list[tuple[int, Path]]] = defaultdict(list)
    for path in folder.glob("meeting_*faces_clip*_*.png"):
        n, c, i = map(int, re.match(r"meeting_(\d+)faces_clip(\d+)_(\d+)\.png", path.name).groups())
        found[(n, c)].append((i, path))
    out: dict[int, list[list]] = defaultdict(list)
    for (n, _), frames in sorted(found.items()):
        out[n].append([cv2.imread(str(p)) for _, p in sorted(frames)])
    return dict(out)


def time_clip(detector, frames) -> tuple[list[float], int]:
    detector.reset(True)
    times, followed = [], 0
    for frame in frames:
        t0 = time.perf_counter()
        detector.detect(frame)
        times.append(time.perf_counter() - t0)
        followed += getattr(detector, "last_mode", "") == "follow"
    detector.reset(False)
    return times, followed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    by_count = clips(args.work)
    if not by_count:
        raise SystemExit(f"error: no meeting clips in {args.work} (run python -m benchmarks run first)")
    ways = {"following": FollowingDetector(YuNetDetector()), "whole frames": YuNetDetector()}
    print(f"load before: {os.getloadavg()[0]:.1f}")
    for n, its_clips in sorted(by_count.items()):
        times = {w: [] for w in ways}
        followed = frames = 0
        for r in range(args.repeats):
            for clip in its_clips:
                for way in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
                    t, f = time_clip(ways[way], clip)
                    times[way] += t
                    if way == "following":
                        followed, frames = followed + f, frames + len(clip)
        medians = {w: statistics.median(t) * 1e3 for w, t in times.items()}
        print(f"{n} face(s): " + ", ".join(f"{w} {m:.2f} ms" for w, m in medians.items())
              + f" (median per frame; {followed / frames:.0%} of frames followed)", flush=True)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
