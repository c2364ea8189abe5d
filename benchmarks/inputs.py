"""Writes every benchmark input to disk once: crops, meeting frames, detection photos, true boxes.

Workers of every system read the same files, so all systems see identical pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.fer2013 import DEFAULT_ROOT, CropSet, load_crops
from benchmarks.gallery import CLIP_FPS, LAYOUTS, build_clip, build_scene


@dataclass(frozen=True)
class Config:
    """How much of everything a run measures (``QUICK`` for a smoke run, ``FULL`` for the docs)."""

    name: str
    crops_per_class: int | None  # publictest crops per class (None: all 3,589)
    clips_per_count: int  # meetings (different faces) per face count
    frames_per_clip: int  # consecutive frames of each meeting
    warmup: int
    repeats: int
    stage_frames: int  # frames per clip timed a second time stage by stage (peers without stage timings)
    fer_gallery_frames: int  # frames per face count of the FER-2013 galleries in the detection set
    scenes: int  # 'group photos' of FER faces for the detection set
    video_frames: int  # frames taken from the shipped sample class video (licensed portraits)
    face_counts: tuple[int, ...] = tuple(LAYOUTS)


QUICK = Config("quick", crops_per_class=30, clips_per_count=1, frames_per_clip=4, warmup=1, repeats=1,
               stage_frames=2, fer_gallery_frames=1, scenes=2, video_frames=2)
FULL = Config("full", crops_per_class=None, clips_per_count=3, frames_per_clip=10, warmup=1, repeats=1,
              stage_frames=4, fer_gallery_frames=4, scenes=12, video_frames=12)


PASTED_CROPS_CAVEAT = (
    "these are 48x48 FER-2013 crops, upscaled and pasted with no hair, neck or shoulders around them; "
    "classmood's CNN detector (YuNet) uses that context and, at its live default of 640 px for the longest "
    "side, sees the small ones at 15-30 px, while fer's Haar cascade looks only at the inner face pattern. "
    "Compare the annotated sets of real people for how the detectors do on real pictures.")

#: Faces per class to draw galleries from in small runs (enough for distinct faces in 49 tiles).
POOL_PER_CLASS = 60


@dataclass
class DetectionSet:
    """Images with their true face boxes; ``source`` says where the faces come from."""

    name: str
    source: str
    images: list[str]
    truth: list[np.ndarray]
    ignore: list[np.ndarray] | None = None  # per image: regions where a detection is not counted
    caveat: str = ""  # what makes this set unlike real use, said next to a missed target


@dataclass
class Inputs:
    crops_path: Path
    crops: CropSet
    frames: dict[int, list[list[str]]]  # face count -> clips -> frame PNG paths
    frame_truth: dict[int, list[list[np.ndarray]]]  # the same nesting: true boxes of each frame
    frame_sizes: dict[int, tuple[int, int]]
    frames_source: str  # where the meeting frames' faces come from
    detection_sets: list[DetectionSet]


def _write_png(path: Path, image: np.ndarray) -> str:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write {path}")
    return str(path)


def prepare(config: Config, work: Path, data_root: Path = DEFAULT_ROOT, seed: int = 0) -> Inputs:
    """Build all inputs of one run under ``work`` (overwritten each run)."""
    work.mkdir(parents=True, exist_ok=True)
    crops = load_crops(data_root, "publictest", config.crops_per_class, seed)
    crops_path = work / "crops.npz"
    np.savez(crops_path, images=crops.images, labels=crops.labels)

    rng = np.random.default_rng(seed)
    face_pool = load_crops(data_root, "publictest", POOL_PER_CLASS, seed) if config.crops_per_class else crops
    try:
        frames, truth = _portrait_meetings(config, work, seed)
        source = ("galleries of real, licensed portraits (classmood.assets: public domain, CC0 and CC BY-SA 4.0) with their true "
                  "face boxes, composed like a meeting app's gallery view with name labels")
    except ImportError:
        frames, truth = _fer_meetings(config, work, face_pool, rng, config.face_counts, "meeting")
        source = "FER-2013 publictest faces pasted into webcam tiles (classmood.assets not available)"

    fer_counts = tuple(n for n in config.face_counts if n > 1)
    fer_frames, fer_truth = _fer_meetings(config, work, face_pool, rng, fer_counts, "fergallery", clips=1,
                                          n_frames=config.fer_gallery_frames)
    sets = _annotated_sets()
    sets += [
        DetectionSet("meeting galleries of FER-2013 faces (9, 25, 49 tiles)",
                     "FER-2013 publictest faces read from /work/shared at run time, pasted into 1920x1080 meeting "
                     "tiles without hair, neck or shoulders (a hard case for detectors that use that context); "
                     "boxes known by construction",
                     [p for n in fer_counts for p in fer_frames[n][0]],
                     [b for n in fer_counts for b in fer_truth[n][0]], caveat=PASTED_CROPS_CAVEAT),
        _scene_set(config, work, face_pool, rng),
    ]
    video = _video_set(config, work)
    if video is not None:
        sets.append(video)
    sizes = {n: LAYOUTS.get(n, (1920, 1080)) for n in config.face_counts}
    return Inputs(crops_path, crops, frames, truth, sizes, source, sets)


def _portrait_meetings(config: Config, work: Path, seed: int):
    """Meeting clips of real portraits (a webcam frame for one face, a gallery for more)."""
    from classmood.assets.gallery import compose_gallery, render_tile, varied_participants

    frames: dict[int, list[list[str]]] = {}
    truth: dict[int, list[list[np.ndarray]]] = {}
    for n in config.face_counts:
        width, height = LAYOUTS.get(n, (1920, 1080))
        frames[n], truth[n] = [], []
        for c in range(config.clips_per_count):
            people = varied_participants(n, seed=seed * 1000 + n * 10 + c)
            paths, boxes = [], []
            for i in range(config.frames_per_clip):
                t = i / CLIP_FPS
                if n == 1:
                    image, box = render_tile(people[0], width, height, t)
                    found = [box] if box is not None else []
                else:
                    composed = compose_gallery(people, width, height, t)
                    image, found = composed.image, [f.box for f in composed.faces]
                paths.append(_write_png(work / f"meeting_{n:02d}faces_clip{c}_{i:02d}.png", image))
                boxes.append(np.array(found, np.float32).reshape(-1, 4))
            frames[n].append(paths)
            truth[n].append(boxes)
    return frames, truth


def _fer_meetings(config: Config, work: Path, pool: CropSet, rng: np.random.Generator, counts: tuple[int, ...],
                  prefix: str, clips: int | None = None, n_frames: int | None = None):
    """Meeting clips of FER-2013 faces pasted into webcam tiles, boxes known by construction."""
    frames: dict[int, list[list[str]]] = {}
    truth: dict[int, list[list[np.ndarray]]] = {}
    for n in counts:
        frames[n], truth[n] = [], []
        for c in range(clips or config.clips_per_count):
            pick = rng.choice(len(pool), size=n, replace=False)
            clip = build_clip(pool.images[pick], pool.labels[pick], n_frames or config.frames_per_clip, rng,
                              LAYOUTS.get(n))
            frames[n].append([_write_png(work / f"{prefix}_{n:02d}faces_clip{c}_{i:02d}.png", f.image)
                              for i, f in enumerate(clip)])
            truth[n].append([f.boxes for f in clip])
    return frames, truth


def _scene_set(config: Config, work: Path, pool: CropSet, rng: np.random.Generator) -> DetectionSet:
    """'Group photos': 6-30 FER-2013 faces of 36-160 px scattered over a 1280x720 picture."""
    images, truth = [], []
    for i in range(config.scenes):
        n = int(rng.integers(6, 31))
        pick = rng.choice(len(pool), size=n, replace=False)
        scene = build_scene(pool.images[pick], pool.labels[pick], rng)
        images.append(_write_png(work / f"scene_{i:02d}.png", scene.image))
        truth.append(scene.boxes)
    return DetectionSet("group photos (FER-2013 faces, 36-160 px)",
                        "FER-2013 publictest faces read from /work/shared at run time, boxes known by construction",
                        images, truth, caveat=PASTED_CROPS_CAVEAT)


ANNOTATED_DIR = Path(__file__).resolve().parent / "data" / "detection"


def _annotated_sets(folder: Path = ANNOTATED_DIR) -> list[DetectionSet]:
    """The licensed, hand-annotated set in ``benchmarks/data/detection``: photos, then galleries."""
    manifest = folder / "annotations.json"
    if not manifest.is_file():
        return []
    entries = json.loads(manifest.read_text())["images"]
    sets = []
    for kind, title in (("photo", "annotated photos of people"), ("gallery", "annotated meeting galleries")):
        chosen = [e for e in entries if e.get("kind") == kind and (folder / e["file"]).is_file()]
        if not chosen:
            continue
        faces = sum(len(e["faces"]) for e in chosen)
        sets.append(DetectionSet(
            f"{title} ({len(chosen)} images, {faces} faces)",
            "benchmarks/data/detection (licensed real photos and galleries of them, every face box annotated, "
            "see its README and licences)",
            [str(folder / e["file"]) for e in chosen],
            [np.array([f["box"] for f in e["faces"]], np.float32).reshape(-1, 4) for e in chosen],
            [np.array(e.get("ignore", []), np.float32).reshape(-1, 4) for e in chosen]))
    return sets


def _video_set(config: Config, work: Path) -> DetectionSet | None:
    """Frames of the shipped sample class video (licensed real portraits) with its true boxes."""
    try:
        from classmood.assets import SAMPLE_TRUTH, SAMPLE_VIDEO
    except ImportError:
        return None
    if not (SAMPLE_VIDEO.is_file() and SAMPLE_TRUTH.is_file()) or config.video_frames <= 0:
        return None
    meta = json.loads(SAMPLE_TRUTH.read_text())
    boxes_per_frame = meta["frames"]
    step = max(1, len(boxes_per_frame) // config.video_frames)
    wanted = set(range(0, len(boxes_per_frame), step)[: config.video_frames])
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    images, truth = [], []
    index = 0
    try:
        while wanted:
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                wanted.discard(index)
                images.append(_write_png(work / f"video_{index:04d}.png", frame))
                truth.append(np.array([row[1:5] for row in boxes_per_frame[index]], np.float32).reshape(-1, 4))
            index += 1
    finally:
        capture.release()
    if not images:
        return None
    return DetectionSet(f"sample class video ({meta.get('width')}x{meta.get('height')} gallery of real portraits)",
                        "classmood's shipped sample_class.mp4 (public-domain portraits, see assets/LICENSES.md)",
                        images, truth)
