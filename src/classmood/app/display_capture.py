"""Share a window or screen through streamlit-webrtc (which only calls getUserMedia), and explain
a refused camera in plain words.

``DisplayCaptureInjector`` adds a small script to streamlit-webrtc's component page: when
the requested video constraints carry ``classmoodDisplay: true`` (see ``SCREEN_CONSTRAINTS``)
it calls ``getDisplayMedia`` instead, so the browser asks which window, tab or screen to share
(the meeting's gallery view) and that video goes through the same WebRTC path as a webcam.
When the browser refuses the camera or the screen, a red notice above the video says what
to do.
"""

from __future__ import annotations

WEBRTC_COMPONENT_PAGE = "/component/streamlit_webrtc.component.webrtc_streamer/index.html"

SCREEN_CONSTRAINTS = {"video": {"classmoodDisplay": True, "frameRate": 15}, "audio": False}
#: The camera's own default mode (asking for 640x480 made Chromium crop 16:9 pictures to 4:3,
#: cutting off the students at the sides).
CAMERA_CONSTRAINTS = {"video": True, "audio": False}

SCRIPT = b"""<script>
(function () {
  var md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) { return; }
  var userMedia = md.getUserMedia.bind(md);
  var advice = {
    NotAllowedError: "The browser refused access. Allow the camera (or screen sharing) for this site, e.g. with the icon in the address bar, then press Start again.",
    NotFoundError: "No camera was found. Plug one in, or choose another video source.",
    NotReadableError: "The camera is busy in another program (the meeting app?). Close it there or choose another video source.",
    NotSupportedError: "This browser cannot share a window or screen. Use a recent Chrome, Edge or Firefox."
  };
  function explain(error) {
    var text = advice[error && error.name] || ("The video could not start: " + (error && error.message));
    var box = document.getElementById("classmood-media-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "classmood-media-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "background:#fee2e2;color:#991b1b;padding:8px 12px;border-radius:6px;" +
        "font:14px system-ui,sans-serif;margin:0 0 8px";
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.textContent = text;
    throw error;
  }
  md.getUserMedia = function (constraints) {
    var box = document.getElementById("classmood-media-error");
    if (box) { box.remove(); }
    var video = constraints && constraints.video;
    if (video && typeof video === "object" && video.classmoodDisplay) {
      if (!md.getDisplayMedia) {
        return Promise.reject(new DOMException("no getDisplayMedia", "NotSupportedError")).catch(explain);
      }
      return md.getDisplayMedia({video: {frameRate: video.frameRate || 15}, audio: false}).catch(explain);
    }
    return userMedia(constraints).catch(explain);
  };
})();
</script>"""


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
