(function () {
  // Runs in streamlit-webrtc's component page (see display_capture.py).
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

  // While the page shows its own video, streamlit-webrtc's empty video placeholder (a card with a
  // camera icon: no video comes back) is hidden.
  var style = document.createElement("style");
  style.textContent = "body:has(#classmood-preview) .MuiPaper-root:has(> svg:only-child){display:none}";
  document.head.appendChild(style);

  function fitFrame() {  // Streamlit's component protocol: the frame's height follows the page's
    window.parent.postMessage({isStreamlitMessage: true, type: "streamlit:setFrameHeight",
                               height: document.body.scrollHeight}, "*");
  }

  // The live preview: the camera (or shared window) shown here as it is captured, with the faces the
  // server found drawn over it. Nothing comes back over WebRTC; the faces come from /live-faces. A
  // worker fetches and draws them on an OffscreenCanvas, so that they reach the screen even while
  // the page's own script is busy (Streamlit redrawing the students' cards).
  function faceLayer() {
    var canvas = null, size = {w: 0, h: 0, ratio: 1}, faces = null, version = "", url = "", running = true;
    function draw() {
      if (!canvas) { return; }
      var w = size.w, h = size.h;
      if (canvas.width !== Math.round(w * size.ratio) || canvas.height !== Math.round(h * size.ratio)) {
        canvas.width = Math.round(w * size.ratio); canvas.height = Math.round(h * size.ratio);
      }
      var ctx = canvas.getContext("2d");
      ctx.setTransform(size.ratio, 0, 0, size.ratio, 0, 0);
      ctx.clearRect(0, 0, w, h);
      if (!faces) { return; }
      var scale = Math.max(0.5, Math.min(1.2, Math.max(w, h) / 1000));
      var font = Math.round(11 * scale + 4);
      ctx.font = font + "px sans-serif";
      ctx.lineWidth = Math.max(1, Math.round(2 * scale));
      faces.forEach(function (face) {
        var x = face.box[0] * w, y = face.box[1] * h, bw = face.box[2] * w, bh = face.box[3] * h;
        var bar = face.confidence === null ? 0 : Math.max(3, Math.round(5 * scale));
        var labelH = font + 4 + bar;
        var top = y - labelH - 2 >= 0 ? y - labelH - 2 : y + 1;
        var tw = Math.max(ctx.measureText(face.label).width + 4, bw);
        ctx.strokeStyle = face.color;
        ctx.strokeRect(x, y, bw, bh);
        ctx.fillStyle = face.confidence === null ? face.color : "#000";
        ctx.fillRect(x, top, tw, labelH);
        ctx.fillStyle = face.confidence === null ? "#fff" : face.color;
        ctx.fillText(face.label, x + 2, top + font);
        if (bar) { ctx.fillRect(x + 2, top + font + 3, (tw - 4) * face.confidence, bar); }
      });
    }
    function painted(latest) {
      postMessage({latest: latest, paintedAt: performance.timeOrigin + performance.now()});
    }
    function poll() {
      if (!running) { return; }
      fetch(url + "&after=" + encodeURIComponent(version), {credentials: "same-origin", cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (latest) {
          if (!latest) { setTimeout(poll, 1000); return; }
          if (latest.version !== version) {
            version = latest.version;
            faces = latest.faces;
            draw();
            if (self.requestAnimationFrame) {
              self.requestAnimationFrame(function () { painted(latest); });
            } else { painted(latest); }
          }
          setTimeout(poll, latest.live ? 0 : 250);
        })
        .catch(function () { setTimeout(poll, 1000); });
    }
    onmessage = function (event) {
      var message = event.data;
      if (message.size) { size = message.size; draw(); }
      if (message.canvas) { canvas = message.canvas; url = message.url; draw(); poll(); }
      if (message.stop) { running = false; close(); }
    };
  }
  var FACE_LAYER = URL.createObjectURL(new Blob(["(" + faceLayer.toString() + ")()"], {type: "text/javascript"}));

  function showPreview(stream, feed) {
    var old = document.getElementById("classmood-preview");
    if (old) { old.remove(); }
    var box = document.createElement("div");
    box.id = "classmood-preview";
    box.style.cssText = "position:relative;margin:0 0 8px;line-height:0";
    var video = document.createElement("video");
    video.muted = true; video.autoplay = true; video.playsInline = true;
    video.style.cssText = "width:100%;display:block;background:#000";
    video.setAttribute("aria-label", "Live video with the faces found");
    var canvas = document.createElement("canvas");
    canvas.setAttribute("data-testid", "classmood-faces");
    canvas.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none";
    box.appendChild(video); box.appendChild(canvas);
    var error = document.getElementById("classmood-media-error");
    document.body.insertBefore(box, error ? error.nextSibling : document.body.firstChild);
    video.srcObject = stream;
    video.play().catch(function () {});
    var track = stream.getVideoTracks()[0];
    var layer = canvas.transferControlToOffscreen && window.Worker ? new Worker(FACE_LAYER) : null;
    function resized() {
      if (layer) {
        layer.postMessage({size: {w: video.clientWidth, h: video.clientHeight, ratio: window.devicePixelRatio || 1}});
      }
      fitFrame();
    }
    if (layer) {
      var offscreen = canvas.transferControlToOffscreen();
      layer.postMessage({canvas: offscreen, url: location.origin + "/live-faces?feed=" + encodeURIComponent(feed)},
                        [offscreen]);
      layer.onmessage = function (event) {  // drawn: tell whoever listens (tests, the latency benchmark)
        var latest = event.data.latest;
        canvas.setAttribute("data-version", latest.version);
        canvas.dispatchEvent(new CustomEvent("classmood:faces", {detail: {latest: latest, paintedAt: event.data.paintedAt}}));
      };
    } else {
      console.warn("classmood: this browser cannot draw the faces over the video (no OffscreenCanvas); " +
                   "the students' cards below still show them");
    }
    resized();
    video.addEventListener("resize", resized);
    window.addEventListener("resize", resized);
    var watch = setInterval(function () {
      if (box.isConnected && track && track.readyState === "live") { return; }
      clearInterval(watch);
      window.removeEventListener("resize", resized);
      if (layer) { layer.postMessage({stop: true}); }
      box.remove();
      fitFrame();
    }, 250);
  }

  function withoutOurs(video) {  // the browser is asked only for what it knows
    var rest = {};
    Object.keys(video).forEach(function (k) { if (k.indexOf("classmood") !== 0) { rest[k] = video[k]; } });
    return Object.keys(rest).length ? rest : true;
  }

  md.getUserMedia = function (constraints) {
    var box = document.getElementById("classmood-media-error");
    if (box) { box.remove(); }
    var video = constraints && constraints.video;
    var ours = video && typeof video === "object";
    var feed = ours ? video.classmoodFeed : null;
    var capture;
    if (ours && video.classmoodDisplay) {
      if (!md.getDisplayMedia) {
        return Promise.reject(new DOMException("no getDisplayMedia", "NotSupportedError")).catch(explain);
      }
      capture = md.getDisplayMedia({video: {frameRate: video.frameRate || 15}, audio: false});
    } else {
      capture = userMedia(ours ? Object.assign({}, constraints, {video: withoutOurs(video)}) : constraints);
    }
    return capture.catch(explain).then(function (stream) {
      if (feed) { showPreview(stream, feed); }
      return stream;
    });
  };
})();
