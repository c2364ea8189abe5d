"""One batch as one Ray job: an ``Analyser`` actor per worker CPU, each holding one loaded pipeline,
analyses recordings one at a time through the class-session service (``watch_class``, as
``classmood monitor`` does) and records each as its own session.

Writes are idempotent: a task first deletes what an earlier, lost attempt left of its session
(a ``running`` record whose writer is gone) and then records the whole recording again, so a
task retried after its worker died neither duplicates nor loses rows; a session found finished
is reported, not redone. Ray is imported here only inside functions, with usage statistics off,
bound to 127.0.0.1 when started locally, and its session files in a temporary folder removed after.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from classmood.batch.inputs import Recording
from classmood.batch.result import RecordingResult
from classmood.class_session.settings import ClassSettings
from classmood.consent import Confirmation
from classmood.errors import ClassmoodError

log = logging.getLogger(__name__)

MAX_RESTARTS = 4  # an actor whose process died is started again this often (pipeline loaded again)
MAX_TASK_RETRIES = 4  # and the recording it was analysing is given to it again
PROGRESS_EVERY_S = 0.5  # how often a worker reports its frame count


@dataclass
class RayConnection:
    """A connected Ray: the module, how many worker CPUs the cluster has, and (when this process
    started Ray itself) the temporary folder of its session files."""

    ray: object
    workers: int
    address: str
    temp_dir: Path | None = None


@contextlib.contextmanager
def connect_ray(address: str | None) -> Iterator[RayConnection]:
    """Start a local Ray on all cores of this machine (``address`` None) or join the cluster at
    ``address`` (``auto``, ``host:port`` or ``ray://host:port``); disconnect (and stop a local Ray,
    removing its files) on exit. An unreachable address is a one-line ``ClassmoodError``."""
    with _environment(ray_environment(address)):  # before ray is imported: it reads some at import
        try:
            import ray
        except ImportError:
            raise ClassmoodError("classmood batch needs Ray: pip install 'classmood[cluster]'") from None
        if ray.is_initialized():  # a caller (a test, a notebook) connected already
            yield RayConnection(ray, _worker_cpus(ray), "connected")
            return
        with _ray_session(ray, address) as connection:
            yield connection


@contextlib.contextmanager
def _ray_session(ray, address: str | None) -> Iterator[RayConnection]:
    """``ray.init`` for ``connect_ray``; ``ray.shutdown`` (and the local session files removed) after."""
    temp_dir = None
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    try:
        if address is None:
            temp_dir = Path(tempfile.mkdtemp(prefix="classmood-ray-"))
            ray.init(address="local", num_cpus=os.cpu_count() or 1, _temp_dir=str(temp_dir),
                     _node_ip_address="127.0.0.1", **options)
        else:
            _check_reachable(address)
            options.pop("include_dashboard")  # a cluster's dashboard is its own business
            _join(ray, address, options)
    except ClassmoodError:
        _remove(temp_dir)
        raise
    except Exception as exc:  # noqa: BLE001 - Ray's many connection errors, one line each
        _remove(temp_dir)
        what = "start a local Ray" if address is None else f"join Ray at {address}"
        raise ClassmoodError(f"cannot {what}: {_first_line(exc)}") from None
    try:
        yield RayConnection(ray, _worker_cpus(ray), address or "local", temp_dir)
    finally:
        ray.shutdown()
        _remove(temp_dir)


#: Ray Client starts a server process for each client; it can die while starting (CI: "Initialization
#: failure from server: psutil.ZombieProcess", right after a worker of the cluster was killed), and a
#: second try gets a new one
CLIENT_JOIN_TRIES = 3
CLIENT_RETRY_S = 2.0


def _join(ray, address: str, options: dict) -> None:
    """``ray.init`` at a cluster's ``address``, again (up to ``CLIENT_JOIN_TRIES``) when Ray Client's
    server for this client failed to start."""
    for attempt in range(1, CLIENT_JOIN_TRIES + 1):
        try:
            ray.init(address=address, **options)
            return
        except ConnectionAbortedError as exc:
            if attempt == CLIENT_JOIN_TRIES or "Initialization failure from server" not in str(exc):
                raise
            log.warning("Ray Client at %s could not start this client's server (%s); trying again (%d of %d)",
                        address, _first_line(exc), attempt + 1, CLIENT_JOIN_TRIES)
            ray.shutdown()
            time.sleep(CLIENT_RETRY_S)


def ray_environment(address: str | None) -> dict[str, str]:
    """The environment Ray is started or joined with (by ``connect_ray``; ``ray start`` on a machine of
    a cluster wants the ``address=None`` one): usage statistics off; for a Ray of this machine alone
    (``address`` None or on loopback) no network address but 127.0.0.1; for a new local Ray
    (``address`` None) no cloud probe and a token of this run, unless token settings are given."""
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if not is_remote(address):
        # Ray turns 127.0.0.1 into this machine's network address (found by a UDP "connect" to 8.8.8.8)
        # unless it is told that the cluster is this machine alone
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    if address is None:
        # Ray's dashboard process asks the cloud metadata services (169.254.169.254, metadata.google.internal)
        # which cloud it runs on even with usage statistics off: its HTTP goes to a loopback port that refuses it
        env.update(dict.fromkeys(("http_proxy", "HTTP_PROXY"), "http://127.0.0.1:9"))
        env.update(dict.fromkeys(("no_proxy", "NO_PROXY"), "127.0.0.1,localhost,::1"))
        if not any(name in os.environ for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
            # token authentication on, with a token that lives in the environment of this run's processes
            # only (Ray would write one to ~/.ray otherwise)
            env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": _run_token()})
    return env


@functools.cache
def _run_token() -> str:
    """This process's Ray token: one for every local Ray it starts, as Ray keeps the first it read."""
    return secrets.token_hex(32)


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """``env`` set in this process (and so in the processes it starts) until the block ends."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (not after Ray's minute of retries) when nothing listens at ``host:port``."""
    if address == "auto":
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ClassmoodError(f"--ray {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ClassmoodError(f"cannot reach Ray at {address}: {exc.strerror or exc}") from None


def is_remote(address: str | None) -> bool:
    """Whether ``--ray ADDRESS`` may put workers on other machines (``auto`` may; a loopback address
    is a cluster of this machine's processes)."""
    if address is None:
        return False
    host = urlsplit(address if "://" in address else f"ray://{address}").hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name, or auto
        return True


def _worker_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    """The error in one line; a line that only announces what follows (Ray Client's "Initialization
    failure from server:" and the server's traceback) gets the traceback's last line, the reason."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return f"{lines[0]} {lines[-1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]


class FrameCounts:
    """A small actor the workers tell how many frames of each recording they have analysed
    (set, not added: a retried recording starts again from 0)."""

    def __init__(self) -> None:
        self._frames: dict[int, int] = {}

    def set(self, index: int, frames: int) -> None:
        self._frames[index] = frames

    def counts(self) -> dict[int, int]:
        return dict(self._frames)


class Analyser:
    """A Ray actor: one loaded pipeline, recordings analysed and recorded one at a time."""

    def __init__(self, settings: ClassSettings, db: str, consent: Confirmation, counts: str | None = None) -> None:
        """``counts``: the name of the ``FrameCounts`` actor to report to (a name, not a handle: Ray
        restarts an actor from its constructor arguments, which must then not live in its object store)."""
        import ray

        from classmood.store import Store

        self.settings, self.db, self.consent = settings, db, consent
        self.counts = ray.get_actor(counts) if counts else None
        self.pipeline = settings.pipeline()
        self.store = Store(db)

    def analyse(self, index: int, recording: Recording) -> RecordingResult:
        """Analyse and record one recording as its session; never raises for a bad recording."""
        try:
            finished_before, replaced = self._clear_partial(recording)
            if finished_before:  # an attempt lost after it had finished: nothing to redo
                return RecordingResult.from_store(self.store, recording, "finished")
            return self._analyse(index, recording, replaced)
        except ClassmoodError as exc:
            return RecordingResult.failed(recording, str(exc))
        except Exception as exc:  # noqa: BLE001 - one line in the table; the other recordings go on
            return RecordingResult.failed(recording, f"{type(exc).__name__}: {_first_line(exc)}")

    def _analyse(self, index: int, recording: Recording, replaced: bool) -> RecordingResult:
        from classmood.class_session.watch import watch_class

        started, frames, reported = time.perf_counter(), 0, 0.0
        with watch_class(recording.path, recording.session, settings=self.settings, db=self.db,
                         consent=self.consent, pipeline=self.pipeline) as watched:
            for _ in watched.snapshots():
                frames += 1
                if self.counts is not None and time.monotonic() - reported >= PROGRESS_EVERY_S:
                    self.counts.set.remote(index, frames)
                    reported = time.monotonic()
            truncation = watched.source.truncation
        if self.counts is not None:
            self.counts.set.remote(index, frames)
        return RecordingResult.from_store(
            self.store, recording, "truncated" if truncation else "finished", frames=frames,
            elapsed_s=time.perf_counter() - started, replaced=replaced, reason=truncation.reason if truncation else "")

    def _clear_partial(self, recording: Recording) -> tuple[bool, bool]:
        """Make way for recording ``recording`` from its start: returns (finished already, a partial
        record was deleted). A record still being written (its worker not yet known dead: a heartbeat
        younger than ``STALE_AFTER_S``) is waited for, then refused."""
        from sqlalchemy import select

        from classmood.store.erasure import delete_session
        from classmood.store.liveness import STALE_AFTER_S, is_live
        from classmood.store.models import SessionRow

        deadline = time.monotonic() + STALE_AFTER_S + 5.0
        while True:
            with self.store.transaction() as db:
                row = db.scalar(select(SessionRow).where(SessionRow.name == recording.session))
                if row is None:
                    return False, False
                if row.status == "finished":
                    return True, False
                live, owner = row.status == "running" and is_live(row.owner, row.heartbeat_at), row.owner
            if not live:
                delete_session(self.store, recording.session)
                return False, True
            if time.monotonic() > deadline:
                raise ClassmoodError(f"session {recording.session!r} is being recorded right now by {owner}")
            time.sleep(1.0)


def run_batch(connection: RayConnection, recordings: list[Recording], *, settings: ClassSettings, db: str,
              consent: Confirmation, on_progress: Callable[[dict[int, int], list[RecordingResult]], None] | None = None,
              ) -> list[RecordingResult]:
    """Analyse ``recordings`` on the cluster (longest first, one at a time per actor), calling
    ``on_progress(frames analysed per recording index, results so far)`` about twice a second.
    Returns one result per recording, in the given order."""
    ray = connection.ray
    counts_name = f"classmood-frame-counts-{uuid.uuid4().hex}"
    counts = ray.remote(num_cpus=0)(FrameCounts).options(name=counts_name).remote()
    actor = ray.remote(num_cpus=1, max_restarts=MAX_RESTARTS, max_task_retries=MAX_TASK_RETRIES)(Analyser)
    actors = [actor.remote(settings, db, consent, counts_name)
              for _ in range(min(len(recordings), connection.workers))]
    queue = deque(sorted(range(len(recordings)), key=lambda i: -(recordings[i].frames or 0)))
    results: dict[int, RecordingResult] = {}
    running: dict[object, tuple[object, int]] = {}

    def give(worker) -> None:
        if queue:
            index = queue.popleft()
            running[worker.analyse.remote(index, recordings[index])] = (worker, index)

    for worker in actors:
        give(worker)
    while running:
        ready, _ = ray.wait(list(running), num_returns=1, timeout=PROGRESS_EVERY_S)
        for ref in ready:
            worker, index = running.pop(ref)
            try:
                results[index] = ray.get(ref)
                give(worker)
            except ray.exceptions.RayError as exc:  # its actor is gone for good: the others go on
                results[index] = RecordingResult.failed(recordings[index], f"worker lost: {_first_line(exc)}")
                actors.remove(worker)
        if not running and queue:  # every actor gone: nothing left to run the rest
            for index in queue:
                results[index] = RecordingResult.failed(recordings[index], "no worker left")
            queue.clear()
        if on_progress is not None:
            with contextlib.suppress(ray.exceptions.RayError):
                on_progress(ray.get(counts.counts.remote()), list(results.values()))
    return [results[i] for i in range(len(recordings))]
