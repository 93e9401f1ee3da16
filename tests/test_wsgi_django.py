"""
End to end: a real, minimal Django project (tests/wsgiapps/djangoproj)
served by C{python -m web2} through web2-wsgi, under a prefix: routing and
reverse() with SCRIPT_NAME, form posts, file uploads (in memory and spooled
to disk), a StreamingHttpResponse, a FileResponse, and custom error views.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _launch_helpers import Server, fetch, pythonWeb2  # noqa: E402
from test_wsgi_flask import multipart  # noqa: E402

APPS = Path(__file__).resolve().parent / "wsgiapps"


@pytest.fixture(scope="module")
def server():
    process = Server(pythonWeb2(
        "--listen", "tcp:0:interface=127.0.0.1", "--python-path", str(APPS),
        "--mount", "/site=wsgi:djangoproj.wsgi:application", "--wsgi-threads", "3"))
    with process:
        process.waitForListeners()
        yield process
        result = process.stop()
    assert result.returncode == 0, result.output
    assert "Traceback" in result.output  # the view that exploded, logged


def test_routingUnderPrefix(server):
    status, _, body = fetch(server.port, "/site/")
    assert (status, body) == (200, b"django index; hello is at /site/hello/you")
    assert fetch(server.port, "/site/hello/web2")[::2] == (200, b"Hello, web2!")
    where = json.loads(fetch(server.port, "/site/where?q=1")[2])
    assert where == {"script_name": "/site", "path_info": "/where", "path": "/site/where",
                     "absolute": f"http://127.0.0.1:{server.port}/site/where?q=1"}


def test_commonMiddlewareRedirect(server):
    """
    The mount itself is the project's root; APPEND_SLASH redirects keep the
    prefix.
    """
    assert fetch(server.port, "/site")[0] == 200
    status, headers, _ = fetch(server.port, "/site/slashed")
    assert (status, headers["location"]) == (301, "/site/slashed/")
    assert fetch(server.port, "/site/slashed/")[::2] == (200, b"Hello, slashed!")


def test_formPost(server):
    status, _, body = fetch(server.port, "/site/form", method="POST",
                            body=b"b=2&a=1&a=%C3%A9",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body.decode()) == (200, "form: a=1,a=é,b=2")


@pytest.mark.parametrize("size", [1000, 1024 * 1024])
def test_fileUpload(server, size):
    data = bytes(range(256)) * (size // 256)
    contentType, body = multipart({"note": "hi"}, {"file": ("up.bin", data)})
    status, _, answer = fetch(server.port, "/site/upload", method="POST", body=body,
                              headers={"Content-Type": contentType})
    assert status == 200, answer
    assert json.loads(answer) == {"filename": "up.bin", "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest(), "note": "hi"}


def test_streamingResponse(server):
    status, headers, body = fetch(server.port, "/site/stream")
    assert status == 200
    assert headers.get("transfer-encoding") == "chunked"
    assert body == b"".join(b"line %d " % n + b"x" * 262144 + b"\n" for n in range(5))


def test_fileResponse(server):
    status, headers, body = fetch(server.port, "/site/download")
    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="data.bin"'
    assert body == b"d" * 100000


def test_errorViews(server):
    assert fetch(server.port, "/site/nowhere")[::2] == (404, b"custom django 404")
    assert fetch(server.port, "/site/boom")[::2] == (500, b"custom django 500")
    assert server.waitForOutput("django view exploded", timeout=10)
