"""
The benchmark's C{--workers} scenarios (issue #17; bench/): the web2-1w and
web2-2w servers start a master with that many workers, pinned to two CPUs
when the run pins, serve the C{cpu} role's application (a millisecond of
CPU per request) and stop leaving no process behind; the scenarios compare
them with the 1.6x target.  CI runs no load.
"""

import os
import shutil
import socket
import sys
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from bench import _servers  # noqa: E402
from bench._scenarios import BY_NAME  # noqa: E402


@pytest.fixture
def ctx():
    tmp = tempfile.mkdtemp(prefix="web2-bench-workers-")
    yield _servers.Context(web2Python=sys.executable, peersPython="missing", tmp=tmp,
                           serverCPU=None)
    _servers.stopAll()
    shutil.rmtree(tmp, ignore_errors=True)


def _get(port):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_scenarios():
    """
    The two scenarios run the cpu and hello roles on web2-2w, web2-1w and
    (for the master's cost) web2, with the issue's target on the first.
    """
    cpu, hello = BY_NAME["workers-cpu1ms"], BY_NAME["workers-hello"]
    assert cpu.servers == hello.servers == ("web2-2w", "web2-1w", "web2")
    assert [cpu.roleFor(s) for s in cpu.servers] == ["cpu"] * 3
    assert [hello.roleFor(s) for s in hello.servers] == ["hello"] * 3
    assert cpu.targets == (("web2-2w", "web2-1w", 1.6),)


def test_pinnedToTwoCPUs(ctx):
    """
    Where the run pins servers (CPU 0), the workers servers get CPUs 0 and 1.
    """
    pinned = _servers.Context(web2Python=sys.executable, peersPython="missing",
                              tmp=ctx.tmp, serverCPU="0")
    argv = _servers.SERVERS["web2-2w"].roles["cpu"](pinned, 8080, "cpu")
    assert argv[-2:] == ["--workers", "2"]
    assert _servers.SERVERS["web2-2w"].cpus == "0,1"
    assert _servers.SERVERS["web2"].cpus is None


@pytest.mark.slow
@pytest.mark.parametrize("name, workers", [("web2-2w", 2), ("web2-1w", 1)])
def test_workersServeTheCPURole(ctx, name, workers):
    """
    The server is a master with C{workers} workers; the application spends
    at least a millisecond of CPU per request; nothing is left after the
    stop.
    """
    running = _servers.start(ctx, name, "cpu", "/", timeout=60)
    deadline = time.monotonic() + 30
    while len(running.pids()) < 1 + workers and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = running.pids()
    assert len(pids) == 1 + workers, pids
    before = running.cpuSeconds()
    for _ in range(100):
        head = _get(running.port).partition(b"\r\n\r\n")[0]
        assert head.startswith(b"HTTP/1.1 200"), head
    # 0.1 s of CPU at least; the kernel counts it in clock ticks, by sampling.
    assert running.cpuSeconds() - before >= 0.05
    _servers.stop(running)
    assert [p for p in pids if os.path.exists(f"/proc/{p}")
            and open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"] == []
