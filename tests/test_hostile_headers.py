"""
Hostile clients, issue #14, attack 4: header floods: too many header
fields, huge ones, a huge request line, malformed field lines, and many
connections sending them at once.

Each must get its precise status (431, 414 or 400) with C{Connection:
close} and the connection closed; the server's memory stays bounded and
/health answers throughout.
"""

import pytest
from _hostile import (
    FAST,
    PROMPT,
    STRICT,
    Bounds,
    Deadline,
    HostileServer,
    MalformedResponse,
    MiB,
    Monitor,
    exchange,
    runThreads,
)

FLOODS = {
    "many-fields": (431, b"GET /health HTTP/1.1\r\nHost: a\r\n"
                    + b"".join(b"X-%d: v\r\n" % i for i in range(5000)) + b"\r\n"),
    "huge-field": (431, b"GET /health HTTP/1.1\r\nHost: a\r\nX-Big: "
                   + b"v" * MiB + b"\r\n\r\n"),
    "huge-cookie": (431, b"GET /health HTTP/1.1\r\nHost: a\r\n"
                    + b"".join(b"Cookie: c%d=%s\r\n" % (i, b"x" * 4000) for i in range(64))
                    + b"\r\n"),
    "huge-request-line": (414, b"GET /" + b"a" * MiB + b" HTTP/1.1\r\nHost: a\r\n\r\n"),
    "endless-field-line": (431, b"GET /health HTTP/1.1\r\nHost: a\r\nX-Endless: "
                           + b"v" * (4 * MiB)),
    "field-without-colon": (400, b"GET /health HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
    "nul-in-value": (400, b"GET /health HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n"),
    "obs-fold": (400, b"GET /health HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n"),
    "space-before-colon": (400, b"GET /health HTTP/1.1\r\nHost: a\r\nX-Sp : a\r\n\r\n"),
}


def sendFlood(port, name):
    """
    Send one flood on a new connection.

    @return: a problem found, or C{None}.
    """
    status, data = FLOODS[name]
    received = exchange(port, data, timeout=10.0)
    if not received.closed:
        return f"{name}: connection left open ({received.end} after {received.seconds:.1f}s)"
    try:
        responses = received.responses()
    except MalformedResponse as e:
        return f"{name}: malformed answer {e}: {received.data[:300]!r}"
    got = [(r.status, r.header("connection")) for r in responses]
    if got != [(status, "close")]:
        return f"{name}: expected {status} with Connection: close, got {got}"
    return None


def test_eachFloodGetsItsStatus(tmp_path):
    """
    Each flood, alone, gets its status and the connection closed, promptly.
    """
    with HostileServer(tmp_path) as server:
        problems = []
        for name in FLOODS:
            deadline = Deadline(0)
            problem = sendFlood(server.port, name)
            if problem is None and deadline.elapsed() > PROMPT + 1.0:
                problem = f"{name}: took {deadline.elapsed():.1f}s"
            if problem:
                problems.append(problem)
        assert not problems, "\n".join(problems)
        server.stop()


def floodLoop(port, names, deadline, stop):
    """
    Send the floods of C{names} over and over, each on a new connection,
    until C{deadline} or C{stop}.

    @return: the problems found (at most ten) and the number sent.
    """
    problems, sent = [], 0
    while not deadline.passed() and not stop.is_set():
        name = names[sent % len(names)]
        problem = sendFlood(port, name)
        sent += 1
        if problem and len(problems) < 10:
            problems.append(problem)
    return problems, sent


BIG_FLOODS = ["many-fields", "huge-field", "huge-cookie", "huge-request-line"]


def floodAtOnce(server, connections, seconds, bounds):
    with Monitor(server, bounds) as monitor:
        results = runThreads(
            floodLoop,
            [(server.port, BIG_FLOODS[i % len(BIG_FLOODS):] + BIG_FLOODS[:i % len(BIG_FLOODS)],
              Deadline(seconds), monitor.overLimit) for i in range(connections)],
            timeout=seconds + 60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    sent = sum(n for _, n in results)
    problems = [p for found, _ in results for p in found]
    monitor.check(f"{sent} floods sent on {connections} connections at once", problems[:20])


def test_floodsOnManyConnections(tmp_path):
    """
    Sixteen clients send header floods back to back for 3 s: every one is
    refused properly, memory stays bounded, /health stays fast.
    """
    with HostileServer(tmp_path) as server:
        floodAtOnce(server, 16, 3.0, FAST)
        server.stop()


def test_floodsKeepNoMemory(tmp_path):
    """
    Ten clients send header floods back to back for 3 s: the server grows
    by less than 8 MiB.  Each refused connection used to keep its last
    chunk (up to 64 KiB) and all its objects in a reference cycle until
    the garbage collector ran: +12 to +48 MiB here, the more floods the
    more; with the fix, nothing measurable.
    """
    with HostileServer(tmp_path) as server:
        floodAtOnce(server, 10, 3.0, Bounds(rssGrowth=8 * MiB, health=FAST.health))
        server.stop()


@pytest.mark.long
@pytest.mark.parametrize("connections", [1, 10, 100])
def test_floodsForAMinute(tmp_path, connections):
    """
    The issue's bar: 60 s of header floods on C{connections} clients at
    once; memory grows by less than 64 MiB, /health within 50 ms.
    """
    with HostileServer(tmp_path) as server:
        floodAtOnce(server, connections, 60.0, STRICT)
        server.stop()
