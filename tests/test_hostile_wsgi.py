"""
Hostile clients, issue #14, attack 11: a WSGI application that blocks its
thread (C{time.sleep}), flooded with requests.

The WSGI pool has a fixed number of threads and a bounded queue in front
of them (4 and 8 here, C{--wsgi-threads}, C{--wsgi-queue}); a request that
finds both full is refused at once with 503.  So a flood costs bounded
memory, the requests that are taken are answered within their sleep plus
the queue's wait, and the other mounts (/health) stay fast throughout.
"""

import time

import pytest
from _hostile import (
    FAST,
    PROMPT,
    STRICT,
    Deadline,
    HostileServer,
    MalformedResponse,
    Monitor,
    exchange,
    expect,
    runThreads,
)

THREADS, QUEUE, SLEEP = 4, 8, 1.0
#: The longest a request that was taken may wait: the queue ahead of it
#: drains THREADS at a time, then it sleeps itself; plus a margin.
TAKEN_WITHIN = (QUEUE // THREADS + 1) * SLEEP + 3.0
OPTIONS = {"wsgi-threads": THREADS, "wsgi-queue": QUEUE}


def sleeper(port, deadline, stop):
    """
    Ask the sleeping application again and again until C{deadline}.

    @return: C{(status, seconds)} of each request.
    """
    results = []
    request = (f"GET /wsgi/?s={SLEEP} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
               ).encode()
    while not deadline.passed() and not stop.is_set():
        started = time.monotonic()
        received = exchange(port, request, timeout=30.0, untilResponses=1)
        try:
            finals = [r.status for r in received.responses() if r.status >= 200]
        except MalformedResponse:
            finals = []
        results.append((finals[0] if finals else received.end, time.monotonic() - started))
    return results


def wsgiFlood(server, clients, seconds, bounds):
    with Monitor(server, bounds) as monitor:
        outcomes = runThreads(sleeper, [(server.port, Deadline(seconds), monitor.overLimit)]
                              * clients, timeout=seconds + TAKEN_WITHIN + 60)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    results = [r for found in outcomes for r in found]
    ok = [t for s, t in results if s == 200]
    refused = [t for s, t in results if s == 503]
    other = [(s, t) for s, t in results if s not in (200, 503)]
    figures = (f"{len(ok)} answered (slowest {max(ok, default=0):.1f}s), {len(refused)} "
               f"refused (slowest {max(refused, default=0):.2f}s), other: {other[:5]}")
    problems = []
    expect(problems, not other, "answers other than 200 and 503")
    expect(problems, ok, "no request was answered")
    if clients > THREADS + QUEUE:
        expect(problems, refused, "no request was refused: is the queue bounded?")
    expect(problems, max(ok, default=0) <= TAKEN_WITHIN,
           f"an answer took more than {TAKEN_WITHIN}s")
    expect(problems, max(refused, default=0) <= PROMPT, f"a 503 took more than {PROMPT}s")
    monitor.check(figures, problems)


def test_blockingWsgiFlood(tmp_path):
    """
    Forty clients flood the sleeping application for 3 s: 200s within
    their wait, 503s at once, /health fast, memory bounded.
    """
    with HostileServer(tmp_path, options=OPTIONS) as server:
        wsgiFlood(server, 40, 3.0, FAST)
        server.stop()


@pytest.mark.long
@pytest.mark.parametrize("clients", [10, 100])
def test_blockingWsgiFloodForAMinute(tmp_path, clients):
    """
    The issue's bar: 60 s of flood by C{clients} clients; memory grows by
    less than 64 MiB, /health within 50 ms.
    """
    with HostileServer(tmp_path, options=OPTIONS) as server:
        wsgiFlood(server, clients, 60.0, STRICT)
        server.stop()
