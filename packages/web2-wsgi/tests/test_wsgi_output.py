"""
Tests for the response side of web2-wsgi (L{web2.wsgi.job}): bodies,
C{write()}, C{start_response} and its C{exc_info} rules, the errors an
application can make, and C{close()}.  The application runs inline, on an
in-memory channel; the threaded tests are in test_wsgi_live.py.
"""

from __future__ import annotations

import sys

import pytest
from _wsgi_helpers import Connection, InlinePool, exchange, get, site
from twisted.logger import capturedLogs

from web2 import server
from web2.wsgi import WSGIResource, WSGIResponse


class Closing:
    """
    An iterable with close(), recording what happened.
    """

    def __init__(self, chunks, log, fail=None):
        self.chunks = chunks
        self.log = log
        self.fail = fail

    def __iter__(self):
        for chunk in self.chunks:
            self.log.append(("yield", chunk))
            yield chunk
        if self.fail is not None:
            raise self.fail

    def close(self):
        self.log.append("close")


def simple(body=b"hello", headers=None, status="200 OK"):
    def app(environ, start_response):
        start_response(status, headers if headers is not None else
                       [("Content-Type", "text/plain")])
        return body if isinstance(body, (list, tuple)) else [body]
    return app


def test_listBodyHasLength():
    """
    A list body is sent with its length: no chunking.
    """
    [r] = exchange(simple([b"hel", b"lo"]), get("/"))
    assert (r.status, r.body) == (200, b"hello")
    assert r.header("content-length") == "5"
    assert r.header("transfer-encoding") is None
    assert r.header("content-type") == "text/plain"
    assert r.header("server") and r.header("date")


def test_generatorBodyIsStreamed():
    """
    A generator without Content-Length is streamed (chunked), in order.
    """
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"a"
        yield b""
        yield b"bc"

    [r] = exchange(app, get("/"), smallBodyLimit=0)
    assert (r.status, r.body, r.complete) == (200, b"abc", True)


def test_declaredLengthPassesThrough():
    """
    A streamed body with a Content-Length keeps it, so the channel does not
    chunk it.
    """
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "6")])
        yield b"abc"
        yield b"def"

    [r] = exchange(app, get("/"), smallBodyLimit=2)
    assert r.header("content-length") == "6"
    assert r.header("transfer-encoding") is None
    assert r.body == b"abcdef"


def test_startResponseInsideGenerator():
    """
    start_response may be called on the first iteration of the body.
    """
    def app(environ, start_response):
        def body():
            start_response("200 OK", [("Content-Length", "2")])
            yield b"ok"
        return body()

    [r] = exchange(app, get("/"))
    assert (r.status, r.body) == (200, b"ok")


def test_writeCallable():
    """
    The write() callable sends data before the iterable's.
    """
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"first ")
        write(b"")
        return [b"then"]

    [r] = exchange(app, get("/"))
    assert r.body == b"first then"


def test_reasonPhraseKept():
    """
    The reason phrase the application gave stays on the response, for the
    channel to send.
    """
    seen = []

    def record(request, response):
        seen.append(response)
        return response

    pool = InlinePool()
    wsgiSite = server.Site(WSGIResource(simple(status="299 Very Custom"), pool),
                           responseFilters=[record])
    wsgiSite.wsgiPool = pool
    [r] = Connection(wsgiSite).send(get("/")).responses()
    assert r.status == 299
    assert isinstance(seen[0], WSGIResponse)
    assert seen[0].reason == b"Very Custom"


def test_emptyErrorBodyKept():
    """
    An error status with an empty body stays empty: the site's error page
    does not replace what the application sent.
    """
    [r] = exchange(simple(b"", status="404 Not Found"), get("/"))
    assert (r.status, r.body) == (404, b"")


def test_applicationHandlesConditionalsItself():
    """
    The site's precondition and range filters leave WSGI responses alone:
    the application decides, as under any WSGI server.
    """
    app = simple(b"0123456789", headers=[("ETag", '"v1"'), ("Content-Length", "10")])
    [r] = exchange(app, get("/", headers=[("If-None-Match", '"v1"'),
                                          ("Range", "bytes=0-1")]))
    assert (r.status, r.body) == (200, b"0123456789")
    assert r.header("accept-ranges") is None


def test_head():
    """
    HEAD sends the declared length and no body.
    """
    log = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "100")])
        return Closing([b"x" * 100], log)

    conn = Connection(site(app))
    conn.send(get("/", method="HEAD"))
    [r] = conn.responses(headRequests=(0,))
    assert r.header("content-length") == "100"
    assert conn.transport.value().endswith(b"\r\n\r\n")
    assert log[-1] == "close"


def test_headStreamStopsTheApplication():
    """
    A streamed HEAD response is closed at once; the application is stopped
    and closed without producing the rest.
    """
    log = []

    def app(environ, start_response):
        start_response("200 OK", [])
        return Closing([b"a", b"b", b"c"], log)

    conn = Connection(site(app, smallBodyLimit=0))
    conn.send(get("/", method="HEAD"))
    assert conn.responses(headRequests=(0,))[0].status == 200
    assert log == [("yield", b"a"), "close"]


def test_closeCalledAfterSuccess():
    """
    close() of the result is called once the body is produced.
    """
    log = []
    [r] = exchange(lambda e, s: (s("200 OK", []), Closing([b"a", b"b"], log))[1], get("/"))
    assert r.body == b"ab"
    assert log == [("yield", b"a"), ("yield", b"b"), "close"]


def test_errorBeforeHeaders():
    """
    An exception before the response started gives a 500 page without the
    traceback, which goes to the log.
    """
    def app(environ, start_response):
        raise RuntimeError("secret detail")

    with capturedLogs() as events:
        [r] = exchange(app, get("/"))
    assert r.status == 500
    assert b"secret detail" not in r.body and b"Traceback" not in r.body
    failures = [e for e in events if "log_failure" in e]
    assert len(failures) == 1
    assert "secret detail" in str(failures[0]["log_failure"].value)


def test_errorWhileIteratingBeforeHeadersSent():
    """
    An exception from the iterable of a body collected whole is still
    before anything was sent: 500, and close() is called.
    """
    log = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return Closing([b"abc"], log, fail=ValueError("boom"))

    with capturedLogs():
        [r] = exchange(app, get("/"))
    assert r.status == 500
    assert log[-1] == "close"


def test_errorAfterHeadersAborts():
    """
    An exception once the response is under way aborts the connection after
    what was sent; close() is still called.
    """
    log = []

    def app(environ, start_response):
        start_response("200 OK", [])
        return Closing([b"abc", b"def"], log, fail=ValueError("boom"))

    with capturedLogs() as events:
        conn = Connection(site(app, smallBodyLimit=0))
        conn.send(get("/"))
    [r] = conn.responses()
    assert r.status == 200
    assert r.body == b"abcdef" and not r.complete
    assert conn.transport.disconnecting
    assert log[-1] == "close"
    assert sum("log_failure" in e for e in events) == 1


def test_excInfoBeforeHeadersReplacesTheResponse():
    """
    start_response with exc_info before anything was sent replaces the
    status (its reason phrase too) and headers: the application's own error
    page goes out.
    """
    def app(environ, start_response):
        start_response("200 OK", [("X-First", "1")])
        try:
            raise KeyError("oops")
        except KeyError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"my error page"]

    [r] = exchange(app, get("/"))
    assert (r.status, r.reason, r.body) == (500, "Oops", b"my error page")
    assert r.header("x-first") is None


def test_excInfoAfterHeadersReraises():
    """
    start_response with exc_info after the headers went out re-raises that
    exception: the connection is aborted.
    """
    caught = []

    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"partial")
        try:
            raise KeyError("late")
        except KeyError:
            try:
                start_response("500 Oops", [], sys.exc_info())
            except KeyError as e:
                caught.append(e)
                raise

    with capturedLogs():
        conn = Connection(site(app))
        conn.send(get("/"))
    assert len(caught) == 1
    [r] = conn.responses()
    assert r.status == 200 and r.body == b"partial" and not r.complete
    assert conn.transport.disconnecting


@pytest.mark.parametrize("app, why", [
    (lambda e, s: [b"no start_response"], "before start_response"),
    (lambda e, s: (s("200 OK", []), s("200 OK", []), [b"x"])[2], "already called"),
    (lambda e, s: (s("200 OK", []), ["text"])[1], "not bytes"),
    (lambda e, s: (s("200 OK", []), [])[1] if False else (s("200 OK", []), iter([1]))[1],
     "not bytes"),
    (simple(headers=[("Connection", "close")]), "hop-by-hop"),
    (simple(headers=[("Transfer-Encoding", "chunked")]), "hop-by-hop"),
    (simple(headers=[("X-Split", "a\r\nSet-Cookie: x=1")]), "CR, LF"),
    (simple(status="100 Continue"), "1xx"),
])
def test_applicationErrorsAre500(app, why):
    """
    An application that breaks PEP 3333 gets a logged 500, never a response
    that would corrupt the connection.
    """
    with capturedLogs() as events:
        [r] = exchange(app, get("/"))
    assert r.status == 500
    assert b"Set-Cookie" not in r.body
    messages = " ".join(str(e["log_failure"].value) for e in events if "log_failure" in e)
    assert why in messages


def test_noStartResponseAndEmptyBody():
    """
    An empty body without start_response is an error too.
    """
    with capturedLogs():
        [r] = exchange(lambda e, s: [], get("/"))
    assert r.status == 500


def test_invalidHeadersSwallowedStillFail():
    """
    An application that catches the error of start_response and returns a
    body anyway still gets a 500.
    """
    def app(environ, start_response):
        try:
            start_response("200 OK", [("Bad Name", "x")])
        except ValueError:
            pass
        return [b"ignored the error"]

    with capturedLogs():
        [r] = exchange(app, get("/"))
    assert r.status == 500


def test_shortCompleteBodyIsSentAsIs():
    """
    A body collected whole that is shorter than its Content-Length is sent
    with its real length (and a warning), never leaving the client waiting.
    """
    with capturedLogs() as events:
        [r] = exchange(simple(b"abc", headers=[("Content-Length", "10")]), get("/"))
    assert (r.header("content-length"), r.body) == ("3", b"abc")
    assert any("Content-Length" in e.get("log_format", "") for e in events)


def test_longCompleteBodyIsCut():
    """
    A body longer than its Content-Length is cut there.
    """
    with capturedLogs():
        [r] = exchange(simple(b"abcdef", headers=[("Content-Length", "2")]), get("/"))
    assert (r.header("content-length"), r.body) == ("2", b"ab")


def test_longStreamedBodyIsCut():
    """
    A streamed body is cut at its Content-Length too: the extra bytes never
    reach the wire, where they would be taken for the next response.
    """
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "4")])
        yield b"abc"
        yield b"def"

    with capturedLogs():
        conn = Connection(site(app, smallBodyLimit=0))
        conn.send(get("/", close=False))
    out = conn.transport.value()
    assert out.endswith(b"\r\n\r\nabcd")
    assert not conn.transport.disconnecting


def test_shortStreamedBodyAborts():
    """
    A streamed body that ends before its Content-Length aborts the
    connection: the client must not wait for bytes that never come.
    """
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        yield b"abc"

    with capturedLogs() as events:
        conn = Connection(site(app, smallBodyLimit=0))
        conn.send(get("/"))
    assert conn.transport.disconnecting
    assert not conn.responses()[0].complete
    assert any("less than" in e.get("log_format", "") for e in events)


def test_keepAlive():
    """
    Two requests on one connection, answered in order.
    """
    conn = Connection(site(
        lambda e, s: (s("200 OK", []), [e["PATH_INFO"].encode()])[1]))
    conn.send(get("/one", close=False) + get("/two", close=False))
    assert [r.body for r in conn.responses()] == [b"/one", b"/two"]
    assert not conn.transport.disconnecting
