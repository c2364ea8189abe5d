"""Run the face pipeline in a separate process, so the web server's own threads keep flowing.

The face detector holds Python's GIL while it runs; inside the Streamlit server that starves
aiortc's threads (WebRTC receive, decode, encode) and the video stutters and lags by seconds.
``PipelineProcess`` has the same ``locate``, ``classify`` and ``process`` calls as ``Pipeline`` but
does the detection and classification in a child process (frames and faces go through a pipe), so
only tracking, aggregation and recording stay in the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import threading
from multiprocessing.connection import Client, Listener

import numpy as np

from classmood.app.auth import PASSWORD_ENV
from classmood.class_session import ClassSettings
from classmood.emotions import EMOTIONS
from classmood.errors import ClassmoodError
from classmood.types import Frame, FrameResult

START_TIMEOUT_S = 120.0
CALL_TIMEOUT_S = 60.0


def main(address: str, settings: str) -> None:
    """Entry point of the worker process (``python -m classmood.app.worker ADDRESS PIPELINE_SETTINGS_JSON``)."""
    connection = Client(address, family="AF_UNIX", authkey=bytes.fromhex(os.environ.pop("CLASSMOOD_WORKER_KEY")))
    with connection:
        _serve(connection, ClassSettings(**json.loads(settings)))


def _serve(connection, settings: ClassSettings) -> None:
    """Child process: build the pipeline, then answer frames until the pipe closes."""
    try:
        pipeline = settings.pipeline()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", None))
    feed = _Feed(pipeline)
    while True:
        try:
            step, payload, key = connection.recv()
        except (EOFError, OSError):
            return
        try:
            feed.switch(key)
            connection.send(("ok", _answer(pipeline, step, payload)))
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the worker
            connection.send(("error", f"{type(exc).__name__}: {exc}"))


class _Feed:
    """Which feed the worker's pipeline is following. A live feed's frames (``key``: the feed's
    name) are consecutive frames of one video while nothing else comes in between, so the
    pipeline may follow their faces and spread the mirror average over two frames
    (``Pipeline.reset(True)``); a picture (``key`` None) or a second live feed in between resets it
    to unrelated pictures, and a feed that met another one stays so (each frame analysed whole)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.key: str | None = None

    def switch(self, key: str | None) -> None:
        if key != self.key:
            self.pipeline.reset(key is not None and self.key is None)
            self.key = key


def _answer(pipeline, step: str, payload):
    """``locate``: a frame's faces and crops (with the stage timings); ``classify``: the
    probabilities of the faces sent back (only those the class session lets be classified)."""
    if step == "locate":
        image, index, timestamp = payload
        result = pipeline.locate(Frame(image, index, timestamp))
        return result.detections, result.timings
    if step == "classify":
        result = pipeline.classify(FrameResult(Frame(_NO_IMAGE, 0, 0.0), payload))
        return result.detections.probabilities, result.timings["classify"]
    raise ValueError(f"unknown step {step!r}")


_NO_IMAGE = np.zeros((1, 1, 3), np.uint8)  # classify works on the crops alone


class PipelineProcess:
    """The pipeline of ``settings`` (``ClassSettings.pipeline()``) in a child process; thread-safe,
    restarted if it dies."""

    def __init__(self, settings: ClassSettings | None = None) -> None:
        self.settings = settings or ClassSettings()
        self.model = self.settings.model
        self._lock = threading.Lock()
        self._process = None
        self._connection = None
        with self._lock:
            self._start()

    def _start(self) -> None:
        """Start ``python -m classmood.app.worker`` and wait until its pipeline is loaded.

        A plain child interpreter (not multiprocessing's spawn, which would re-run the server's
        main module) that connects back over a private Unix socket with a random key.
        """
        authkey = secrets.token_bytes(32)
        with Listener(family="AF_UNIX", authkey=authkey) as listener:
            env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}  # never the app's password
            env["CLASSMOOD_WORKER_KEY"] = authkey.hex()
            process = subprocess.Popen([sys.executable, "-m", "classmood.app.worker", listener.address,
                                        json.dumps(self.settings.pipeline_settings())],
                                       env=env, stdin=subprocess.DEVNULL)
            listener._listener._socket.settimeout(START_TIMEOUT_S)  # accept() must not wait forever on a dead child
            try:
                connection = listener.accept()
            except OSError:
                process.kill()
                raise ClassmoodError(f"the {self.model} face pipeline did not start") from None
        try:
            ready = connection.poll(START_TIMEOUT_S)
            status, detail = connection.recv() if ready else ("error", "no answer")
        except (EOFError, OSError):
            status, detail = "error", "it exited"
        if status != "ready":
            connection.close()
            process.kill()
            raise ClassmoodError(f"cannot load the {self.model} face pipeline: {detail}")
        self._process, self._connection = process, connection

    def locate(self, frame: Frame, feed: str | None = None) -> FrameResult:
        """Find and crop the faces of one frame (like ``Pipeline.locate``); ``feed`` names the live
        feed the frame comes from (None: an unrelated picture), see ``feed()``."""
        detections, timings = self._call("locate", (frame.image, frame.index, frame.timestamp), feed)
        return FrameResult(frame, detections, dict(timings))

    def classify(self, result: FrameResult, feed: str | None = None) -> FrameResult:
        """Classify the faces left in ``result`` (like ``Pipeline.classify``); only their crops travel.
        A live feed's frame without faces goes too: the worker's mirror average must see the gap."""
        faces = result.detections
        if len(faces) or feed is not None:
            probabilities, seconds = self._call("classify", faces.with_(embeddings=None), feed)
        else:
            probabilities, seconds = np.zeros((0, len(EMOTIONS)), np.float32), 0.0
        result.detections = faces.with_(probabilities=probabilities)
        result.timings["classify"] = result.timings.get("classify", 0.0) + seconds
        return result

    def process(self, frame: Frame, feed: str | None = None) -> FrameResult:
        """Detect and classify the faces of one frame (like ``Pipeline.process``)."""
        return self.classify(self.locate(frame, feed), feed)

    def feed(self, key: str) -> LiveFeedPipeline:
        """This pipeline for the consecutive frames of one live feed (a class session's ``pipeline``)."""
        return LiveFeedPipeline(self, key)

    def _call(self, step: str, payload, feed: str | None):
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            try:
                self._connection.send((step, payload, feed))
                if not self._connection.poll(CALL_TIMEOUT_S):
                    raise TimeoutError
                status, answer = self._connection.recv()
            except (EOFError, OSError, TimeoutError, BrokenPipeError):
                self._stop()
                raise ClassmoodError("the face pipeline process stopped; it restarts with the next frame") from None
        if status != "ok":
            raise ClassmoodError(f"face analysis failed: {answer}")
        return answer

    def _stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = self._connection = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __del__(self) -> None:  # a cached pipeline dies with the server; be tidy in tests
        with contextlib.suppress(Exception):
            self.close()


class LiveFeedPipeline:
    """A shared ``PipelineProcess`` seen by one live feed: its frames carry the feed's key, so that
    while no other frame comes in between the worker follows the feed's faces from frame to frame
    and runs one mirror view of each a frame (``classify.mirror_over_time``)."""

    def __init__(self, shared: PipelineProcess, key: str) -> None:
        self.shared, self.key = shared, key

    def locate(self, frame: Frame) -> FrameResult:
        return self.shared.locate(frame, self.key)

    def classify(self, result: FrameResult) -> FrameResult:
        return self.shared.classify(result, self.key)

    def process(self, frame: Frame) -> FrameResult:
        return self.shared.process(frame, self.key)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
