"""``/live-faces``: the faces of a live class, for the page that draws them over its own video.

A webcam or shared-screen class is shown in the browser as it is captured (see
``display_capture``); this route gives that page the faces of the newest analysed frame: each box
as a share of the frame's width and height, its label (pseudonymous id or name, emotion, confidence)
and colour, as drawn on annotated videos; and which video frame they were found in (its RTP
timestamp), when that frame reached the server and when the answer left (seconds since the epoch:
the browser on the same computer can tell where the time went). The page asks again at once with the version it has, and
the answer waits (up to ``WAIT_S``) until a newer analysis exists, so new faces reach the page a
moment after they are found, with no polling interval in between.

A feed is named by ``LiveStream.feed_token``, an unguessable token the Live page gives its own
component; the route sits behind the login like every other, and an unknown token gets 404.
"""

from __future__ import annotations

import asyncio
import time
import weakref

from starlette.requests import Request
from starlette.responses import JSONResponse

from classmood.annotate import EMOTION_COLORS, OPTED_OUT_COLOR, face_label
from classmood.app.stream import LatestFaces, LiveStream

PATH = "/live-faces"
WAIT_S = 1.0
CHECK_EVERY_S = 0.004

_FEEDS: weakref.WeakValueDictionary[str, LiveStream] = weakref.WeakValueDictionary()


def register(stream: LiveStream) -> str:
    """Let the page fetch ``stream``'s faces; returns the token that names them."""
    _FEEDS[stream.feed_token] = stream
    return stream.feed_token


def _css(bgr: tuple[int, int, int]) -> str:
    return f"rgb({bgr[2]},{bgr[1]},{bgr[0]})"


def payload(latest: LatestFaces | None) -> dict:
    """What the page draws: ``live`` False when no class is running."""
    if latest is None:
        return {"live": False, "version": "", "faces": []}
    width, height = latest.size
    scale = [1 / width, 1 / height, 1 / width, 1 / height] if width and height else [0.0] * 4

    def share(box) -> list[float]:
        return [round(float(v) * s, 5) for v, s in zip(box, scale, strict=True)]

    faces = [{"box": share(face.box), "label": face_label(face), "confidence": round(face.confidence, 3),
              "color": _css(EMOTION_COLORS.get(face.emotion, (255, 255, 255)))}
             for face in latest.detections.to_faces()]
    faces += [{"box": share(box), "label": "opted out", "confidence": None, "color": _css(OPTED_OUT_COLOR)}
              for box in latest.opted_out.boxes]
    arrival = latest.arrival
    return {"live": True, "version": str(latest.version), "size": [width, height], "faces": faces,
            "frame_pts": arrival.pts if arrival else None, "frame_arrived_at": arrival.wall if arrival else None,
            "sent_at": time.time()}


async def live_faces(request: Request) -> JSONResponse:
    """The newest faces of the feed ``?feed=``, once they differ from version ``?after=``."""
    stream = _FEEDS.get(request.query_params.get("feed", ""))
    if stream is None:
        return JSONResponse({"error": "No such live class."}, status_code=404)
    after = request.query_params.get("after", "")
    deadline = time.monotonic() + WAIT_S
    latest = stream.latest_faces()
    while latest is not None and str(latest.version) == after and time.monotonic() < deadline:
        await asyncio.sleep(CHECK_EVERY_S)
        latest = stream.latest_faces()
    return JSONResponse(payload(latest), headers={"Cache-Control": "no-store"})
