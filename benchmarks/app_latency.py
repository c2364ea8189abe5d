"""Glass-to-glass latency and frames/s of the web app, in a real browser over real WebRTC.

    python benchmarks/app_latency.py [--seconds 20] [--json out.json]

A real ``classmood app`` server on localhost and Debian's Chromium with a fake camera that plays
real FER-2013 faces (one webcam face at 640x480, then a 25-face gallery at 1280x720). Every
camera frame carries its number as a 12-bit barcode in the top strip. In the page, the camera
stream and the annotated video coming back are both decoded at each presented frame
(``requestVideoFrameCallback``): latency = when a numbered frame is shown annotated minus when
the same number was first available from the camera (one clock, the page's). Frames/s is the
number of distinct annotated frames shown per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fixtures.app_harness import app_server, face_canvas, fer_faces, launch_chromium, login, press_start, write_y4m

BITS = 12
STRIP_SHARE = 20  # the barcode fills the top 1/20 of the picture (the browser may scale the video down)

# Runs in every frame before its own scripts: keep the camera stream, and decode barcodes.
PROBE = """
(() => {
  const md = navigator.mediaDevices;
  if (!md) return;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => { const s = await original(c); window.__camera = s; return s; };
  window.__decode = (video, canvas) => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return -1;
    const strip = Math.max(2, Math.floor(h / %(share)d));
    canvas.width = w; canvas.height = strip;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    ctx.drawImage(video, 0, 0, w, strip, 0, 0, w, strip);
    const data = ctx.getImageData(0, 0, w, strip).data;
    let code = 0;
    for (let b = 0; b < %(bits)d; b++) {
      const x = Math.floor((b + 0.5) * w / %(bits)d), y = Math.floor(strip / 2);
      const v = data[(y * w + x) * 4];
      code = (code << 1) | (v > 128 ? 1 : 0);
    }
    return code;
  };
  window.__watch = (video, store) => {
    const canvas = document.createElement('canvas');
    const step = (now) => {
      const code = window.__decode(video, canvas);
      if (code >= 0) store.push([code, performance.now()]);
      video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
  };
})();
""" % {"share": STRIP_SHARE, "bits": BITS}  # noqa: UP031 - %-format: the JavaScript is full of braces

START_WATCH = """
() => {
  window.__cam = []; window.__out = [];
  const local = document.createElement('video');
  local.muted = true; local.srcObject = window.__camera; local.play();
  document.body.appendChild(local);
  window.__watch(local, window.__cam);
  const shown = document.querySelector('video');
  window.__watch(shown, window.__out);
  return !!shown && !!window.__camera;
}
"""


def stamp(frame: np.ndarray, number: int) -> np.ndarray:
    """Write ``number`` as a black/white barcode across the top strip of the frame."""
    out = frame.copy()
    height, width = out.shape[:2]
    strip = height // STRIP_SHARE
    for b in range(BITS):
        bit = (number >> (BITS - 1 - b)) & 1
        x0, x1 = int(b * width / BITS), int((b + 1) * width / BITS)
        out[:strip, x0:x1] = 255 if bit else 0
    return out


def camera_file(folder: Path, faces: int, width: int, height: int, fps: int, frames: int) -> Path:
    margin = height // 8  # labels drawn above the top faces must not reach the barcode strip
    picture = np.full((height, width, 3), 128, np.uint8)
    picture[margin:] = face_canvas(fer_faces(faces), width, height - margin)
    return write_y4m(folder / f"camera_{faces}.y4m", [stamp(picture, i) for i in range(frames)], fps=fps)


def measure(server, playwright, camera: Path, loop: int, seconds: float) -> dict:
    browser = launch_chromium(playwright, camera)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(PROBE)
        page = context.new_page()
        page.set_default_timeout(60_000)
        login(page, server)
        page.get_by_role("heading", name="Live class").wait_for()
        press_start(page)
        page.get_by_text("S01", exact=True).wait_for()
        frame = _component_frame(page)
        frame.wait_for_function("document.querySelector('video') && document.querySelector('video').videoWidth > 0")
        time.sleep(3)  # warm-up
        assert frame.evaluate(START_WATCH), "no camera or output video to watch"
        time.sleep(seconds)
        cam, out = frame.evaluate("[window.__cam, window.__out]")
        page_figures = _page_figures(page)
    finally:
        browser.close()
    latencies, shown_at = match_frames(cam, out, loop)
    span = (shown_at[-1] - shown_at[0]) / 1000 if len(shown_at) > 1 else 0.0
    return {
        "frames_shown": len(shown_at),
        "fps": round((len(shown_at) - 1) / span, 1) if span else 0.0,
        "latency_ms_median": round(float(statistics.median(latencies)), 1) if latencies else None,
        "latency_ms_p90": round(float(np.percentile(latencies, 90)), 1) if latencies else None,
        "camera_frames_decoded": len(cam),
        "output_frames_decoded": len(out),
        "server_analysis": page_figures,
    }


def _component_frame(page, timeout_s: float = 30.0):
    """The streamlit-webrtc iframe (it can be re-created while the page re-renders)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "webrtc_streamer" in frame.url and not frame.is_detached():
                return frame
        page.wait_for_timeout(200)
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "app_latency_failure.png"))
    raise TimeoutError(f"no streamlit-webrtc frame on the page: {[f.url for f in page.frames]}")


def _page_figures(page) -> dict:
    """The server's own figures shown on the Live page: analysed frames/s and analysis latency."""
    figures = {}
    for label in ("Analysed frames/s", "Analysis latency"):
        metric = page.locator("[data-testid='stMetric']", has_text=label).first
        figures[label] = metric.locator("[data-testid='stMetricValue']").inner_text()
    return figures


def match_frames(cam: list, out: list, loop: int) -> tuple[list[float], list[float]]:
    """Latency of each distinct camera frame shown annotated, and when each was shown.

    The page decodes only some camera frames, so the camera clock is fitted: frame n (counting
    across loops of ``loop`` frames) is available at ``a + b * n`` ms. A frame shown at time t
    with code c is frame ``c + k * loop`` for the latest k whose capture time is not after t.
    """
    cam = sorted(cam, key=lambda e: e[1])
    numbers, times, wraps, previous = [], [], 0, None
    for code, t in cam:
        if previous is not None and code < previous - loop // 2:
            wraps += 1
        previous = code
        numbers.append(code + wraps * loop)
        times.append(t)
    if len(numbers) < 2:
        return [], []
    b, a = np.polyfit(numbers, times, 1)
    seen: set[int] = set()
    latencies, shown_at = [], []
    for code, t in sorted(out, key=lambda e: e[1]):
        k = np.floor(((t - a) / b - code) / loop)
        n = int(code + k * loop)
        if n in seen or not 0 <= code < loop:
            continue
        seen.add(n)
        latencies.append(t - (a + b * n))
        shown_at.append(t)
    return latencies, shown_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per case")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cases = [("1 webcam face, 640x480 @ 30 fps", 1, 640, 480, 30, 150),
             ("25-face gallery, 1280x720 @ 15 fps", 25, 1280, 720, 15, 75)]
    results = {"machine": f"{os.cpu_count()} cores", "load_average_before": os.getloadavg()[0], "cases": {}}
    with tempfile.TemporaryDirectory(prefix="classmood-bench-") as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        with app_server(folder / "server") as server:
            for label, faces, width, height, fps, frames in cases:
                camera = camera_file(folder, faces, width, height, fps, frames)
                figures = measure(server, playwright, camera, frames, args.seconds)
                results["cases"][label] = figures
                print(f"{label}: {figures}", flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
