"""
Hostile clients, issue #14, attack 6: range abuse.  One C{Range} header
asks for thousands of overlapping ranges (each of them the whole file:
the request that once made Apache send gigabytes, CVE-2011-3192), or
thousands of tiny ones, or a sliding window.

Whatever the server chooses (the whole file with 200, coalesced ranges,
416), the answer must stay small: at most twice the file plus a little,
promptly; and a flood of such requests keeps memory bounded and /health
fast.
"""

import pytest
from _hostile import (
    FAST,
    PROMPT,
    STATIC_BIG,
    STRICT,
    Deadline,
    HostileServer,
    KiB,
    MalformedResponse,
    Monitor,
    exchange,
    runThreads,
)

#: Range sets, each within the default header size limit (16 KiB).
RANGES = {
    "whole-file-1000-times": ",".join(f"{i}-{STATIC_BIG - 1}" for i in range(1000)),
    "open-ended-4000-times": ",".join(["0-"] * 4000),
    "suffixes-1500": ",".join(f"-{STATIC_BIG - i}" for i in range(1500)),
    "tiny-adjacent-1500": ",".join(f"{2 * i}-{2 * i}" for i in range(1500)),
    "tiny-spread-1100": ",".join(f"{170 * i}-{170 * i + 1}" for i in range(1100)),
    "sliding-window-1300": ",".join(f"{i}-{i + 1000}" for i in range(1300)),
    "reversed-1000": ",".join(f"{STATIC_BIG - 200 * (i + 1)}-{STATIC_BIG - 200 * i - 1}"
                              for i in range(1000)),
}

#: The largest answer allowed for a file of C{STATIC_BIG} bytes.
MAX_ANSWER = 2 * STATIC_BIG + 64 * KiB


def rangeRequest(name, path="/static/big.bin"):
    return (f"GET {path} HTTP/1.1\r\nHost: a\r\nRange: bytes={RANGES[name]}\r\n"
            "Connection: close\r\n\r\n").encode()


def askRanges(port, name, path="/static/big.bin"):
    """
    One abusive range request on a new connection.

    @return: a problem found, or C{None}.
    """
    received = exchange(port, rangeRequest(name, path), timeout=10.0,
                        limit=MAX_ANSWER + 4096)
    if received.end == "limit":
        return f"{name}: more than {MAX_ANSWER} bytes in the answer"
    if received.end == "timeout":
        return f"{name}: no complete answer within 10s"
    try:
        [response] = [r for r in received.responses() if r.status >= 200]
    except (MalformedResponse, ValueError) as e:
        return f"{name}: {e!r}: {received.data[:200]!r}"
    if response.status not in (200, 206, 416) or not response.complete:
        return f"{name}: {response!r}"
    if received.seconds > PROMPT:
        return f"{name}: answered in {received.seconds:.2f}s"
    return None


@pytest.mark.parametrize("path", ["/static/big.bin", "/dav/big.bin"])
def test_eachRangeSetAnsweredSmall(tmp_path, path):
    """
    Each abusive range set gets a small, well-formed answer at once, from
    a static mount and from a DAV tree (which serves files the same way).
    """
    with HostileServer(tmp_path) as server:
        (server.layout.dav / "big.bin").write_bytes(
            (server.layout.public / "big.bin").read_bytes())
        problems = [p for p in (askRanges(server.port, name, path) for name in RANGES) if p]
        assert not problems, "\n".join(problems)
        server.stop()


def rangeLoop(port, names, deadline, stop):
    problems, sent = [], 0
    while not deadline.passed() and not stop.is_set():
        problem = askRanges(port, names[sent % len(names)])
        sent += 1
        if problem and len(problems) < 10:
            problems.append(problem)
    return problems, sent


def rangeFlood(server, connections, seconds, bounds):
    names = sorted(RANGES)
    with Monitor(server, bounds) as monitor:
        results = runThreads(
            rangeLoop,
            [(server.port, names[i % len(names):] + names[:i % len(names)],
              Deadline(seconds), monitor.overLimit) for i in range(connections)],
            timeout=seconds + 60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    problems = [p for found, _ in results for p in found]
    monitor.check(f"{sum(n for _, n in results)} range requests on {connections} clients",
                  problems[:20])


def test_rangeFlood(tmp_path):
    """
    Eight clients send abusive range requests back to back for 3 s.
    """
    with HostileServer(tmp_path) as server:
        rangeFlood(server, 8, 3.0, FAST)
        server.stop()


@pytest.mark.long
@pytest.mark.parametrize("connections", [1, 10, 100])
def test_rangeFloodForAMinute(tmp_path, connections):
    """
    The issue's bar: 60 s of range abuse from C{connections} clients.
    """
    with HostileServer(tmp_path) as server:
        rangeFlood(server, connections, 60.0, STRICT)
        server.stop()
