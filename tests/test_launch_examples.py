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
    children.py: a defined child with validators (so a conditional request
    gets 304), a static file child and a child made by a method.
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
