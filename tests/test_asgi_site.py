"""
web2-asgi with the other distributions in one site, as python -m web2
serves it: static files, a WSGI application (its thread pool) and an ASGI
one with a WebSocket route, on the asyncio reactor that the ASGI mount
makes python -m web2 choose.
"""

from __future__ import annotations

import os
import urllib.request

import pytest

from web2.testing import ServerProcess, assertStoppedCleanly, pythonWeb2

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")

pytestmark = pytest.mark.slow


def _get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read()


def test_staticWsgiAndAsgiTogether(tmp_path):
    pytest.importorskip("web2.asgi")
    pytest.importorskip("web2.wsgi")
    pytest.importorskip("web2.static")
    client = pytest.importorskip("websockets.sync.client")
    data = os.urandom(300000)
    (tmp_path / "blob.bin").write_bytes(data)
    command = pythonWeb2(
        "--listen", "tcp:0:interface=127.0.0.1", "--python-path", APPS,
        "--mount", f"/=static:{tmp_path}",
        "--mount", "/wsgi=wsgi:asgi_mixed:wsgi",
        "--mount", "/api=asgi:asgi_mixed:app")
    with ServerProcess(command) as server:
        port = server.port
        assert _get(port, "/blob.bin") == data
        assert _get(port, "/wsgi/x") == b"wsgi /wsgi /x"
        assert _get(port, "/api/v1/items") == b"asgi /api /api/v1/items"
        with client.connect(f"ws://127.0.0.1:{port}/api/ws", open_timeout=10) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "asgi hi"
        result = server.stop()
    assertStoppedCleanly(result)
    assert "reactor LeanAsyncioReactor" in result.output
    assert "lifespan shutdown complete" in result.output
