"""
Hostile clients, issue #14, attack 9: a DAV lock flood.  A client takes
thousands of LOCKs on new names in one collection (each makes an empty,
locked resource), then asks for a C{PROPFIND Depth: 1} of the collection,
whose answer reports every lock.

Neither the LOCKs nor the PROPFIND may stall the server: /health, on its
own connection, answers within the bound throughout.
"""

import re
import time

import pytest
from _hostile import (
    FAST,
    STRICT,
    HostileServer,
    Monitor,
    connect,
    exchange,
    readUntilClosed,
)

LOCKINFO = (b'<?xml version="1.0" encoding="utf-8"?>\n<D:lockinfo xmlns:D="DAV:">'
            b"<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
            b"<D:owner>lock flood</D:owner></D:lockinfo>")


def lockRequest(i):
    return (f"LOCK /dav/flood/f{i}.txt HTTP/1.1\r\nHost: a\r\nTimeout: Second-3600\r\n"
            f"Content-Type: application/xml\r\nContent-Length: {len(LOCKINFO)}\r\n\r\n"
            ).encode() + LOCKINFO


def takeLocks(port, count, batch=100):
    """
    LOCK C{count} new names on one connection, C{batch} pipelined at a
    time; each must get 201 Created with a lock token.

    @return: the seconds it took.
    """
    started = time.monotonic()
    with connect(port) as sock:
        for first in range(0, count, batch):
            n = min(batch, count - first)
            sock.sendall(b"".join(lockRequest(i) for i in range(first, first + n)))
            received = readUntilClosed(sock, 60.0, untilResponses=n)
            responses = received.responses()
            statuses = {r.status for r in responses}
            assert len(responses) == n and statuses == {201}, (
                f"LOCKs {first}..{first + n}: {statuses}, {received.end}")
            assert all(r.header("lock-token") for r in responses)
    return time.monotonic() - started


def propfind(port, count):
    """
    C{PROPFIND Depth: 1} of the flooded collection.

    @return: the seconds it took.
    """
    started = time.monotonic()
    received = exchange(port, b"PROPFIND /dav/flood/ HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n"
                        b"Connection: close\r\n\r\n", timeout=120.0)
    seconds = time.monotonic() - started
    [response] = received.responses()
    assert response.status == 207 and response.complete, response
    hrefs = len(re.findall(rb"<D:response>", response.body))
    locks = len(re.findall(rb"<D:locktoken>", response.body))
    assert (hrefs, locks) == (count + 1, count), (hrefs, locks)
    return seconds


def lockFlood(server, count, bounds, propfindBound=None):
    (server.layout.dav / "flood").mkdir()
    with Monitor(server, bounds) as monitor:
        locking = takeLocks(server.port, count)
        listing = propfind(server.port, count)
    figures = f"{count} LOCKs in {locking:.1f}s, PROPFIND in {listing:.2f}s"
    slow = propfindBound is not None and listing >= propfindBound
    monitor.check(figures, [f"the PROPFIND took {propfindBound}s or more"] if slow else [])


def test_lockFlood(tmp_path):
    """
    3000 LOCKs, then the PROPFIND: /health stays within a second
    throughout.  Without the fix, the PROPFIND alone held every other
    request for 2.5 to 10 s on this project's two-core machine (the more
    loaded, the longer); with it, the worst was under 0.2 s with two CPU
    hogs running beside.
    """
    with HostileServer(tmp_path) as server:
        lockFlood(server, 3000, FAST)
        server.stop()


@pytest.mark.long
def test_lockFloodStrict(tmp_path):
    """
    The issue's bar: 6000 LOCKs, the PROPFIND within 0.2 s, /health within
    50 ms throughout.
    """
    with HostileServer(tmp_path) as server:
        lockFlood(server, 6000, STRICT, propfindBound=0.2)
        server.stop()
