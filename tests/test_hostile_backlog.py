"""
Hostile clients, issue #14, attack 12: the listen backlog.  A thousand
connects back to back, or all at once, must find room in the kernel's
accept queue: a connect that finds the queue full has its SYN dropped and
waits for the retransmission, about a second later.  With Twisted's
default backlog of 50, some connects of a sequential run and most of a
burst wait that second; with a backlog of a few hundred (511, or
C{net.core.somaxconn} when lower), none does.
"""

import selectors
import socket
import time
from pathlib import Path

import pytest
from _hostile import HostileServer

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


@pytest.mark.skipif((somaxconn() or 0) < 511,
                    reason=f"net.core.somaxconn is {somaxconn()}: the kernel caps every "
                           "accept queue below the server's backlog")
def test_connectsFindRoomInTheAcceptQueue(tmp_path):
    """
    A thousand sequential connects (the issue's reproduction), then a
    burst of a thousand at once: not one waits for a SYN retransmission.
    """
    with HostileServer(tmp_path) as server:
        sequential = sequentialConnects(server.port, COUNT)
        time.sleep(0.5)
        burst = burstConnects(server.port, COUNT)
        figures = f"sequential: {describe(sequential)}; burst: {describe(burst)}"
        print(figures)
        slow = [t for t in sequential + burst if t > SLOW_CONNECT]
        assert not slow, figures
        server.stop()
