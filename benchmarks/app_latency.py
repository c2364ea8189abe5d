"""Glass-to-glass latency and frames/s of the web app, in a real browser over real WebRTC.

    python benchmarks/app_latency.py [--seconds 20] [--json out.json]

A real ``classmood app`` server on localhost and Debian's Chromium with a fake camera that plays
real FER-2013 faces (one webcam face at 640x480, then a 25-face gallery at 1280x720). Every
camera frame carries its number as a 12-bit barcode in the top strip. In the page, the camera
stream and the annotated video coming back are both decoded at each presented frame
(``requestVideoFrameCallback``): latency = when a numbered frame is shown annotated minus when
the same number was first available from the camera (one clock, the page's). Frames/s is the
number of distinct annotated frames shown per second. Each case also splits the median latency
into stages: the browser's WebRTC counters (camera encode, jitter buffer, decode, round trip) and
the server's own timing log (frame to pixels, drawing the faces, back to a video frame; the
analysis runs beside the video and is reported with how old the faces are when drawn).
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

from fixtures.app_harness import app_server, component_frame, face_canvas, fer_faces, launch_chromium, login, press_start, write_y4m

# the app's first class asks the deployer to confirm the use: this benchmark's class is synthetic
os.environ.setdefault("CLASSMOOD_CONFIRMED_BY", "classmood benchmark on a synthetic class")

BITS = 12
STRIP_SHARE = 20  # the barcode fills the top 1/20 of the picture (the browser may scale the video down)

# Runs in every frame before its own scripts: keep the camera stream, and decode barcodes.
PROBE = """
(() => {
  const Peer = window.RTCPeerConnection;
  if (Peer) {  // keep every peer connection, for its WebRTC statistics
    window.__pcs = [];
    window.RTCPeerConnection = function (...args) { const pc = new Peer(...args); window.__pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = Peer.prototype;
    Object.setPrototypeOf(window.RTCPeerConnection, Peer);
  }
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


# The browser's own figures: time to encode the camera, to decode the annotated video, in its jitter
# buffer, and the round trip to the server (WebRTC getStats counters, read twice and differenced).
WEBRTC_STATS = """
async () => {
  const out = {enc: 0, encoded: 0, dec: 0, decoded: 0, jb: 0, emitted: 0, rtt: null};
  for (const pc of (window.__pcs || [])) {
    (await pc.getStats()).forEach(s => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') { out.enc += s.totalEncodeTime || 0; out.encoded += s.framesEncoded || 0; }
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.dec += s.totalDecodeTime || 0; out.decoded += s.framesDecoded || 0;
        out.jb += s.jitterBufferDelay || 0; out.emitted += s.jitterBufferEmittedCount || 0;
      }
      if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) out.rtt = s.currentRoundTripTime;
    });
  }
  return out;
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
        frame = component_frame(page)
        frame.wait_for_function("document.querySelector('video') && document.querySelector('video').videoWidth > 0")
        time.sleep(3)  # warm-up
        assert frame.evaluate(START_WATCH), "no camera or output video to watch"
        before = frame.evaluate(WEBRTC_STATS)
        log_start = server.log.stat().st_size
        time.sleep(seconds)
        cam, out = frame.evaluate("[window.__cam, window.__out]")
        after = frame.evaluate(WEBRTC_STATS)
        page_figures = _page_figures(page)
        server_stages = _server_stages(server.log, log_start)
    finally:
        browser.close()
    latencies, shown_at = match_frames(cam, out, loop)
    span = (shown_at[-1] - shown_at[0]) / 1000 if len(shown_at) > 1 else 0.0
    median = float(statistics.median(latencies)) if latencies else None
    return {
        "stages_ms": stages(before, after, server_stages, median),
        "frames_shown": len(shown_at),
        "fps": round((len(shown_at) - 1) / span, 1) if span else 0.0,
        "latency_ms_median": round(median, 1) if median is not None else None,
        "latency_ms_p90": round(float(np.percentile(latencies, 90)), 1) if latencies else None,
        "camera_frames_decoded": len(cam),
        "output_frames_decoded": len(out),
        "server_analysis": page_figures,
    }


def _server_stages(log: Path, start: int) -> dict[str, float]:
    """The server's newest ``live timing`` line logged during the measurement (see app/stage_clock.py)."""
    text = log.read_bytes()[start:].decode(errors="replace")
    lines = [line for line in text.splitlines() if "live timing (median ms):" in line]
    if not lines:
        return {}
    pairs = lines[-1].split("live timing (median ms):", 1)[1].split(",")
    return {key: float(value) for key, value in (pair.split() for pair in pairs if pair.strip())}


def stages(before: dict, after: dict, server: dict, glass_ms: float | None) -> dict[str, float | None]:
    """Glass-to-glass split into what each side measures; ``rest`` is what no counter sees (the
    server's video decode and encode in aiortc, packet pacing, the browser's display)."""
    def per_frame(total: str, count: str, scale: float = 1000.0) -> float | None:
        frames = after[count] - before[count]
        return round(scale * (after[total] - before[total]) / frames, 1) if frames > 0 else None

    out = {"browser_encode": per_frame("enc", "encoded"),
           "network_both_ways": round(1000 * after["rtt"], 1) if after.get("rtt") is not None else None,
           "server_to_pixels": server.get("to_pixels"), "server_draw": server.get("draw"),
           "server_to_video": server.get("to_video"),
           "browser_jitter_buffer": per_frame("jb", "emitted"), "browser_decode": per_frame("dec", "decoded"),
           "analysis (beside the video)": server.get("analysis"), "faces_age_when_drawn": server.get("faces_age")}
    in_path = [out[k] for k in ("browser_encode", "network_both_ways", "server_to_pixels", "server_draw",
                                "server_to_video", "browser_jitter_buffer", "browser_decode")]
    out["rest"] = round(glass_ms - sum(v for v in in_path if v is not None), 1) if glass_ms is not None else None
    return out


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
    parser.add_argument("--case", choices=("all", "webcam", "gallery"), default="all",
                        help="measure only the one-face webcam or the 25-face gallery")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cases = [("1 webcam face, 640x480 @ 30 fps", 1, 640, 480, 30, 150),
             ("25-face gallery, 1280x720 @ 15 fps", 25, 1280, 720, 15, 75)]
    cases = [c for c in cases if args.case == "all" or (c[1] == 1) == (args.case == "webcam")]
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
