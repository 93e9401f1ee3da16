"""
Hostile clients, issue #14, attack 1: a client pipelines requests and never
reads the answers (a small receive buffer, no C{recv} ever).

The server must stop reading such a connection once its unsent output
passes a high-water mark, keep its memory bounded, answer everyone else as
usual, and drop the connection when the send timeout (2 s in these sites)
runs out.  Flavours: a 7 KB path whose 404 page repeats it (the issue's
reproduction), C{GET /health} (small answers), a 256 KiB static file
(large answers), and several connections of each at once.
"""

import time
from dataclasses import dataclass

import pytest
from _hostile import (
    FAST,
    SERVER_SETTINGS,
    STRICT,
    Bounds,
    Deadline,
    HostileServer,
    Monitor,
    connect,
    runThreads,
)

SEND_TIMEOUT = SERVER_SETTINGS["send-timeout"]

#: How long an unread connection may live from its first byte: the time to
#: reach the high-water mark, the send timeout, and a wide margin for the
#: deadline grid and a loaded machine.  A server that never stops reading
#: keeps it open for as long as the client sends.
#:
#: Reaching the mark takes a while: what counts is the output waiting in
#: the server process, so the kernel's send buffer of the connection (which
#: grows up to C{net.ipv4.tcp_wmem}'s maximum, 4 MiB by default) fills
#: first.  With 150-byte answers that is some 27,000 requests answered to
#: a client that reads none: well under a second of work on an idle
#: machine, several seconds on a loaded one.
DROP_WITHIN = SEND_TIMEOUT + 13.0

#: The bounds of the fast cases.  The fault they catch is unbounded
#: buffering (memory, and a connection never dropped), which answers
#: /health as fast as ever; /health is slowed instead by the work just
#: described, so its bound here is wider than elsewhere: it still catches a
#: server that stops answering.  The long cases hold the issue's 50 ms.
BOUNDS = Bounds(rssGrowth=FAST.rssGrowth, health=3.0)

REQUESTS = {
    "404-7k": b"GET /" + b"a/" * 3500 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "health": b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
    "static-256k": b"GET /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\n",
}


@dataclass
class Unread:
    """
    How one never-reading connection ended.

    @ivar end: C{"dropped"} (the server reset or closed it),
        C{"deadline"} (the attack's time ran out first), C{"stopped"} (the
        monitor saw the memory bound crossed and stopped the attack).
    @ivar lifetime: seconds from connecting to that end.
    @ivar sent: bytes the server accepted.
    @ivar lastProgress: seconds from connecting to the last byte accepted
        (when the server stopped reading).
    """

    kind: str
    end: str
    lifetime: float
    sent: int
    lastProgress: float

    def __str__(self):
        return (f"{self.kind}: {self.end} after {self.lifetime:.1f}s, "
                f"{self.sent / 1e6:.1f} MB sent, the server read until "
                f"{self.lastProgress:.1f}s")


def pipelineUnread(port, kind, deadline, stop) -> Unread:
    """
    Pipeline C{REQUESTS[kind]} on one connection, in bursts of about
    64 KiB, never reading, until the server drops the connection, the
    C{deadline} passes or C{stop} is set.
    """
    request = REQUESTS[kind]
    burst = request * max(1, 65536 // len(request))
    sock = connect(port, rcvbuf=4096)
    started = time.monotonic()
    sent, lastProgress, end = 0, started, "deadline"
    view, offset = memoryview(burst), 0
    try:
        sock.settimeout(0.1)
        while not deadline.passed():
            if stop.is_set():
                end = "stopped"
                break
            try:
                # send, not sendall: a burst cut by a timeout goes on where
                # it stopped, so the requests stay well-formed.
                n = sock.send(view[offset:])
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                end = "dropped"
                break
            sent += n
            lastProgress = time.monotonic()
            offset = (offset + n) % len(burst)
    finally:
        sock.close()
    now = time.monotonic()
    return Unread(kind, end, now - started, sent, lastProgress - started)


def attackUntilDropped(server, kinds, bounds):
    """
    One never-reading connection per entry of C{kinds}, at once, under a
    L{Monitor}; each must be dropped within L{DROP_WITHIN}.
    """
    with Monitor(server, bounds) as monitor:
        deadline = Deadline(DROP_WITHIN + 2.0)
        outcomes = runThreads(pipelineUnread,
                              [(server.port, k, deadline, monitor.overLimit) for k in kinds],
                              timeout=DROP_WITHIN + 30)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    late = [o for o in outcomes if not (o.end == "dropped" and o.lifetime <= DROP_WITHIN)]
    monitor.check("; ".join(map(str, outcomes)),
                  [f"{len(late)} connection(s) not dropped within {DROP_WITHIN}s"] if late
                  else [])


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_pipelinedUnread(tmp_path, kind):
    """
    One connection pipelines one kind of request and never reads: bounded
    memory, /health fast, the connection dropped by the send timeout.
    """
    with HostileServer(tmp_path) as server:
        attackUntilDropped(server, [kind], BOUNDS)
        server.stop()


def test_pipelinedUnreadSeveralConnections(tmp_path):
    """
    Six such connections at once, of every kind.
    """
    kinds = ["404-7k"] * 3 + ["health"] + ["static-256k"] * 2
    with HostileServer(tmp_path) as server:
        attackUntilDropped(server, kinds, BOUNDS)
        server.stop()


def reconnectingUnread(port, kind, deadline, stop, outcomes):
    """
    Never-reading connections one after the other until C{deadline}.
    """
    while not deadline.passed() and not stop.is_set():
        outcomes.append(pipelineUnread(port, kind, Deadline(min(deadline.left(), 60.0)),
                                       stop))


@pytest.mark.long
@pytest.mark.parametrize("connections", [1, 10, 100])
def test_pipelinedUnreadForAMinute(tmp_path, connections):
    """
    The issue's bar: 60 s of never-reading pipelining on C{connections}
    connections at once (each made again when dropped): memory grows by
    less than 64 MiB, /health answers within 50 ms throughout, and every
    connection is dropped within the send timeout and its margin.
    """
    kinds = sorted(REQUESTS)
    with HostileServer(tmp_path) as server:
        outcomes = []
        with Monitor(server, STRICT) as monitor:
            deadline = Deadline(60.0)
            runThreads(reconnectingUnread,
                       [(server.port, kinds[i % len(kinds)], deadline, monitor.overLimit,
                         outcomes) for i in range(connections)],
                       timeout=60.0 + DROP_WITHIN + 30)
        worst = max(outcomes, key=lambda o: o.lifetime)
        # Those the deadline ended early were cut off, not kept.
        late = [o for o in outcomes if o.lifetime > DROP_WITHIN]
        monitor.check(f"{len(outcomes)} connections, longest lived: {worst}",
                      [f"{len(late)} of {len(outcomes)} connections lived longer than "
                       f"{DROP_WITHIN}s"] if late else [])
        server.stop()
