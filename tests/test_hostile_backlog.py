"""
Hostile clients, issue #14, attack 12: the listen backlog.  Connects that
come faster than the server accepts must find room in the kernel's accept
queue: a connect that finds the queue full has its SYN dropped and waits
for the retransmission, about a second later.  With Twisted's default
backlog of 50, some connects of a sequential run and most of a burst wait
that second; with a backlog of a few hundred (511, or
C{net.core.somaxconn} when lower), none of a burst smaller than that does.
"""

import selectors
import socket
import time
from pathlib import Path

import pytest
from _hostile import HostileServer, exchange

#: A connect slower than this waited for a SYN retransmission (the first
#: comes after one second); a healthy one takes well under a millisecond.
SLOW_CONNECT = 0.5
COUNT = 1000


def somaxconn() -> int | None:
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return None


def sequentialConnects(port, count):
    """
    C{count} connects one after the other, each left open until the end.

    @return: the seconds each took.
    """
    times, socks = [], []
    try:
        for _ in range(count):
            started = time.monotonic()
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            times.append(time.monotonic() - started)
    finally:
        for sock in socks:
            sock.close()
    return times


def burstConnects(port, count, timeout=10.0):
    """
    C{count} non-blocking connects started all at once.

    @return: the seconds each took to complete (C{timeout} for those that
        did not).
    """
    selector = selectors.DefaultSelector()
    started = {}
    times = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            started[sock] = time.monotonic()
            selector.register(sock, selectors.EVENT_WRITE)
        end = time.monotonic() + timeout
        while started and time.monotonic() < end:
            for key, _ in selector.select(0.2):
                sock = key.fileobj
                times.append(time.monotonic() - started.pop(sock))
                selector.unregister(sock)
                sock.close()
        times += [timeout] * len(started)
    finally:
        for sock in started:
            sock.close()
        selector.close()
    return times


def describe(times):
    slow = [t for t in times if t > SLOW_CONNECT]
    return (f"{len(slow)} of {len(times)} connects took more than {SLOW_CONNECT}s "
            f"(slowest {max(times):.2f}s)")


def barrier(port):
    """
    Wait until the server has accepted every connection made so far: the
    accept queue is first in, first out, so once a new connection is
    answered, those queued before it were all accepted.
    """
    received = exchange(port, b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                        timeout=30.0)
    assert received.data.startswith(b"HTTP/1.1 200"), received


BACKLOG_TOO_SMALL = pytest.mark.skipif(
    (somaxconn() or 0) < 511,
    reason=f"net.core.somaxconn is {somaxconn()}: the kernel caps every accept queue "
           "below the server's backlog")


@BACKLOG_TOO_SMALL
def test_burstsFitInTheAcceptQueue(tmp_path):
    """
    A thousand connects in four bursts of 250 at once (the server accepts
    everything between bursts): not one waits for a SYN retransmission.

    A burst smaller than the backlog fits in the queue even if the server
    accepts none of it meanwhile, so this holds however loaded the
    machine; with a backlog of 50, most of each burst waits a second.
    """
    with HostileServer(tmp_path) as server:
        times = []
        for _ in range(4):
            barrier(server.port)
            times += burstConnects(server.port, COUNT // 4)
        figures = f"bursts of {COUNT // 4}: {describe(times)}"
        print(figures)
        slow = [t for t in times if t > SLOW_CONNECT]
        assert not slow, figures
        server.stop()


@BACKLOG_TOO_SMALL
@pytest.mark.long
def test_thousandConnectsBackToBack(tmp_path):
    """
    The issue's reproduction: a thousand connects one after the other
    (each left open), then a thousand at once.  With a backlog of 511,
    this holds when the server accepts at least half as fast as the
    client connects, which a loaded machine may not give.
    """
    with HostileServer(tmp_path) as server:
        sequential = sequentialConnects(server.port, COUNT)
        barrier(server.port)
        burst = burstConnects(server.port, COUNT)
        figures = f"sequential: {describe(sequential)}; burst: {describe(burst)}"
        print(figures)
        slow = [t for t in sequential + burst if t > SLOW_CONNECT]
        assert not slow, figures
        server.stop()
