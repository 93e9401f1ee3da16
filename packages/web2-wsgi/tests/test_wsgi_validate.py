"""
web2-wsgi against C{wsgiref.validate.validator}: applications that exercise
every part of PEP 3333 (input methods, write(), generators, exc_info,
file_wrapper, HEAD, chunked bodies), wrapped by the validator, run with no
complaint: the validator's assertions and warnings both fail the test.
"""

from __future__ import annotations

import io
import sys
import warnings
from wsgiref.validate import WSGIWarning, validator

import pytest
from _wsgi_helpers import Connection, get, site
from twisted.logger import capturedLogs


@pytest.fixture(autouse=True)
def strictWarnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", WSGIWarning)
        yield


def run(app, request, mount="/", headRequests=()):
    """
    Serve the validated C{app}; fail on any logged failure.
    """
    with capturedLogs() as events:
        conn = Connection(site(validator(app), mount=mount))
        conn.send(request)
    failures = [e["log_failure"] for e in events if "log_failure" in e]
    assert not failures, failures[0].getTraceback()
    return conn.responses(headRequests)


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def generator(environ, start_response):
    def body():
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"one "
        yield b"two"
    return body()


def writer(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    return [b"returned"]


def echoLines(environ, start_response):
    stream = environ["wsgi.input"]
    first = stream.readline()
    limited = stream.readline(4)
    block = stream.read(3)
    lines = stream.readlines()
    rest = b"".join(iter(stream))
    body = b"|".join([first, limited, block, b"".join(lines), rest, stream.read(10)])
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


def readBlocks(environ, start_response):
    stream = environ["wsgi.input"]
    parts = []
    while True:
        data = stream.read(7)
        if not data:
            break
        parts.append(data)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d:%s" % (len(parts), b"".join(parts))]


def excInfo(environ, start_response):
    try:
        raise ValueError("handled")
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
    return [b"handled error"]


def fileWrapper(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"wrapped file"), 4)


def pathEcho(environ, start_response):
    body = f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def test_hello():
    [r] = run(hello, get("/"))
    assert (r.status, r.body) == (200, b"hello")


def test_generator():
    [r] = run(generator, get("/"))
    assert r.body == b"one two"


def test_write():
    [r] = run(writer, get("/"))
    assert r.body == b"written returned"


def test_inputMethods():
    [r] = run(echoLines, get("/", method="POST", body=b"line1\nabcdefXYZl2\nl3\nend"))
    assert r.body == b"line1\n|abcd|efX|YZl2\nl3\nend||"


def test_chunkedInput():
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    [r] = run(readBlocks, get("/", method="POST",
                              headers=[("Transfer-Encoding", "chunked")]) + body)
    assert r.body == b"2:hello world"


def test_excInfo():
    [r] = run(excInfo, get("/"))
    assert (r.status, r.body) == (500, b"handled error")


def test_fileWrapper():
    [r] = run(fileWrapper, get("/"))
    assert r.body == b"wrapped file"


def test_head():
    [r] = run(hello, get("/", method="HEAD"), headRequests=(0,))
    assert r.header("content-length") == "5"


def test_mountedPaths():
    [r] = run(pathEcho, get("/app/x%20y/"), mount="/app")
    assert r.body == b"/app|/x y/"
    [r] = run(pathEcho, get("/app"), mount="/app")
    assert r.body == b"/app|"


def test_validatorComplaintsAreSeen():
    """
    The harness itself: an application breaking PEP 3333 makes the
    validator complain, and the test sees it.
    """
    def bad(environ, start_response):
        start_response("200 OK", {"Content-Type": "text/plain"})
        return [b"x"]

    with pytest.raises(AssertionError):
        run(bad, get("/"))
