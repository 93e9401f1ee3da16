"""
Hostile clients, issue #14, attack 10: a CGI script that hangs (it notes
its process id, then sleeps and never writes a byte).

Other requests must not notice; the script's request ends when its client
leaves or when the CGI timeout (2 s here) fires, whichever comes first;
and every such script process is gone afterwards: killed and reaped, no
zombie, and no orphan left sleeping once the server has stopped.
"""

import threading
import time

from _hostile import (
    FAST,
    Deadline,
    HostileServer,
    MalformedResponse,
    Monitor,
    connect,
    expect,
    processState,
    readUntilClosed,
    runThreads,
)

CGI_TIMEOUT = 2.0
#: The script is stopped with SIGTERM when the timeout fires (SIGKILL 5 s
#: later if it ignores it; this one does not); the margin is for a
#: loaded machine.
GONE_WITHIN = CGI_TIMEOUT + 4.0

HANG = b"GET /cgi/hang.cgi HTTP/1.1\r\nHost: a\r\n\r\n"


def scriptPids(server, count, timeout=10.0):
    """
    Wait until C{count} hanging scripts have noted their process ids.
    """
    deadline = Deadline(timeout)
    while not deadline.passed():
        pids = sorted(int(p.name) for p in server.layout.pids.iterdir())
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"only {len(pids)} of {count} CGI scripts started: "
                         f"{server.output[-2000:]}")


def waitGone(pids, timeout):
    """
    Wait until none of C{pids} exists any more (a zombie still exists).

    @return: C{{pid: state}} of those left after C{timeout}.
    """
    deadline = Deadline(timeout)
    while True:
        left = {pid: processState(pid) for pid in pids}
        left = {pid: state for pid, state in left.items() if state is not None}
        if not left or deadline.passed():
            return left
        time.sleep(0.05)


def hangAndWait(port):
    """
    Ask for the hanging script and wait for the answer.

    @return: C{(status or None, seconds, how the read ended)}.
    """
    with connect(port) as sock:
        sock.sendall(HANG)
        received = readUntilClosed(sock, GONE_WITHIN + 10.0, untilResponses=1)
    try:
        finals = [r for r in received.responses() if r.status >= 200]
    except MalformedResponse:
        finals = []
    return (finals[0].status if finals else None), received.seconds, received.end


def test_hangingScriptTimesOut(tmp_path):
    """
    A client waits for the hanging script: it gets a 5xx when the CGI
    timeout fires, the script is killed and reaped, and /health never
    noticed.
    """
    with HostileServer(tmp_path, cgi={"timeout": CGI_TIMEOUT}) as server:
        with Monitor(server, FAST) as monitor:
            status, seconds, end = hangAndWait(server.port)
        left = waitGone(scriptPids(server, 1), 2.0)
        problems = []
        expect(problems, status in (502, 503, 504) and seconds <= GONE_WITHIN,
               f"no 5xx within {GONE_WITHIN}s")
        expect(problems, not left, f"script processes left (pid: state): {left}")
        monitor.check(f"answer {status} after {seconds:.1f}s ({end})", problems)
        server.stop()


def test_clientLeavesAHangingScript(tmp_path):
    """
    Ten clients ask for the hanging script at once and leave after half a
    second: /health stays fast while the scripts hang, and every script is
    gone by the time the CGI timeout (and its margin) has passed, none left
    a zombie.

    (The health probes start once the ten scripts run: spawning them is
    work of the server's own thread, measured by the next test.)
    """
    with HostileServer(tmp_path, cgi={"timeout": CGI_TIMEOUT}) as server:
        socks = []
        started = Deadline(0)
        for _ in range(10):
            sock = connect(server.port)
            sock.sendall(HANG)
            socks.append(sock)
        pids = scriptPids(server, 10)
        with Monitor(server, FAST) as monitor:
            time.sleep(0.5)
            for sock in socks:
                sock.close()
            left = waitGone(pids, GONE_WITHIN - started.elapsed())
        monitor.check(f"{len(left)} of 10 scripts left after {started.elapsed():.1f}s",
                      [f"script processes left (pid: state): {left}"] if left else [])
        server.stop()


def test_manyHangingScriptsDoNotStallOthers(tmp_path):
    """
    Twenty clients wait on hanging scripts at once: /health stays fast
    while they hang and when the timeout ends them, each client gets its
    5xx then, and no script is left.
    """
    with HostileServer(tmp_path, cgi={"timeout": CGI_TIMEOUT}) as server:
        results = []
        clients = threading.Thread(target=lambda: results.extend(runThreads(
            hangAndWait, [(server.port,)] * 20, timeout=GONE_WITHIN + 30.0)))
        clients.start()
        try:
            pids = scriptPids(server, 20)
            with Monitor(server, FAST) as monitor:
                clients.join(GONE_WITHIN + 40.0)
        finally:
            clients.join(GONE_WITHIN + 40.0)
        assert len(results) == 20, results
        for result in results:
            if isinstance(result, BaseException):
                raise result
        left = waitGone(pids, 2.0)
        problems = []
        expect(problems, all(s in (502, 503, 504) and t <= GONE_WITHIN + 1.0
                             for s, t, _ in results), "not every client got a 5xx in time")
        expect(problems, not left, f"script processes left (pid: state): {left}")
        monitor.check(str(results[:3]), problems)
        server.stop()


def test_noOrphanAfterTheServerStops(tmp_path):
    """
    The server is stopped (SIGTERM) while scripts hang under a long
    timeout: once it has exited, no script process is left running as an
    orphan.
    """
    with HostileServer(tmp_path, cgi={"timeout": 60}) as server:
        socks = []
        for _ in range(3):
            sock = connect(server.port)
            sock.sendall(HANG)
            socks.append(sock)
        pids = scriptPids(server, 3)
        try:
            server.stop()
        finally:
            for sock in socks:
                sock.close()
        left = waitGone(pids, 5.0)
        assert not left, (f"scripts left running after the server stopped "
                          f"(pid: state): {left}")
