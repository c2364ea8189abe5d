"""``classmood batch`` on a real Ray cluster: a head and a second worker node started as separate
``ray start`` processes on loopback, one CPU each, usage statistics off, token authentication on.
Several short recorded classes go into CI's PostgreSQL while the worker process analysing the longest
one is killed (SIGKILL) in the middle: Ray starts the actor again, the task runs again, replaces the
partial session, and every recording ends with exactly the rows a plain single-process run stores.

The nodes take 127.0.0.2 and 127.0.0.3 as their addresses: Ray 2.60 turns ``--node-ip-address
127.0.0.1`` of a multi-node cluster into the machine's network address (found by a UDP "connect" to
8.8.8.8), but leaves other loopback addresses as they are."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from classmood.batch.job import ray_environment
from classmood.store import Store
from classmood.store.erasure import delete_session

from batch_clips import BATCH_OPTIONS, POSTGRES_URL, stored

pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="CLASSMOOD_TEST_POSTGRES_URL not set (.ci/run sets it)")

RAY = str(Path(sys.executable).with_name("ray"))
HEAD, WORKER = "127.0.0.2", "127.0.0.3"


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _cluster_env() -> dict[str, str]:
    """What classmood starts a local Ray with, for a cluster of two nodes on this machine."""
    env = {**os.environ, **ray_environment(None)}
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")  # that would refuse a second node
    env["no_proxy"] = env["NO_PROXY"] = f"127.0.0.1,{HEAD},{WORKER},localhost,::1"
    return env


def _start_node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([RAY, "start", *args, "--num-cpus", "1", "--disable-usage-stats", "--block"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop_node(node: subprocess.Popen) -> None:
    """Kill the node's ``ray start`` and every process it started (found by process id, not by name)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(node.pid)
        for process in [*parent.children(recursive=True), parent]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
    node.wait(timeout=30)


def _wait_for_cpus(address: str, env: dict[str, str], cpus: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = subprocess.run([RAY, "status", "--address", address], env=env, capture_output=True, text=True,
                                timeout=60)
        if f"/{cpus}.0 CPU" in status.stdout:
            return
        time.sleep(1)
    raise AssertionError(f"the cluster at {address} never had {cpus} CPUs: {status.stdout}{status.stderr}")


@pytest.fixture
def cluster(tmp_path):
    """A head node and a second worker node, one CPU each; yields (GCS address, Ray Client address, environment)."""
    env = _cluster_env()
    temp_dir = Path(f"/tmp/cmray-{os.getpid()}")  # short: Ray's socket paths must fit 107 bytes
    port, client_port = _free_port(HEAD), _free_port(HEAD)
    address = f"{HEAD}:{port}"
    nodes = []
    try:
        nodes.append(_start_node(["--head", "--node-ip-address", HEAD, "--port", str(port), "--include-dashboard",
                                  "false", "--temp-dir", str(temp_dir), "--ray-client-server-port",
                                  str(client_port), "--dashboard-agent-listen-port", str(_free_port(HEAD))],
                                 env, tmp_path / "head.log"))
        _wait_for_cpus(address, env, 1)
        nodes.append(_start_node(["--address", address, "--node-ip-address", WORKER, "--temp-dir", str(temp_dir),
                                  "--dashboard-agent-listen-port", str(_free_port(WORKER))], env, tmp_path / "worker.log"))
        _wait_for_cpus(address, env, 2)
        yield address, f"ray://{HEAD}:{client_port}", env
    finally:
        for node in reversed(nodes):
            _stop_node(node)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_killed_worker_loses_and_duplicates_nothing(cluster, clips, reference, tmp_path):
    address, client_address, env = cluster
    prefix = f"cluster{os.getpid()}-"
    names = {name: prefix + name for name in clips}
    batch = subprocess.Popen([sys.executable, "-m", "classmood", "batch", clips["whole"].parent, "--session-prefix",
                              prefix, "--ray", address, "--db", POSTGRES_URL, *BATCH_OPTIONS], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        killed = None
        deadline = time.monotonic() + 180
        while killed is None and batch.poll() is None and time.monotonic() < deadline:
            whole = stored(POSTGRES_URL, names["whole"])  # the longest recording: given out first
            if whole is not None and whole.status == "running" and whole.rows > 0:
                pid = int(whole.owner.partition("@")[0])
                os.kill(pid, signal.SIGKILL)  # the Ray worker process of that actor
                killed = pid, whole.rows
            time.sleep(0.1)
        out, err = batch.communicate(timeout=300)
        assert killed is not None, f"the recording was never seen half-written\n{out}\n{err}"
        assert batch.returncode == 0, f"{out}\n{err}"
        assert "4 recording(s): 4 finished, 0 skipped, 0 failed" in out
        assert f"Ray: 2 worker(s) at {address}" in err
        assert f"retried: {names['whole']}: a worker was lost; its partial session was replaced" in err
        for name, session in names.items():
            now = stored(POSTGRES_URL, session)
            assert now.status == "finished", name
            assert now.counts == reference[name], name  # the same students, seconds and rows as one process
            assert now.distinct_rows == now.rows, name  # no second written twice
        whole = stored(POSTGRES_URL, names["whole"])
        assert int(whole.owner.partition("@")[0]) != killed[0]  # recorded again by the restarted actor
        assert killed[1] < whole.rows  # the kill came in the middle

        # the same cluster through Ray Client (ray://), as a machine outside it would join
        names["client"] = prefix + "client-part1"
        client = subprocess.run([sys.executable, "-m", "classmood", "batch", clips["part1"], "--session-prefix",
                                 prefix + "client-", "--ray", client_address, "--db", POSTGRES_URL, *BATCH_OPTIONS],
                                env=env, capture_output=True, text=True, timeout=300)
        assert client.returncode == 0, client.stderr
        assert stored(POSTGRES_URL, names["client"]).counts == reference["part1"]
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
        store = Store(POSTGRES_URL)
        for session in names.values():
            with contextlib.suppress(Exception):
                delete_session(store, session)
        store.close()
