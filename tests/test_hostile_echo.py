"""
Hostile clients, issue #14, attack 2: an echo resource (the response body
is the request body, C{http.Response(200, None, request.stream)}) meets
C{Expect: 100-continue} and malformed chunked bodies.

  - With C{Expect: 100-continue} the client waits for C{100 Continue}
    before it sends the body; the server must send it (the echo reads the
    body only as it writes the response), then the echoed body.
  - A malformed chunked body must end the exchange at once: a 400 and a
    close, or, once the echo has started its 200, an aborted response (the
    connection closed before the last chunk), never a complete-looking
    response and never an open connection that says nothing.
"""

import time

import pytest
from _hostile import (
    PROMPT,
    Deadline,
    HostileServer,
    MalformedResponse,
    Received,
    connect,
    exchange,
    readUntilClosed,
)


def readInterim(sock):
    """
    Read for up to L{PROMPT} seconds, until a whole response head came.
    """
    deadline = Deadline(PROMPT)
    interim = readUntilClosed(sock, deadline.left(), limit=1)
    while b"\r\n\r\n" not in interim.data and interim.end == "limit" and not deadline.passed():
        more = readUntilClosed(sock, deadline.left(), limit=1)
        interim = Received(interim.data + more.data, more.end, deadline.elapsed())
    return interim


def test_expectContinue(tmp_path):
    """
    The client sends the head with C{Expect: 100-continue}, waits for the
    100, then sends the body and reads the echo.
    """
    with HostileServer(tmp_path) as server, connect(server.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        interim = readInterim(sock)
        assert interim.data.startswith(b"HTTP/1.1 100 "), (
            f"no 100 Continue within {PROMPT}s: {interim}")
        sock.sendall(b"hello world")
        received = readUntilClosed(sock, 5.0, untilResponses=1)
        received.data = interim.data + received.data
        responses = received.responses()
        final = [r for r in responses if r.status >= 200]
        assert [r.status for r in responses] == [100, 200], received
        assert final[0].body == b"hello world" and final[0].complete, received
        sock.close()
        server.stop()


def test_expectContinueChunked(tmp_path):
    """
    The same with a chunked body: 100, then the echo of every chunk.
    """
    with HostileServer(tmp_path) as server, connect(server.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        interim = readInterim(sock)
        assert interim.data.startswith(b"HTTP/1.1 100 "), (
            f"no 100 Continue within {PROMPT}s: {interim}")
        sock.sendall(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        received = readUntilClosed(sock, 5.0, untilResponses=1)
        final = [r for r in received.responses() if r.status >= 200]
        assert final and final[0].status == 200 and final[0].body == b"hello world", received
        sock.close()
        server.stop()


HEAD = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

MALFORMED = {
    "bad-size": b"zz\r\nabc\r\n0\r\n\r\n",
    "negative-size": b"-3\r\nabc\r\n0\r\n\r\n",
    "huge-size": b"fffffffffffffffffffffff\r\nabc\r\n",
    "longer-than-declared": b"3\r\nabcdef\r\n0\r\n\r\n",
    "no-crlf-after-data": b"3\r\nabcXY0\r\n\r\n",
    "after-good-chunk": b"5\r\nhello\r\nzz\r\n",
}


def assertEndedBadly(received):
    """
    The exchange ended with a 400 and a close, or with a response cut off
    by the close: anything but a complete-looking success, or silence.
    """
    assert received.closed, (
        f"the connection is still open after {received.seconds:.1f}s: {received}")
    assert received.seconds <= PROMPT, f"closed only after {received.seconds:.1f}s"
    try:
        responses = [r for r in received.responses() if r.status >= 200]
    except MalformedResponse:
        # Cut off in the middle of a head or a chunk: an aborted response.
        return
    if not responses:
        return
    if responses[0].status == 400:
        assert len(responses) == 1, received
        return
    last = responses[-1]
    assert not last.complete, (
        f"a complete {last.status} response to a malformed body: {received.data!r}")


@pytest.mark.parametrize("target", ["/echo", "/discard"])
def test_malformedChunkedBody(tmp_path, target):
    """
    Each malformed chunked body, sent at once after the head, on a
    connection of its own, to the echo and to a resource that reads the
    body to its end before it answers.
    """
    failures = []
    with HostileServer(tmp_path) as server:
        for name, body in MALFORMED.items():
            received = exchange(server.port, HEAD.replace(b"/echo", target.encode()) + body,
                                timeout=PROMPT + 0.5)
            try:
                assertEndedBadly(received)
            except AssertionError as e:
                failures.append(f"{name}: {e}")
        server.stop()
    assert not failures, "\n".join(failures)


def test_malformedChunkAfterTheEchoStarted(tmp_path):
    """
    A good chunk first, read back by the client (the echo's 200 is under
    way), then a bad chunk size: the response must be aborted, not
    finished as if the body had ended.
    """
    with HostileServer(tmp_path) as server, connect(server.port) as sock:
        sock.sendall(HEAD + b"5\r\nhello\r\n")
        first = readUntilClosed(sock, 5.0, limit=1)
        deadline = time.monotonic() + 5.0
        data = first.data
        while b"hello" not in data and time.monotonic() < deadline:
            data += readUntilClosed(sock, 0.5, limit=1).data
        assert b"hello" in data, f"the echo did not start: {data!r}"
        sock.sendall(b"zz\r\n")
        rest = readUntilClosed(sock, PROMPT + 2.0)
        rest.data = data + rest.data
        assertEndedBadly(rest)
        sock.close()
        server.stop()
