"""Privacy of ``classmood batch`` with a local Ray (issue 23's check, for issue 24): under a fresh home
folder it writes nothing outside classmood's data folder (Ray's session files go to a temporary
folder that is removed, its token stays in the environment), leaves no Ray process behind, and
every connect(), sendto() and sendmsg() of it and of every Ray process it starts goes to loopback
(strace -f; stricter than fixtures.privacy.remote_connects, which lets the machine's own interface
addresses through for WebRTC)."""

from __future__ import annotations

import glob
import re
import subprocess

import pytest

from fixtures.cli import CLI
from fixtures.privacy import STRACE, data_folder_of, files_outside_data_folder, fresh_home_env, strace_connects

from batch_clips import BATCH_OPTIONS

# loopback only (a local Ray needs nothing else): 127.x, ::1, and 127.x written as an IPv6 address
# (::ffff:127.x), which Ray's gRPC uses
LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|inet_pton\(AF_INET6, "::ffff:127\.')


@pytest.mark.skipif(STRACE is None, reason="strace not installed (.ci/run installs it)")
def test_batch_writes_only_the_data_folder_and_connects_nowhere(clips, tmp_path):
    pytest.importorskip("ray")
    home, work, trace = tmp_path / "home", tmp_path / "work", tmp_path / "batch.strace"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in fresh_home_env(home).items() if not k.startswith("RAY_")}
    temp_before = set(glob.glob("/tmp/classmood-ray-*"))
    result = subprocess.run([*strace_connects(trace), *CLI, "batch", clips["part1"], "--session-prefix", "b-",
                             *BATCH_OPTIONS], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    data = data_folder_of(home)
    assert files_outside_data_folder(home) == []  # not ~/.ray/auth_token
    assert (data / "classmood.db").is_file()
    assert list(work.iterdir()) == []
    assert set(glob.glob("/tmp/classmood-ray-*")) == temp_before  # Ray's session files removed
    connects = trace.read_text().splitlines()
    assert len(connects) > 10  # strace followed Ray's processes
    assert [line for line in connects if "AF_INET" in line and not LOOPBACK.search(line)] == []
    assert _processes_with_home(home) == []  # Ray stopped with the command


def _processes_with_home(home) -> list[int]:
    """Processes still running with ``home`` as their home folder: started by this test's command."""
    import psutil

    left = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("HOME") == str(home) and process.status() != psutil.STATUS_ZOMBIE:
                left.append(process.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return left
