"""Bad input through the real command line: one clear ``error:`` line and a non-zero exit
(or a warning and a skip inside a folder), never a traceback, never a partial output file."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from fixtures.bad_media import float_tiff, jpeg_bomb, png_bomb
from fixtures.cli import run_cli
from fixtures.media import scene, two_face_video


def assert_one_line_error(res, *fragments: str) -> None:
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert res.stdout == ""


def face_png(path, transform=lambda img: img):
    image, _ = scene(faces=(("happy", 0, (200, 150), 160),))
    cv2.imwrite(str(path), transform(image))
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("zero.jpg", b"", "empty"),
        ("text.jpg", b"this is not a picture\n", "not a readable image"),
        ("zero.mp4", b"", "empty"),
        ("text.mp4", b"hello\n" * 100, "not a readable video"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    assert_one_line_error(run_cli("analyze", path, "--json", "--out", out), name, message)
    assert not out.exists() or not any(out.iterdir())


def test_truncated_jpeg(tmp_path):
    good = face_png(tmp_path / "good.jpg")
    data = good.read_bytes()
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(data[: len(data) // 2])
    assert_one_line_error(run_cli("analyze", bad, "--json"), "cut.jpg", "truncated")


def test_truncated_video_is_refused_and_leaves_no_output(tmp_path):
    video = two_face_video(tmp_path / "full.mp4", n=6)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[:4000])  # the index (moov) is at the end: nothing decodable
    out = tmp_path / "out"
    assert_one_line_error(run_cli("analyze", cut, "--out", out, "--quiet"), "cut.mp4")
    assert not out.exists() or not any(out.iterdir())


def test_video_without_frames(tmp_path):
    empty = tmp_path / "empty.mp4"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    writer.release()  # a container with no frame in it
    if not empty.exists():
        empty.write_bytes(b"")
    out = tmp_path / "out"
    assert_one_line_error(run_cli("analyze", empty, "--out", out, "--quiet"), "empty.mp4")
    assert not out.exists() or not any(out.iterdir())


def test_huge_image_is_refused_without_decoding_it(tmp_path):
    huge = tmp_path / "huge.png"
    cv2.imwrite(str(huge), np.zeros((10000, 10000), np.uint8))
    assert_one_line_error(run_cli("analyze", huge, "--json"), "10000x10000", "limit")
    # peak memory of that run, measured from a fresh parent whose only child it is
    probe = (
        "import resource, subprocess, sys; "
        f"subprocess.run([sys.executable, '-m', 'classmood', 'analyze', {str(huge)!r}], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    peak_kib = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout)
    assert peak_kib < 400_000  # decoding would take 300 MB more than the ~200 MB baseline


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), id="grayscale"),
        pytest.param(lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2BGRA), id="rgba"),
        pytest.param(lambda img: img.astype(np.uint16) * 257, id="16-bit"),
        pytest.param(lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257, id="16-bit-gray"),
    ],
)
def test_unusual_image_formats_are_handled(tmp_path, transform):
    path = face_png(tmp_path / "odd.png", transform)
    res = run_cli("analyze", path, "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["width"], data["height"]) == (640, 480) and len(data["faces"]) == 1


def test_missing_webcam(tmp_path):
    assert_one_line_error(run_cli("analyze", "97", "--max-frames", "1"), "webcam 97")


def test_missing_path_unknown_model_and_bad_options(tmp_path):
    assert_one_line_error(run_cli("analyze", tmp_path / "nope.mp4"), "no such")
    photo = face_png(tmp_path / "p.png")
    assert_one_line_error(run_cli("analyze", photo, "--model", "nosuch"), "unknown model")
    bad_screen = run_cli("analyze", "screen:1,2,x", "--max-frames", "1")
    assert_one_line_error(bad_screen, "screen")
    assert run_cli("analyze", photo, "--every", "0").returncode == 2  # usage error from the CLI parser


def test_show_without_display(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert_one_line_error(run_cli("analyze", face_png(tmp_path / "p.png"), "--show"), "--show needs a display")


def test_corrupt_model_file(tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"not onnx")
    meta = {"name": "broken", "classes": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"],
            "input_size": 48, "mean": 0.5, "std": 0.5}
    (tmp_path / "broken.json").write_text(json.dumps(meta))
    assert_one_line_error(run_cli("analyze", face_png(tmp_path / "p.png"), "--model", model), "cannot load model")


def test_output_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("I am a file")
    res = run_cli("analyze", face_png(tmp_path / "p.png"), "--out", blocker)
    assert res.returncode == 1 and "Traceback" not in res.stderr and res.stderr.startswith("error: ")


def test_folder_with_mixed_junk_warns_and_skips(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    face_png(folder / "a.png")
    face_png(folder / "b.jpg", lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    (folder / "c.jpg").write_bytes(b"")
    (folder / "d.jpg").write_text("text, not jpeg")
    (folder / "notes.txt").write_text("hello")
    (folder / "sub").mkdir()
    res = run_cli("analyze", folder, "--json", "--quiet", "--out", tmp_path / "out")
    assert res.returncode == 0 and "Traceback" not in res.stderr
    data = json.loads(res.stdout)
    assert [r["path"].rsplit("/", 1)[-1] for r in data["results"]] == ["a.png", "b.jpg"]
    assert sorted(s["path"].rsplit("/", 1)[-1] for s in data["skipped"]) == ["c.jpg", "d.jpg", "notes.txt"]
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.annotated.jpg", "b.annotated.jpg"]


def test_folder_of_only_junk_fails(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "x.jpg").write_text("nope")
    res = run_cli("analyze", folder, "--quiet")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: ") and "no readable image" in res.stderr


def test_evaluate_bad_folders(tmp_path):
    assert_one_line_error(run_cli("evaluate", tmp_path / "missing", "--json"), "not a folder")
    (tmp_path / "cats").mkdir()
    res = run_cli("evaluate", tmp_path, "--json", "--quiet")
    assert res.returncode == 1 and "no class sub-folder" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(("make", "claimed"), [
    pytest.param(lambda p: png_bomb(p.with_suffix(".png"), 8000, 6000), "8000x6000", id="png-48MP"),
    pytest.param(lambda p: png_bomb(p.with_suffix(".png"), 20000, 10000), "over 179 MP", id="png-200MP"),
    pytest.param(lambda p: jpeg_bomb(p.with_suffix(".jpg"), 30000, 30000), "over 179 MP", id="jpeg-900MP"),
])
def test_image_bombs_are_one_line_and_skipped_in_folders(tmp_path, make, claimed):
    bomb = make(tmp_path / "bomb")
    assert_one_line_error(run_cli("analyze", bomb, "--json"), bomb.name, claimed, "limit")
    folder = tmp_path / "photos"
    folder.mkdir()
    bomb.rename(folder / bomb.name)
    face_png(folder / "face.png")
    res = run_cli("analyze", folder, "--json", "--quiet")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert [s["path"].rsplit("/", 1)[-1] for s in json.loads(res.stdout)["skipped"]] == [bomb.name]
    assert res.stderr.splitlines() == [line for line in res.stderr.splitlines() if line.startswith("warning: ")]
    labelled = tmp_path / "labelled" / "happy"
    labelled.mkdir(parents=True)
    (folder / bomb.name).rename(labelled / bomb.name)
    (folder / "face.png").rename(labelled / "face.png")
    res = run_cli("evaluate", tmp_path / "labelled", "--json", "--quiet")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert (json.loads(res.stdout)["n"], json.loads(res.stdout)["skipped"]) == (1, 1)


@pytest.mark.parametrize(("scale", "offset"), [(1.0, 0.0), (4000.0, -1000.0)], ids=["0..1", "wide-range"])
def test_float_tiff_is_scaled_not_black(tmp_path, scale, offset):
    image, _ = scene(faces=(("happy", 0, (200, 150), 160),))
    res = run_cli("analyze", float_tiff(tmp_path / "float.tif", image, scale, offset), "--json")
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)["faces"]) == 1


def test_a_mode_pillow_cannot_convert_is_one_line(tmp_path):
    from PIL import Image

    from classmood.errors import ClassmoodError
    from classmood.sources.imageio import _to_bgr

    with pytest.raises(ClassmoodError, match=r"^x\.tif: La images cannot be converted to colour$"):
        _to_bgr(Image.new("La", (4, 4)), tmp_path.joinpath("x.tif").relative_to(tmp_path))
