"""
The tutorial's examples and the demo site, started for real: each example
with C{twistd -ny FILE} on a free port, the demo with C{twistd -n web2
--config examples/demo/site.toml}.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import (  # noqa: E402
    Server,
    assertStoppedCleanly,
    fetch,
    freePort,
    twistdCommand,
    twistdWeb2,
)

EXAMPLES = ROOT / "examples"


def _example(name, tmp_path):
    port = freePort()
    command = twistdCommand() + ["-n", "--pidfile=", "-y", str(EXAMPLES / "intro" / name)]
    server = Server(command, env={"WEB2_EXAMPLE_PORT": str(port)}, cwd=tmp_path)
    server.waitForPort(port)
    return server, port


def test_simple(tmp_path):
    """
    simple.py: the root adds its slash and answers with HTML.
    """
    server, port = _example("simple.py", tmp_path)
    with server:
        status, headers, body = fetch(port, "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"Hello" in body
        status, headers, body = fetch(port, "/nothing")
        assert status == 404
        result = server.stop()
    assertStoppedCleanly(result)


def test_children(tmp_path):
    """
    children.py: a defined child with validators (so a conditional request,
    by ETag or by date, gets 304), a static file child and a child made by
    a method.
    """
    pytest.importorskip("web2.static")
    server, port = _example("children.py", tmp_path)
    with server:
        status, _, body = fetch(port, "/")
        assert status == 200 and b'href="poem"' in body
        status, headers, body = fetch(port, "/poem")
        assert status == 200 and body.startswith(b"Half a league")
        assert "last-modified" in headers and "etag" in headers
        status, _, body = fetch(port, "/poem", headers={"If-None-Match": headers["etag"]})
        assert status == 304 and body == b""
        # Its Last-Modified is time.time(), with a fraction the date cannot
        # carry: the exact date sent back still means "not modified".
        status, _, body = fetch(port, "/poem",
                                headers={"If-Modified-Since": headers["last-modified"]})
        assert status == 304 and body == b""
        status, _, body = fetch(port, "/source")
        assert status == 200 and b"child_source" in body
        status, headers, body = fetch(port, "/clock")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        result = server.stop()
    assertStoppedCleanly(result)


def test_demo(tmp_path):
    """
    The README's demo starts from its site file and serves every page it
    links to.
    """
    with Server(twistdWeb2("--config", str(EXAMPLES / "demo" / "site.toml"),
                           "--listen", "tcp:0:interface=127.0.0.1"),
                cwd=ROOT) as server:
        port = server.port
        status, _, body = fetch(port, "/")
        assert status == 200 and b"web2 demo" in body
        assert b"Hello" in fetch(port, "/simple/")[2]
        assert fetch(port, "/health")[2] == b"ok"
        assert b"web2-core" in fetch(port, "/plugins")[2]
        assert fetch(port, "/children/")[0] == 200
        status, _, body = fetch(port, "/files/")
        assert status == 200
        try:
            import web2.static  # noqa: F401
        except ImportError:
            assert b"pip install web2-static" in body
        else:
            assert b"hello.txt" in body
            assert fetch(port, "/files/hello.txt")[2].startswith(b"Hello from a static")
        result = server.stop()
    assertStoppedCleanly(result)


def _raw(port, data, timeout=10.0):
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def test_simpleKeepAlivePipelinedChunked(tmp_path):
    """
    simple.py over one connection: keep-alive requests, a pipelined burst
    answered in order, and a chunked request body (the root has no POST, so
    it is drained and answered 405 without losing the connection's place).
    """
    import http.client

    server, port = _example("simple.py", tmp_path)
    with server:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 200 and b"Hello" in response.read()
        conn.close()

        burst = b"".join(
            b"GET /?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(16)
        )
        chunked = (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n"
        )
        last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        out = _raw(port, burst + chunked + last)
        import re

        statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", out)]
        assert statuses == [200] * 16 + [405, 200]
        result = server.stop()
    assertStoppedCleanly(result)


def test_childrenRange(tmp_path):
    """
    children.py: a Range request on the page and on the file child gets 206
    with the right bytes.
    """
    pytest.importorskip("web2.static")
    server, port = _example("children.py", tmp_path)
    with server:
        status, headers, body = fetch(port, "/poem", headers={"Range": "bytes=0-3"})
        assert status == 206 and body == b"Half"
        assert headers["content-range"].startswith("bytes 0-3/")
        status, headers, body = fetch(port, "/source", headers={"Range": "bytes=-10"})
        source = (EXAMPLES / "intro" / "children.py").read_bytes()
        assert status == 206 and body == source[-10:]
        result = server.stop()
    assertStoppedCleanly(result)
