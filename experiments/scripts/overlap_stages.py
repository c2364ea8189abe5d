"""Does overlapping the stages of consecutive frames pay on 2 cores? (issue 22)

Times ``Pipeline.run`` over two real videos, decoded from disk: the bundled sample class (960x540, 9
faces) and a rendered 25-face gallery at 1920x1080 (written to a temporary mp4, deleted after). Four
ways, each in its own process (fresh ONNX Runtime sessions), alternating, ``--rounds`` times:

- ``sequential-2t``: today's pipeline, decode -> detect -> classify one frame after another, both ONNX
  sessions with 2 intra-op threads (the default on 2 cores);
- ``sequential-1t``: the same with 1 intra-op thread per session;
- ``overlap-1t``: three threads joined by one-frame queues (decode frame i+2 | detect frame i+1 |
  classify frame i), 1 intra-op thread per session so the two ONNX sessions never ask for more
  than the 2 cores (ONNX Runtime and OpenCV's decoder release the GIL);
- ``overlap-2t``: the same overlap with 2 intra-op threads per session (oversubscribed: up to 4).

Prints frames/s per way and round and the median; ``--json`` writes them. Run it from the repository
root: ``python experiments/scripts/overlap_stages.py --rounds 3``. Load (``uptime``) is printed
before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

WAYS = ("sequential-2t", "sequential-1t", "overlap-1t", "overlap-2t")
END = object()


def render_gallery(path: Path, faces: int = 25, seconds: float = 4.0, fps: int = 15) -> Path:
    """A rendered meeting gallery of ``faces`` real portraits at 1920x1080, people gently moving."""
    from classmood.assets.gallery import compose_gallery, varied_participants, write_gallery_video

    people = varied_participants(faces, seed=22)
    frames = (compose_gallery(people, 1920, 1080, i / fps) for i in range(int(seconds * fps)))
    write_gallery_video(path, frames, fps)
    return path


def _pipeline(threads: int):
    from classmood.classify import EmotionClassifier
    from classmood.detect import YuNetDetector
    from classmood.pipeline import Pipeline

    return Pipeline(YuNetDetector(threads=threads), EmotionClassifier("realtime", threads=threads))


def sequential(video: str, threads: int) -> tuple[int, float]:
    from classmood.sources import VideoFileSource

    pipeline = _pipeline(threads)
    with VideoFileSource(video) as source:
        start = time.perf_counter()
        n = sum(1 for _ in pipeline.run(source))
    return n, time.perf_counter() - start


def overlapped(video: str, threads: int) -> tuple[int, float]:
    """decode | locate | classify in three threads, one frame in flight between each."""
    from classmood.sources import VideoFileSource

    pipeline = _pipeline(threads)
    decoded, located = queue.Queue(maxsize=1), queue.Queue(maxsize=1)

    def decode(source):
        for frame in source:
            decoded.put(frame)
        decoded.put(END)

    def locate():
        while (frame := decoded.get()) is not END:
            located.put(pipeline.locate(frame))
        located.put(END)

    with VideoFileSource(video) as source:
        pipeline.reset(True)
        start = time.perf_counter()
        workers = [threading.Thread(target=decode, args=(source,)), threading.Thread(target=locate)]
        for w in workers:
            w.start()
        n = 0
        while (result := located.get()) is not END:
            pipeline.classify(result)
            n += 1
        for w in workers:
            w.join()
    return n, time.perf_counter() - start


def one(way: str, video: str) -> float:
    """frames/s of one way over one video (run in a child process)."""
    threads = 1 if way.endswith("1t") else 2
    run = sequential if way.startswith("sequential") else overlapped
    run(video, threads)  # warm-up pass (sessions, caches)
    n, seconds = run(video, threads)
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(*args.child)))
        return
    from classmood.assets import SAMPLE_VIDEO

    print("load before:", os.getloadavg())
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        videos = {"sample class 960x540, 9 faces": str(SAMPLE_VIDEO),
                  "gallery 1920x1080, 25 faces": str(render_gallery(Path(tmp) / "gallery25.mp4"))}
        for label, video in videos.items():
            results[label] = {w: [] for w in WAYS}
            for r in range(args.rounds):
                for way in (WAYS if r % 2 == 0 else WAYS[::-1]):
                    out = subprocess.run([sys.executable, __file__, "--child", way, video], capture_output=True,
                                         text=True, check=True)
                    results[label][way].append(json.loads(out.stdout.strip().splitlines()[-1]))
                    print(f"{label}: {way} round {r + 1}: {results[label][way][-1]:.1f} frames/s", flush=True)
    print("load after:", os.getloadavg())
    for label, ways in results.items():
        print(label + ": " + ", ".join(f"{w} {statistics.median(v):.1f}" for w, v in ways.items()) + " frames/s (median)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "load_after": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
