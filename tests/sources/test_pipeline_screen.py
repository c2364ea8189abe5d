"""Screen capture on a real X server (Xvfb): a window shows a class gallery, ``analyze screen`` finds the faces."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

import cv2
import pytest

from fixtures.cli import run_cli
from fixtures.media import scene

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (.ci/run installs it)")

SHOW_IMAGE = """
import sys, tkinter
root = tkinter.Tk()
root.overrideredirect(True)
root.geometry('640x480+0+0')
photo = tkinter.PhotoImage(file=sys.argv[1])
tkinter.Label(root, image=photo, borderwidth=0).pack()
root.after(100, lambda: print('shown', flush=True))
root.mainloop()
"""


@contextlib.contextmanager
def running(args, **popen):
    """A background process, ended when the block ends."""
    process = subprocess.Popen(args, **popen)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def gallery_png(tmp_path):
    """Two real faces on a 640x480 picture, saved as PNG."""
    png = tmp_path / "gallery.png"
    cv2.imwrite(str(png), scene(faces=(("happy", 0, (60, 100), 150), ("surprise", 0, (380, 160), 150)))[0])
    return png


@pytest.fixture()
def display():
    """A private X display; yields its DISPLAY value."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


def test_analyze_screen_region_finds_faces_in_a_window(tmp_path, display, monkeypatch):
    pytest.importorskip("tkinter")
    monkeypatch.setenv("DISPLAY", display)
    png = gallery_png(tmp_path)
    with running([sys.executable, "-c", SHOW_IMAGE, str(png)], stdout=subprocess.PIPE, text=True) as window:
        assert window.stdout.readline().strip() == "shown"
        time.sleep(0.3)
        res = run_cli("analyze", "screen:0,0,640,480", "--max-frames", "2", "--json", "--quiet")
        assert res.returncode == 0, res.stderr
        data = json.loads(res.stdout)
        assert data["kind"] == "screen" and data["frames"] == 2
        assert [len(r["faces"]) for r in data["results"]] == [2, 2]
        assert all(r["width"] == 640 and r["height"] == 480 for r in data["results"])
        whole = json.loads(run_cli("analyze", "screen", "--max-frames", "1", "--json", "--quiet").stdout)
        assert whole["results"][0]["width"] == 800  # monitor 1 = the whole 800x600 screen


def test_screen_without_display_is_one_line_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    res = run_cli("analyze", "screen", "--max-frames", "1")
    assert res.returncode == 1 and res.stderr.startswith("error: cannot capture the screen")
    assert len(res.stderr.strip().splitlines()) == 1


def test_show_opens_a_window_with_the_annotated_photo(tmp_path, display, monkeypatch):
    """``--show`` on a real display: the window's pixels, captured from the screen, hold the faces."""
    pytest.importorskip("tkinter")
    import mss
    import numpy as np

    import classmood

    monkeypatch.setenv("DISPLAY", display)
    command = [sys.executable, "-m", "classmood", "analyze", str(gallery_png(tmp_path)), "--show", "--quiet"]
    with running(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as viewer:
        faces, deadline = [], time.monotonic() + 60
        while len(faces) < 2 and time.monotonic() < deadline and viewer.poll() is None:
            time.sleep(0.5)
            with getattr(mss, "MSS", mss.mss)() as screen:
                shot = screen.grab(screen.monitors[1])
            pixels = np.frombuffer(shot.bgra, np.uint8).reshape(shot.height, shot.width, 4)[:, :, :3]
            faces = classmood.analyze(np.ascontiguousarray(pixels))
        assert viewer.poll() is None, viewer.stderr.read()  # waits for the user to close it
        assert len(faces) == 2


def test_show_during_a_video_ends_with_the_video(tmp_path, display, monkeypatch):
    pytest.importorskip("tkinter")
    from fixtures.media import two_face_video

    monkeypatch.setenv("DISPLAY", display)
    res = run_cli("analyze", two_face_video(tmp_path / "v.mp4", n=4), "--show", "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["frames"] == 4
