"""Glass-to-glass latency and frames/s of the web app's live view, in a real browser over real WebRTC.

    python benchmarks/app_latency.py [--seconds 20] [--case all|webcam|gallery|gallery30] [--json out.json]

A real ``classmood app`` server on localhost and Debian's Chromium with a fake camera that plays
real FER-2013 faces (one webcam face at 640x480 and 30 frames/s, then a 25-face gallery at 1280x720
and 15 frames/s, the rate the app asks a shared window for; ``gallery30``: at 30). The Live page
shows the camera as it is captured and draws over it the faces the server found (the video goes to
the server, only the faces come back; see ``app/display_capture.py``), so two things are timed, on
one clock (the page's):

* **the video**: every camera frame carries its number as a 12-bit barcode in the top strip; the
  camera stream and the page's live video are both decoded at each presented frame
  (``requestVideoFrameCallback``): latency = when a numbered frame is shown minus when it was
  first available from the camera; frames/s = distinct frames shown per second;
* **the faces drawn over it** (the figure that matters): the page's video encoder is watched
  (WebRTC encoded streams), which gives each camera frame's RTP timestamp and when it was encoded;
  the server names the frame each set of faces was found in (``frame_pts`` from ``/live-faces``:
  its RTP timestamp, counted from the connection's first frame); latency = when the page has
  drawn the faces minus when their frame was encoded, plus the encoder's time per frame;
  updates/s = new sets of faces drawn per second.

Each case also splits the faces' latency into parts, measured for every set of faces on the
computer's one clock: from the camera to the server (the page's encode, the network, aiortc's
receive and decode), on the server (waiting for the analysis, the analysis), and to the page and
painted (the answer's way, the worker's drawing, the next screen refresh); with the browser's
WebRTC counters (encode time, round trip) and the server's timing log (frame to pixels, analysis).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
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
  if (Peer) {  // keep every peer connection, for its WebRTC statistics, and watch its video encoder
    window.__pcs = []; window.__sent = [];  // [RTP timestamp, when encoded] of each camera frame sent
    window.RTCPeerConnection = function (config, ...rest) {
      const pc = new Peer({...(config || {}), encodedInsertableStreams: true}, ...rest);
      window.__pcs.push(pc);
      const addTrack = pc.addTrack.bind(pc);
      pc.addTrack = (track, ...streams) => {
        const sender = addTrack(track, ...streams);
        const {readable, writable} = sender.createEncodedStreams();
        readable.pipeThrough(new TransformStream({transform(frame, out) {
          if (track.kind === 'video') window.__sent.push([frame.timestamp, performance.timeOrigin + performance.now()]);
          out.enqueue(frame);
        }})).pipeTo(writable);
        return sender;
      };
      return pc;
    };
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
  window.__cam = []; window.__out = []; window.__faces = [];
  const local = document.createElement('video');
  local.muted = true; local.srcObject = window.__camera; local.play();
  document.body.appendChild(local);
  window.__watch(local, window.__cam);
  const shown = document.querySelector('#classmood-preview video');
  window.__watch(shown, window.__out);
  const canvas = document.querySelector('[data-testid=classmood-faces]');
  // when the page's face layer (a worker) painted each set of faces, and the frame they were found in
  canvas.addEventListener('classmood:faces', (e) => {
    const latest = e.detail.latest;
    window.__faces.push([latest.frame_pts, e.detail.paintedAt, latest.frame_arrived_at, latest.sent_at]);
  });
  return !!shown && !!canvas && !!window.__camera;
}
"""


# The browser's own figures: time to encode the camera, and the round trip to the server (WebRTC
# getStats counters, read twice and differenced).
WEBRTC_STATS = """
async () => {
  const out = {enc: 0, encoded: 0, rtt: null};
  for (const pc of (window.__pcs || [])) {
    (await pc.getStats()).forEach(s => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') { out.enc += s.totalEncodeTime || 0; out.encoded += s.framesEncoded || 0; }
      if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined) out.rtt = s.currentRoundTripTime;
    });
  }
  return out;
}
"""


@dataclass(frozen=True)
class Case:
    label: str
    faces: int
    width: int
    height: int
    fps: int
    frames: int  # the camera file's length (it loops)


CASES = {"webcam": Case("1 webcam face, 640x480 @ 30 fps", 1, 640, 480, 30, 150),
         "gallery": Case("25-face gallery, 1280x720 @ 15 fps", 25, 1280, 720, 15, 75),  # a shared window's rate
         "gallery30": Case("25-face gallery, 1280x720 @ 30 fps", 25, 1280, 720, 30, 150)}


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


def camera_file(folder: Path, case: Case) -> Path:
    """The fake camera's video: the faces on a grey picture, each frame's number in the barcode strip."""
    margin = case.height // 8  # keeps the faces and their labels clear of the barcode strip
    picture = np.full((case.height, case.width, 3), 128, np.uint8)
    picture[margin:] = face_canvas(fer_faces(case.faces), case.width, case.height - margin)
    return write_y4m(folder / f"camera_{case.faces}.y4m", [stamp(picture, i) for i in range(case.frames)],
                     fps=case.fps)


def measure(server, playwright, camera: Path, case: Case, seconds: float) -> dict:
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
        frame.wait_for_function("document.querySelector('#classmood-preview video')"
                                " && document.querySelector('#classmood-preview video').videoWidth > 0")
        time.sleep(3)  # warm-up
        assert frame.evaluate(START_WATCH), "no camera, live video or faces layer to watch"
        before = frame.evaluate(WEBRTC_STATS)
        log_start = server.log.stat().st_size
        time.sleep(seconds)
        cam, out, faces, sent = frame.evaluate("[window.__cam, window.__out, window.__faces, window.__sent]")
        after = frame.evaluate(WEBRTC_STATS)
        page_figures = _page_figures(page)
        server_stages = _server_stages(server.log, log_start)
    finally:
        browser.close()
    video_ms, video_at = latencies(camera_clock(cam, case.frames), out, case.frames)
    split = stages(before, after, server_stages)
    faces_ms, faces_at, parts, unmatched = faces_latency(sent, faces, split["browser_encode"] or 0.0)
    split.update({name: round(_median(values), 1) if values else None for name, values in parts.items()})
    return {
        "faces": {**summary(faces_ms, faces_at, "updates_per_s"), "sets_drawn": len(faces),
                  "sets_of_unknown_frame": unmatched},
        "video": {**summary(video_ms, video_at, "fps"), "camera_frames_decoded": len(cam)},
        "stages_ms": split,
        "server_analysis": page_figures,
    }


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def summary(latency_ms: list[float], shown_at: list[float], rate: str) -> dict:
    span = (shown_at[-1] - shown_at[0]) / 1000 if len(shown_at) > 1 else 0.0
    median = _median(latency_ms)
    return {rate: round((len(shown_at) - 1) / span, 1) if span else 0.0,
            "latency_ms_median": round(median, 1) if median is not None else None,
            "latency_ms_p90": round(float(np.percentile(latency_ms, 90)), 1) if latency_ms else None,
            "shown": len(shown_at)}


#: where a set of faces' latency goes, measured for each set (the parts add up to it)
PARTS = ("camera_to_server (encode, network, aiortc receive and decode)", "on_the_server (waiting, analysis)",
         "to_the_page_and_painted")


def faces_latency(sent: list, drawn: list, encode_ms: float) -> tuple[list[float], list[float], dict, int]:
    """Latency of each set of faces drawn ([frame pts, painted, frame arrived, sent], times since the
    epoch): when it was painted minus when its frame was encoded, plus the encoder's time per frame
    (``encode_ms``); when each was painted; the latency's parts (``PARTS``: the server's times come
    from the same computer's clock); and how many drawn sets named no frame the page sent (none,
    unless the connection's first frame was lost: the server counts timestamps from it, aiortc)."""
    parts: dict[str, list[float]] = {name: [] for name in PARTS}
    if not sent:
        return [], [], parts, len(drawn)
    first = sent[0][0]
    encoded_at = {(ts - first) % 2**32: t for ts, t in sent}
    latency, shown_at, unmatched = [], [], 0
    for pts, painted, arrived, left in sorted(drawn, key=lambda e: e[1]):
        if pts is None or pts not in encoded_at:
            unmatched += 1
            continue
        captured = encoded_at[pts] - encode_ms
        latency.append(painted - captured)
        shown_at.append(painted)
        for name, (start, end) in zip(PARTS, ((captured, arrived * 1000), (arrived * 1000, left * 1000),
                                              (left * 1000, painted)), strict=True):
            parts[name].append(end - start)
    return latency, shown_at, parts, unmatched


def _server_stages(log: Path, start: int) -> dict[str, float]:
    """The server's newest ``live timing`` line logged during the measurement (see app/stage_clock.py)."""
    text = log.read_bytes()[start:].decode(errors="replace")
    lines = [line for line in text.splitlines() if "live timing (median ms):" in line]
    if not lines:
        return {}
    pairs = lines[-1].split("live timing (median ms):", 1)[1].split(",")
    return {key: float(value) for key, value in (pair.split() for pair in pairs if pair.strip())}


def stages(before: dict, after: dict, server: dict) -> dict[str, float | None]:
    """What the browser's WebRTC counters and the server's timing log say (medians, ms)."""
    frames = after["encoded"] - before["encoded"]
    return {"browser_encode": round(1000 * (after["enc"] - before["enc"]) / frames, 1) if frames > 0 else None,
            "network_one_way": round(500 * after["rtt"], 1) if after.get("rtt") is not None else None,
            "server_to_pixels": server.get("to_pixels"), "analysis": server.get("analysis")}


def _page_figures(page) -> dict:
    """The server's own figures shown on the Live page: analysed frames/s and analysis latency."""
    figures = {}
    for label in ("Analysed frames/s", "Analysis latency"):
        metric = page.locator("[data-testid='stMetric']", has_text=label).first
        figures[label] = metric.locator("[data-testid='stMetricValue']").inner_text()
    return figures


def camera_clock(cam: list, loop: int) -> tuple[float, float] | None:
    """The camera's clock fitted to the decoded barcodes: frame n (counting across loops of ``loop``
    frames) is available at ``a + b * n`` ms; the page decodes only some camera frames."""
    numbers, times, wraps, previous = [], [], 0, None
    for code, t in sorted(cam, key=lambda e: e[1]):
        if previous is not None and code < previous - loop // 2:
            wraps += 1
        previous = code
        numbers.append(code + wraps * loop)
        times.append(t)
    if len(numbers) < 2:
        return None
    b, a = np.polyfit(numbers, times, 1)
    return a, b


def latencies(clock: tuple[float, float] | None, shown: list, modulo: int) -> tuple[list[float], list[float]]:
    """Latency of each distinct camera frame in ``shown`` ([frame number modulo ``modulo``, time]),
    and when each was shown: code c shown at t is frame ``c + k * modulo`` for the latest k whose
    availability is not after t (give or take two frames)."""
    if clock is None:
        return [], []
    a, b = clock
    seen: set[int] = set()
    latency, shown_at = [], []
    for code, t in sorted(shown, key=lambda e: e[1]):
        if not 0 <= code < modulo:
            continue
        # up to two frames "early": the camera's own video and the page's are two views of one stream,
        # each presenting a new frame at its own moment
        n = int(code + np.floor(((t - a) / b + 2 - code) / modulo) * modulo)
        if n in seen:
            continue
        seen.add(n)
        latency.append(t - (a + b * n))
        shown_at.append(t)
    return latency, shown_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per case")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--case", choices=("all", *CASES), default="all",
                        help="one case only (all: webcam and gallery; gallery30 is the gallery from a 30 frames/s source)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cases = [CASES["webcam"], CASES["gallery"]] if args.case == "all" else [CASES[args.case]]
    results = {"machine": f"{os.cpu_count()} cores", "load_average_before": os.getloadavg()[0], "cases": {}}
    with tempfile.TemporaryDirectory(prefix="classmood-bench-") as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        with app_server(folder / "server") as server:
            for case in cases:
                figures = measure(server, playwright, camera_file(folder, case), case, args.seconds)
                results["cases"][case.label] = figures
                print(f"{case.label}: {figures}", flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
