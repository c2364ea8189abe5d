"""Our script in streamlit-webrtc's component page (``component_page.js``): share a window or
screen (streamlit-webrtc only calls getUserMedia), show the live video with the faces drawn in the
page itself, and explain a refused camera in plain words.

``DisplayCaptureInjector`` adds the script to the component page. It wraps ``getUserMedia``:
- constraints with ``classmoodDisplay: true`` (``SCREEN_VIDEO``) call ``getDisplayMedia``
  instead, so the browser asks which window, tab or screen to share (the meeting's gallery view)
  and that video goes through the same WebRTC path as a webcam;
- constraints with ``classmoodFeed: <token>`` (``video_constraints``) show the captured video at
  once in the page, as it is captured, and draw over it the faces the server found, fetched from
  ``/live-faces`` (``app/live_overlay.py``): the video does not make a round trip to the server
  and back (an encode, a decode and a jitter buffer on each end), only the faces do;
- when the browser refuses the camera or the screen, a red notice above the video says what to do.
"""

from __future__ import annotations

from pathlib import Path

WEBRTC_COMPONENT_PAGE = "/component/streamlit_webrtc.component.webrtc_streamer/index.html"

SCREEN_VIDEO = {"classmoodDisplay": True, "frameRate": 15}  # getDisplayMedia, at 15 frames/s


def video_constraints(kind: str, feed: str) -> dict:
    """streamlit-webrtc's ``media_stream_constraints`` for a webcam or a shared screen whose faces
    the page draws itself, from the live feed ``feed`` (see ``LiveStream.feed_token``). A webcam
    keeps its own default mode: asking for 640x480 made Chromium crop 16:9 pictures to 4:3,
    cutting off the students at the sides."""
    video = SCREEN_VIDEO if kind == "screen" else {}
    return {"video": {**video, "classmoodFeed": feed}, "audio": False}


SCRIPT = b"<script>" + (Path(__file__).parent / "component_page.js").read_bytes() + b"</script>"


class DisplayCaptureInjector:
    """ASGI middleware: insert ``SCRIPT`` at the top of the component page's ``<head>``."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != WEBRTC_COMPONENT_PAGE:
            await self.app(scope, receive, send)
            return
        # ask for the page uncompressed so that it can be edited
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        start: dict = {}
        body = bytearray()

        async def edit(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = bytes(body)
                if start.get("status") == 200 and b"<head>" in page:
                    page = page.replace(b"<head>", b"<head>" + SCRIPT, 1)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"etag")]
                headers.append((b"content-length", str(len(page)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, edit)
