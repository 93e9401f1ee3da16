"""
Hostile clients, issue #14, attack 8: XML bombs in the bodies of DAV's
PROPFIND, PROPPATCH and LOCK: entity expansion (billion laughs, quadratic
blow-up), external entities (XXE) naming the secret file beside the DAV
tree, an external DTD and parameter entity on a listener of the test's
own, deep nesting and an oversized body.

Each is refused (400, or 413 for the oversized one) promptly; memory stays
bounded and /health fast, also while several clients send bombs at once;
the secret never appears in an answer, not even after a PROPPATCH or LOCK
that would have stored it; the server never connects to the listener.
"""

import socket

import pytest
from _hostile import (
    FAST,
    PROMPT,
    SECRET,
    STRICT,
    Deadline,
    HostileServer,
    MalformedResponse,
    MiB,
    Monitor,
    exchange,
    runThreads,
)

LAUGHS = "".join(
    f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">\n' for i in range(1, 10))
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [
<!ENTITY lol0 "lol">
{LAUGHS}]>
"""
QUADRATIC = ('<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "' + "a" * 50000 + '">]>\n')


def bodies(secretPath, listenerPort):
    """
    C{(name, method, path, body)} of every bomb.
    """
    xxe = (f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM '
           f'"file://{secretPath}">]>\n')
    remote = f"http://127.0.0.1:{listenerPort}"
    dtd = f'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "{remote}/evil.dtd">\n'
    param = (f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "{remote}/p.ent"> '
             '%p;]>\n')
    propfind = '<D:propfind xmlns:D="DAV:"><D:prop><x:p xmlns:x="urn:x">{}</x:p></D:prop></D:propfind>'
    proppatch = ('<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:p xmlns:x="urn:x">{}'
                 '</x:p></D:prop></D:set></D:propertyupdate>')
    lock = ('<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            '<D:locktype><D:write/></D:locktype><D:owner>{}</D:owner></D:lockinfo>')
    found = []
    for method, path, template in (("PROPFIND", "/dav/file.txt", propfind),
                                   ("PROPPATCH", "/dav/file.txt", proppatch),
                                   ("LOCK", "/dav/locked.txt", lock)):
        found += [
            (f"{method} billion laughs", method, path, BILLION_LAUGHS + template.format("&lol9;")),
            (f"{method} quadratic", method, path, QUADRATIC + template.format("&a;" * 5000)),
            (f"{method} xxe", method, path, xxe + template.format("&xxe;")),
            (f"{method} external dtd", method, path, dtd + template.format("x")),
            (f"{method} parameter entity", method, path, param + template.format("x")),
            (f"{method} deep nesting", method, path,
             template.format("<n>" * 60000 + "</n>" * 60000)),
            (f"{method} oversized", method, path,
             template.format("<n>" + "y" * (2 * MiB) + "</n>")),
        ]
    return found


def send(port, method, path, body, depth="0"):
    request = (f"{method} {path} HTTP/1.1\r\nHost: a\r\nDepth: {depth}\r\n"
               "Content-Type: application/xml\r\n"
               f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n"
               ).encode() + body.encode()
    return exchange(port, request, timeout=PROMPT + 9.0)


def checkRefused(name, received):
    """
    @return: a problem with the answer to a bomb, or C{None}.
    """
    if SECRET.encode() in received.data:
        return f"{name}: LEAKED the secret: {received.data[:300]!r}"
    if not received.closed:
        return f"{name}: no answer within {received.seconds:.1f}s"
    try:
        finals = [r for r in received.responses() if r.status >= 200]
    except MalformedResponse as e:
        return f"{name}: {e!r}"
    expected = (413, 400) if "oversized" in name else (400,)
    if [r.status for r in finals] not in ([s] for s in expected):
        return f"{name}: expected {expected}, got {finals}"
    if received.seconds > PROMPT:
        return f"{name}: answered in {received.seconds:.2f}s"
    return None


@pytest.fixture
def listener():
    """
    A listening socket standing for a remote host the parser must never
    fetch from.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def assertNeverContacted(listener):
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return
    conn.close()
    raise AssertionError("the server fetched an external entity or DTD over the network")


def test_bombsRefused(tmp_path, listener):
    """
    Every bomb is refused with 400 (413 for the oversized body), within a
    second, with memory bounded and /health fast; nothing leaks, nothing
    is fetched, and no property or lock kept the secret.
    """
    with HostileServer(tmp_path) as server:
        secretPath = server.layout.secrets[1]
        problems = []
        with Monitor(server, FAST) as monitor:
            for name, method, path, body in bodies(secretPath, listener.getsockname()[1]):
                problem = checkRefused(name, send(server.port, method, path, body))
                if problem:
                    problems.append(problem)
        monitor.check("", problems)
        assertNeverContacted(listener)
        everything = send(server.port, "PROPFIND", "/dav/", '<D:propfind xmlns:D="DAV:">'
                          "<D:allprop/></D:propfind>", depth="1")
        assert b"207" in everything.data.split(b"\r\n", 1)[0], everything
        assert SECRET.encode() not in everything.data
        server.stop()


def bombLoop(port, bombs, deadline, stop):
    problems, sent = [], 0
    while not deadline.passed() and not stop.is_set():
        name, method, path, body = bombs[sent % len(bombs)]
        problem = checkRefused(name, send(port, method, path, body))
        sent += 1
        if problem and len(problems) < 10:
            problems.append(problem)
    return problems, sent


def bombFlood(server, listener, connections, seconds, bounds):
    bombs = [b for b in bodies(server.layout.secrets[1], listener.getsockname()[1])
             if "oversized" not in b[0]]
    with Monitor(server, bounds) as monitor:
        results = runThreads(
            bombLoop,
            [(server.port, bombs[i:] + bombs[:i], Deadline(seconds), monitor.overLimit)
             for i in range(connections)],
            timeout=seconds + 60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    problems = [p for found, _ in results for p in found]
    monitor.check(f"{sum(n for _, n in results)} bombs from {connections} clients",
                  problems[:20])
    assertNeverContacted(listener)


def test_bombFlood(tmp_path, listener):
    """
    Eight clients send bombs back to back for 3 s.
    """
    with HostileServer(tmp_path) as server:
        bombFlood(server, listener, 8, 3.0, FAST)
        server.stop()


@pytest.mark.long
@pytest.mark.parametrize("connections", [1, 10, 100])
def test_bombFloodForAMinute(tmp_path, listener, connections):
    """
    The issue's bar: 60 s of XML bombs from C{connections} clients.
    """
    with HostileServer(tmp_path) as server:
        bombFlood(server, listener, connections, 60.0, STRICT)
        server.stop()
