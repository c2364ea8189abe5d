"""The bad-input corpus (issue 19): every kind of hostile or broken input through the real command line.

Each case builds its input in the test (small files, one tiny video made once per module) and runs
``python -m classmood ...`` in a subprocess. Whatever the input, classmood must
- finish within ``TIMEOUT_S`` (no hang),
- print no traceback and no terminal control character, and exactly one ``error:`` line when it
  refuses (exit status != 0) or ``warning:`` lines only when it skips part of the input (exit 0),
- leave nothing that looks finished when it is not: no output under a final name after an error,
  and no hidden ``.partial-*`` temp file anywhere.
Run: ``python -m pytest -q -p no:cacheprovider tests/project/test_bad_input_corpus.py`` (docs/security.md).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from classmood.aggregate import ClassAggregator
from classmood.emotions import EMOTIONS
from classmood.store import SessionRecorder, Store, StudentSighting
from fixtures.detections import seen, tracked

from fixtures.bad_media import float_tiff, jpeg_bomb, png_bomb
from fixtures.media import scene, two_face_video, write_video

TIMEOUT_S = 60
ROOT = os.geteuid() == 0
#: root ignores file permissions, except in a user namespace of its own (where it owns nothing)
AS_USER = ["unshare", "--user"] if ROOT else []
CONTROL = "\x1b\x07\x9b"


@dataclass
class Kit:
    """Inputs shared by the cases: a face photo, a tiny video and a recorded database (made once)."""

    face: np.ndarray
    video: Path
    database: Path


@dataclass
class Ctx:
    """What a case's builder gets: its own folder, the shared kit, and cleanups to run after the case."""

    tmp: Path
    kit: Kit
    cleanups: list[Callable[[], None]]

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    def file(self, name: str | bytes, data: bytes) -> Path:
        path = Path(os.fsdecode(os.path.join(os.fsencode(self.tmp), os.fsencode(name))))
        path.write_bytes(data)
        return path

    def image(self, name: str, image: np.ndarray | Image.Image, **save) -> Path:
        path = self.tmp / name
        if isinstance(image, np.ndarray):
            assert cv2.imwrite(str(path), image)
        else:
            image.save(path, **save)
        return path

    def database(self) -> str:
        """A private copy of the recorded database (session ``physics``), as a URL."""
        copy = self.tmp / "class.db"
        copy.write_bytes(self.kit.database.read_bytes())
        return f"sqlite:///{copy}"

    def mount(self, name: str, size: str = "64k", read_only: bool = False, files: dict[str, bytes] | None = None) -> Path:
        """A tiny tmpfs (full or read-only disk); skips the case where mounting is not allowed."""
        point = self.tmp / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root in a mount namespace): {done.stderr.strip()}")
        self.cleanups.append(lambda: subprocess.run(["umount", "-l", str(point)], check=False))
        for file_name, data in (files or {}).items():
            (point / file_name).write_bytes(data)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
        return point


def pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def encoded(image: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def wav(ctx: Ctx, name: str) -> Path:
    """A tenth of a second of sound and no picture (a WAV file, whatever ``name`` says)."""
    with wave.open(str(ctx.tmp / name), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(struct.pack("<800h", *([1000, -1000] * 400)))
    return ctx.tmp / name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def locked(ctx: Ctx) -> str:
    """The database with another connection holding an exclusive lock for the whole case."""
    url = ctx.database()
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    ctx.cleanups.append(holder.close)
    return url


def analyze_photo(make: Callable[[Ctx], Path]) -> Callable[[Ctx], list]:
    return lambda ctx: ["analyze", make(ctx), "--json", "--out", ctx.out]


def analyze_media(make: Callable[[Ctx], Path]) -> Callable[[Ctx], list]:
    return lambda ctx: ["analyze", make(ctx), "--quiet", "--out", ctx.out]


def folder(ctx: Ctx, files: dict[str, bytes], name: str = "photos") -> Path:
    path = ctx.tmp / name
    path.mkdir(parents=True)
    for file_name, data in files.items():
        (path / file_name).write_bytes(data)
    return path


def symlink_loop(ctx: Ctx) -> Path:
    (ctx.tmp / "a.jpg").symlink_to(ctx.tmp / "b.jpg")
    (ctx.tmp / "b.jpg").symlink_to(ctx.tmp / "a.jpg")
    return ctx.tmp / "a.jpg"


def fifo(ctx: Ctx, name: str = "photo.jpg") -> Path:
    os.mkfifo(ctx.tmp / name)
    return ctx.tmp / name


def unreadable(path: Path) -> Path:
    path.chmod(0)
    return path


def truncated(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


def video_as(ctx: Ctx, name: str, fourcc: str, container: str) -> Path:
    """The kit's frames in another container, saved under ``name`` (an mp4 name for a non-mp4 file)."""
    real = write_video(ctx.tmp / f"real{container}", [ctx.kit.face] * 5, fourcc=fourcc)
    return real.rename(ctx.tmp / name)


def gif_frames(ctx: Ctx, name: str) -> Path:
    frames = [pil(ctx.kit.face), pil(np.roll(ctx.kit.face, 20, axis=1))]
    frames[0].save(ctx.tmp / name, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return ctx.tmp / name


def zero_frame_video(ctx: Ctx) -> Path:
    path = ctx.tmp / "empty.mp4"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48)).release()
    if not path.exists():
        path.write_bytes(b"")
    return path


def evaluate_folder(ctx: Ctx, files: dict[str, bytes]) -> Path:
    folder(ctx, files, "labelled/happy")
    return ctx.tmp / "labelled"


@dataclass(frozen=True)
class Case:
    """One kind of bad input: how to build it and run it, and what classmood must do.

    ``expect``: "error" (refused: exit != 0, one error line), "skip" (exit 0 with warnings: the bad part is
    skipped) or "ok" (a valid if unusual input: exit 0). ``says``: fragments the error line must contain.
    """

    id: str
    run: Callable[[Ctx], list]
    expect: str = "error"
    says: tuple[str, ...] = ()
    check: Callable[[subprocess.CompletedProcess, Ctx], None] | None = None
    as_user: bool = False  # permissions do not stop root: run in a user namespace


def one_face(res: subprocess.CompletedProcess, ctx: Ctx) -> None:
    assert len(json.loads(res.stdout)["faces"]) == 1


def no_face(res: subprocess.CompletedProcess, ctx: Ctx) -> None:
    assert json.loads(res.stdout)["faces"] == []


def one_result(res: subprocess.CompletedProcess, ctx: Ctx) -> None:
    assert len(json.loads(res.stdout)["results"]) == 1


CASES = [
    # --- photos: empty, not images, truncated, bombs ----------------------------------------------
    Case("empty-jpg", analyze_photo(lambda c: c.file("empty.jpg", b"")), says=("empty.jpg", "empty")),
    Case("text-as-jpg", analyze_photo(lambda c: c.file("notes.jpg", b"hello\n" * 20)), says=("not a readable image",)),
    Case("text-as-png", analyze_photo(lambda c: c.file("notes.png", b"hello\n" * 20)), says=("not a readable image",)),
    Case("truncated-jpeg", analyze_photo(lambda c: c.file("cut.jpg", truncated(encoded(c.kit.face, ".jpg"), 0.5))),
         says=("cut.jpg", "truncated")),
    Case("truncated-png", analyze_photo(lambda c: c.file("cut.png", truncated(encoded(c.kit.face, ".png"), 0.5))),
         says=("cut.png", "truncated")),
    Case("png-bomb-48MP", analyze_photo(lambda c: png_bomb(c.tmp / "bomb.png", 8000, 6000)), says=("8000x6000", "limit")),
    Case("png-bomb-200MP", analyze_photo(lambda c: png_bomb(c.tmp / "bomb.png", 20000, 10000)), says=("bomb.png", "limit")),
    Case("jpeg-bomb-900MP", analyze_photo(lambda c: jpeg_bomb(c.tmp / "bomb.jpg", 30000, 30000)), says=("bomb.jpg", "limit")),
    Case("tiff-float-rgb", analyze_photo(lambda c: c.image("rgb.tiff", c.kit.face.astype(np.float32) / 255)),
         says=("rgb.tiff",)),
    # --- photos in odd but valid modes: converted, faces still found ------------------------------
    Case("gif-palette-transparent", analyze_photo(lambda c: c.image("p.gif", pil(c.kit.face).convert("P"),
                                                                  transparency=0)), "ok", check=one_face),
    Case("gif-animated", analyze_photo(lambda c: gif_frames(c, "anim.gif")), "ok", check=one_face),
    Case("webp-rgba", analyze_photo(lambda c: c.image("a.webp", pil(c.kit.face).convert("RGBA"), lossless=True)),
         "ok", check=one_face),
    Case("bmp-1-bit", analyze_photo(lambda c: c.image("bw.bmp", pil(c.kit.face).convert("1"))), "ok"),
    Case("tiff-lab", analyze_photo(lambda c: c.image("lab.tif", pil(c.kit.face).convert("LAB"))), "ok"),
    Case("tiff-float32", analyze_photo(lambda c: float_tiff(c.tmp / "f.tif", c.kit.face)), "ok", check=one_face),
    Case("png-16-bit", analyze_photo(lambda c: c.image("deep.png", c.kit.face.astype(np.uint16) * 257)), "ok",
         check=one_face),
    Case("jpeg-cmyk", analyze_photo(lambda c: c.image("cmyk.jpg", pil(c.kit.face).convert("CMYK"))), "ok",
         check=one_face),
    Case("one-pixel", analyze_photo(lambda c: c.image("dot.png", np.zeros((1, 1, 3), np.uint8))), "ok", check=no_face),
    Case("aspect-20000x2", analyze_photo(lambda c: c.image("line.png", np.zeros((2, 20000, 3), np.uint8))), "ok",
         check=no_face),
    Case("png-named-gif", analyze_photo(lambda c: c.file("photo.gif", encoded(c.kit.face, ".png"))), "ok",
         check=one_face),
    # --- videos: empty, not videos, truncated, wrong containers, no picture -----------------------
    Case("zero-byte-mp4", analyze_media(lambda c: c.file("zero.mp4", b"")), says=("zero.mp4", "empty")),
    Case("text-as-mp4", analyze_media(lambda c: c.file("notes.mp4", b"hello\n" * 100)), says=("notes.mp4",)),
    Case("truncated-mp4-head", analyze_media(lambda c: c.file("cut.mp4", c.kit.video.read_bytes()[:4000])),
         says=("cut.mp4",)),
    Case("truncated-avi-half", analyze_media(lambda c: c.file("cut.avi", truncated(
        video_as(c, "x.avi", "MJPG", ".avi").read_bytes(), 0.5))), says=("cut.avi",)),
    Case("mkv-named-mp4", analyze_media(lambda c: video_as(c, "class.mp4", "mp4v", ".mkv")), "ok"),
    Case("avi-named-mp4", analyze_media(lambda c: video_as(c, "class.mp4", "MJPG", ".avi")), "ok"),
    Case("gif-named-mp4", analyze_media(lambda c: gif_frames(c, "anim.mp4")), "ok"),
    Case("video-zero-frames", analyze_media(zero_frame_video), says=("empty.mp4",)),
    Case("audio-only-mp4", analyze_media(lambda c: wav(c, "talk.mp4")), says=("talk.mp4",)),
    Case("audio-wav", analyze_media(lambda c: wav(c, "talk.wav")), says=("talk.wav",)),
    Case("device-dev-zero", lambda c: ["analyze", "/dev/zero", "--quiet"], says=("/dev/zero", "not a regular file")),
    # --- folders and file system oddities ---------------------------------------------------------
    Case("folder-empty", lambda c: ["analyze", folder(c, {}), "--quiet"], says=("no readable image",)),
    Case("folder-of-junk", lambda c: ["analyze", folder(c, {"a.jpg": b"", "b.png": b"junk", "c.txt": b"hi"}),
                                      "--quiet", "--out", c.out], says=("no readable image",)),
    Case("folder-with-bomb", lambda c: ["analyze", _bomb_folder(c), "--json", "--quiet"], "skip", check=one_result),
    Case("evaluate-with-bomb", lambda c: ["evaluate", _bomb_eval(c), "--json", "--quiet"], "skip"),
    Case("evaluate-no-class-folder", lambda c: ["evaluate", folder(c, {"x.png": b"1"}), "--quiet"],
         says=("no class sub-folder",)),
    Case("symlink-loop", analyze_photo(symlink_loop), says=("a.jpg",)),
    Case("dangling-symlink", analyze_photo(lambda c: (c.tmp / "gone.jpg").symlink_to(c.tmp / "nowhere.jpg")
                                           or c.tmp / "gone.jpg"), says=("gone.jpg",)),
    Case("fifo-named-jpg", analyze_photo(fifo), says=("photo.jpg", "not a regular file")),
    Case("fifo-no-extension", analyze_photo(lambda c: fifo(c, "camera")), says=("camera", "not a regular file")),
    Case("folder-with-fifo", lambda c: ["analyze", _fifo_folder(c), "--json", "--quiet"], "ok", check=one_result),
    Case("unreadable-file", analyze_photo(lambda c: unreadable(c.file("secret.png", encoded(c.kit.face, ".png")))),
         says=("secret.png", "permission denied"), as_user=True),
    Case("folder-with-unreadable-file", lambda c: ["analyze", _locked_file_folder(c), "--json", "--quiet"], "skip",
         check=one_result, as_user=True),
    Case("unreadable-folder", lambda c: ["analyze", unreadable(folder(c, {"a.png": encoded(c.kit.face, ".png")})),
                                         "--quiet"], says=("photos", "Permission denied"), as_user=True),
    # --- hostile file names -------------------------------------------------------------------------
    Case("name-newline", analyze_photo(lambda c: c.file("two\nlines.png", encoded(c.kit.face, ".png"))), "ok",
         check=one_face),
    Case("name-escape-sequences", analyze_photo(lambda c: c.file("x\x1b]0;pwned\x07\x1b[2J.jpg", b"junk")),
         says=("pwned",)),
    Case("name-html", analyze_photo(lambda c: c.file("<img src=x onerror=alert(1)>.png", encoded(c.kit.face, ".png"))),
         "ok", check=one_face),
    Case("name-250-bytes", analyze_photo(lambda c: c.file("n" * 246 + ".png", encoded(c.kit.face, ".png"))),
         says=("File name too long",)),
    Case("name-not-utf8", analyze_photo(lambda c: c.file(b"caf\xe9-\xff.png", encoded(c.kit.face, ".png"))), "ok",
         check=one_face),
    Case("video-name-not-utf8", analyze_media(lambda c: c.file(b"caf\xe9.mp4", c.kit.video.read_bytes())),
         says=("caf\\xe9.mp4", "not valid UTF-8")),  # OpenCV's binding crashed (SIGSEGV) on such a name
    Case("out-folder-not-utf8", lambda c: ["analyze", c.kit.video, "--quiet", "--out", os.fsdecode(
        os.fsencode(c.tmp) + b"/r\xe9sultats")], says=("r\\xe9sultats", "not valid UTF-8")),
    Case("name-c1-control-json", lambda c: ["analyze", c.file("x\u009b31m\u202e.mp4", c.kit.video.read_bytes()),
                                            "--json", "--quiet"], "ok"),  # JSON leaves C1 and bidi unescaped
    # --- where output goes: read-only, full, not a folder -------------------------------------------
    Case("out-read-only", lambda c: ["analyze", c.image("p.png", c.kit.face), "--out", c.mount("ro", read_only=True)],
         says=("p.annotated.jpg", "Read-only")),
    Case("out-full-disk", lambda c: ["analyze", c.kit.video, "--quiet", "--out", c.mount("full", size="16k")],
         says=("class.annotated.mp4", "disk full")),
    Case("out-is-a-file", lambda c: ["analyze", c.image("p.png", c.kit.face), "--out", c.file("out", b"a file")],
         says=("out",)),
    Case("report-read-only", lambda c: ["report", "physics", "--db", c.database(), "--out",
                                        c.mount("ro", read_only=True) / "physics.html"], says=("physics.html",)),
    Case("report-full-disk", lambda c: ["report", "physics", "--db", c.database(), "--out",
                                        c.mount("full", size="16k") / "physics.html"], says=("physics.html",)),
    Case("report-out-is-a-folder", lambda c: ["report", "physics", "--db", c.database(), "--out", c.tmp],
         says=(),),
    # --- databases: locked, unreachable, malformed, not SQLite, read-only -------------------------
    Case("db-locked", lambda c: ["sessions", "rename", "physics", "S01", "Ada", "--db", locked(c)],
         says=("locked",)),  # after the 5 s busy timeout
    Case("db-postgres-unreachable", lambda c: ["sessions", "list", "--db",
                                               f"postgresql+psycopg://u:secret@127.0.0.1:{free_port()}/x"],
         says=("cannot reach", "127.0.0.1")),
    Case("db-url-malformed", lambda c: ["sessions", "list", "--db", "postgresql://u@[::1"], says=("database",)),
    Case("db-url-unknown-scheme", lambda c: ["sessions", "list", "--db", "nosuchdb://x/y"], says=("nosuchdb",)),
    Case("db-not-sqlite", lambda c: ["sessions", "list", "--db", f"sqlite:///{c.file('notes.db', b'hello' * 400)}"],
         says=("notes.db",)),
    Case("db-read-only", lambda c: ["sessions", "rename", "physics", "S01", "Ada", "--db", "sqlite:///" + str(
        c.mount("ro", size="1m", read_only=True, files={"class.db": c.kit.database.read_bytes()}) / "class.db")],
         says=("read-only",)),
    Case("db-folder-missing", lambda c: ["sessions", "list", "--db", f"sqlite:///{c.tmp}/no/such/folder/x.db"],
         says=("x.db",)),
    Case("db-is-a-folder", lambda c: ["sessions", "list", "--db", f"sqlite:///{c.tmp}"], says=("database",)),
    # --- options and names ------------------------------------------------------------------------------
    Case("every-0", lambda c: ["analyze", c.kit.video, "--every", "0"], says=("--every",)),
    Case("max-faces-negative", lambda c: ["analyze", c.kit.video, "--max-faces", "-3"], says=("--max-faces",)),
    Case("min-score-nan", lambda c: ["analyze", c.kit.video, "--min-score", "nan"], says=("--min-score",)),
    Case("max-frames-text", lambda c: ["analyze", c.kit.video, "--max-frames", "many"], says=("--max-frames",)),
    Case("unknown-model", lambda c: ["analyze", c.image("p.png", c.kit.face), "--model", "nosuch"],
         says=("unknown model",)),
    Case("corrupt-onnx", lambda c: ["analyze", c.image("p.png", c.kit.face), "--model", _broken_model(c)],
         says=("cannot load model",)),
    Case("onnx-without-json", lambda c: ["analyze", c.image("p.png", c.kit.face), "--model",
                                         c.file("lonely.onnx", b"\x08\x07")], says=("lonely",)),
    Case("report-missing-session", lambda c: ["report", "nope", "--db", c.database(), "--out", c.tmp / "r.html"],
         says=("no session named 'nope'",)),
    Case("rename-30-digits", lambda c: ["sessions", "rename", "physics", "9" * 30, "Ada", "--db", c.database()],
         says=("student must look like",)),
    Case("export-bad-extension", lambda c: ["sessions", "export", "physics", "--out", c.tmp / "x.xlsx",
                                            "--db", c.database()], says=(".csv or .parquet",)),
    Case("webcam-huge-index", lambda c: ["analyze", "9" * 25, "--max-frames", "1"], says=("webcam",)),
    Case("webcam-superscript-index", lambda c: ["analyze", "\u00b2", "--max-frames", "1"], says=("no such",)),
    Case("stream-closed-port", lambda c: ["analyze", f"rtsp://127.0.0.1:{free_port()}/class", "--max-frames", "1"],
         says=("127.0.0.1",)),
    Case("screen-empty-region", lambda c: ["analyze", "screen:0,0,0,0", "--max-frames", "1"], says=("screen",)),
    Case("unknown-command", lambda c: ["analyse", "x.jpg"], says=("No such command",)),
]


def _bomb_folder(ctx: Ctx) -> Path:
    path = folder(ctx, {"a.png": encoded(ctx.kit.face, ".png")})
    png_bomb(path / "bomb.png", 20000, 10000)
    return path


def _bomb_eval(ctx: Ctx) -> Path:
    path = evaluate_folder(ctx, {"a.png": encoded(ctx.kit.face, ".png")})
    jpeg_bomb(path / "happy" / "bomb.jpg", 30000, 30000)
    return path


def _fifo_folder(ctx: Ctx) -> Path:
    path = folder(ctx, {"a.png": encoded(ctx.kit.face, ".png")})
    os.mkfifo(path / "b.jpg")
    return path


def _locked_file_folder(ctx: Ctx) -> Path:
    path = folder(ctx, {"a.png": encoded(ctx.kit.face, ".png"), "b.png": encoded(ctx.kit.face, ".png")})
    unreadable(path / "b.png")
    return path


def _broken_model(ctx: Ctx) -> Path:
    meta = {"name": "broken", "classes": list(EMOTIONS), "input_size": 48, "mean": 0.5, "std": 0.5}
    ctx.file("broken.json", json.dumps(meta).encode())
    return ctx.file("broken.onnx", b"not an onnx model")


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Kit:
    folder_ = tmp_path_factory.mktemp("kit")
    face, _ = scene(faces=(("happy", 0, (200, 150), 160),))
    video = two_face_video(folder_ / "class.mp4", n=6)
    url = f"sqlite:///{folder_ / 'class.db'}"
    store = Store(url)
    recorder = SessionRecorder(store, "physics", source="physics.mp4", flush_every_s=0.0)
    aggregator = ClassAggregator()
    p = np.full(len(EMOTIONS), 1 / len(EMOTIONS))
    for k in range(10):
        recorder.record(aggregator.update(k / 2, tracked([seen(1, p)])), [StudentSighting(1, 0.0, k / 2)])
    recorder.record(aggregator.finish())
    recorder.finish()
    store.close()
    with sqlite3.connect(folder_ / "class.db") as db:  # one self-contained file to copy
        db.execute("PRAGMA journal_mode=DELETE")
    return Kit(face, video, folder_ / "class.db")


def leftovers(root: Path) -> list[str]:
    """Hidden temp files under ``root`` (symlinks not followed)."""
    found = []
    for folder_, dirs, files in os.walk(root, onerror=lambda _: None):
        found += [os.path.join(folder_, name) for name in files + dirs if ".partial-" in name]
    return found


def run_case(case: Case, ctx: Ctx) -> subprocess.CompletedProcess:
    args = [str(a) for a in case.run(ctx)]
    prefix = AS_USER if case.as_user else []
    try:
        return subprocess.run([*prefix, sys.executable, "-m", "classmood", *args], capture_output=True, text=True,
                              errors="replace", timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, cwd=ctx.tmp)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: classmood {' '.join(args)!r} still running after {TIMEOUT_S} s")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input(case: Case, kit: Kit, tmp_path: Path):
    if case.as_user and ROOT and subprocess.run([*AS_USER, "true"], capture_output=True).returncode != 0:
        pytest.skip("file permissions do not stop root, and no user namespace may be made here (unshare --user)")
    ctx = Ctx(tmp_path, kit, [])
    try:
        res = run_case(case, ctx)
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
    lines = res.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert "Traceback" not in res.stderr, res.stderr
    assert not any(ch in res.stdout + res.stderr for ch in CONTROL), repr(res.stderr)
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), res.stderr
    if case.expect == "error":
        assert res.returncode != 0 and len(errors) == 1, res.stderr
        for fragment in case.says:
            assert fragment in errors[0], errors[0]
        assert ".partial-" not in errors[0]
        finished = [p.name for p in ctx.out.iterdir() if ".truncated." not in p.name] if ctx.out.is_dir() else []
        assert finished == []  # what a truncated video gave is kept only under a name that says so
    else:
        assert res.returncode == 0 and errors == [], res.stderr
        warned = [line for line in lines if line.startswith("warning: ")]
        assert bool(warned) == (case.expect == "skip"), res.stderr
    if case.check is not None:
        case.check(res, ctx)
    assert leftovers(tmp_path) == []


def test_corpus_has_forty_kinds():
    assert len({c.id for c in CASES}) == len(CASES) >= 40
