"""
A real Klein application (tests/apps/kleinapp.py) served by C{python -m
web2} through web2-compat, mounted with C{--mount
/k=twistedweb:kleinapp.resource} and no code of the user's: web2-compat
registers Klein's request adapter for its twisted.web requests (every
route used to answer 500, "Could not adapt OldRequest to IKleinRequest").
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

pytest.importorskip("klein")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import Server, assertNoTraceback, fetch, pythonWeb2  # noqa: E402

APPS = Path(__file__).resolve().parent / "apps"


@pytest.fixture(scope="module")
def server():
    process = Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1", "--python-path",
                                str(APPS), "--mount", "/k=twistedweb:kleinapp.resource"))
    with process:
        process.waitForListeners()
        yield process
        result = process.stop()
    assert result.returncode == 0, result.output


def test_routes(server):
    status, _, body = fetch(server.port, "/k/hello/web2")
    assert (status, body) == (200, b"Hello, web2!")
    status, _, body = fetch(server.port, "/k/")
    assert status == 200
    # Klein builds the URL itself (as under twisted.web, the same words).
    assert body.startswith(b"klein index; hello is at ")
    assert body.endswith(b"/hello/you")


def test_deferredRoute(server):
    status, _, body = fetch(server.port, "/k/later?x=1")
    assert (status, body) == (200, b"later /k/later?x=1")


def test_formPost(server):
    status, _, body = fetch(server.port, "/k/form", "POST",
                            {"Content-Type": "application/x-www-form-urlencoded"},
                            b"name=Ann&colour=red&colour=blue")
    assert (status, body) == (200, b"name=Ann colours=red,blue")
    boundary = uuid.uuid4().hex
    multipart = (f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
                 f"Bo\r\n--{boundary}--\r\n").encode()
    status, _, body = fetch(server.port, "/k/form", "POST",
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                            multipart)
    assert (status, body) == (200, b"name=Bo colours=")
    assert fetch(server.port, "/k/form")[0] == 405


def test_session(server):
    status, headers, body = fetch(server.port, "/k/count")
    assert (status, body) == (200, b"count=1")
    cookie = headers["set-cookie"].split(";")[0]
    assert cookie.startswith("TWISTED_SESSION_k=")
    for expected in (b"count=2", b"count=3"):
        assert fetch(server.port, "/k/count", headers={"Cookie": cookie})[2] == expected
    assert fetch(server.port, "/k/count")[2] == b"count=1"  # a new session


def test_routeReturningAResource(server):
    status, headers, body = fetch(server.port, "/k/data")
    assert (status, headers["content-type"], body) == (
        200, "text/plain", b"a twisted.web resource")
    status, headers, body = fetch(server.port, "/k/data", "HEAD")
    assert (status, headers["content-length"], body) == (200, "22", b"")


def test_statusAndHeaders(server):
    status, headers, body = fetch(server.port, "/k/teapot")
    assert (status, headers["x-klein"], body) == (418, "yes", b"short and stout")


def test_errors(server):
    assert fetch(server.port, "/k/missing")[::2] == (404, b"handled: missing")
    status, _, body = fetch(server.port, "/k/no/such/route")
    assert status == 404 and b"Not Found" in body
    status, _, body = fetch(server.port, "/k/boom")
    assert status == 500
    assert b"boom" not in body and b"Traceback" not in body
    assert server.waitForOutput("RuntimeError: boom")


def test_noTracebackForGoodRoutes(server):
    before = server.output
    for path in ("/k/", "/k/hello/x", "/k/later", "/k/data"):
        assert fetch(server.port, path)[0] == 200
    assertNoTraceback(server.output[len(before):])
