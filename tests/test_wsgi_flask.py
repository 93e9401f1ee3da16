"""
End to end: a real Flask application (tests/wsgiapps/flaskapp.py) served by
C{python -m web2} through web2-wsgi, at the root (C{--wsgi}) and under a
prefix (C{--mount}, and a site file): routing and URL building, form posts,
file uploads, a streamed response, send_file, redirects and error handlers.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from pathlib import Path

import pytest

pytest.importorskip("flask")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import (  # noqa: E402
    Server,
    assertNoTraceback,
    assertStoppedCleanly,
    fetch,
    pythonWeb2,
    twistdWeb2,
)

APPS = Path(__file__).resolve().parent / "wsgiapps"
DATA = bytes(range(256)) * (3 * 1024 * 1024 // 256)


def multipart(fields, files):
    """
    A multipart/form-data body: C{(contentType, body)}.
    """
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                     f"\r\n\r\n{value}\r\n".encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                     f"\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """
    One server with Flask at / and at /prefix (the same application twice,
    in one pool of 4 threads).
    """
    tmp = tmp_path_factory.mktemp("flask")
    dataFile = tmp / "data.bin"
    dataFile.write_bytes(DATA)
    config = tmp / "site.toml"
    config.write_text(f'python-path = ["{APPS}"]\n[options]\nwsgi-threads = 4\n'
                      '[mounts]\n"/prefix" = "wsgi:flaskapp:app"\n')
    server = Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1", "--config",
                               str(config), "--wsgi", "flaskapp:app"),
                    env={"FLASKAPP_DATA_FILE": str(dataFile)})
    with server:
        server.waitForListeners()
        yield server
        result = server.stop()
    assert result.returncode == 0, result.output  # /boom's traceback is in the log


@pytest.mark.parametrize("base", ["", "/prefix"])
def test_routingAndUrls(servers, base):
    status, _, body = fetch(servers.port, base + "/")
    assert (status, body) == (200, f"flask index; hello is at {base}/hello/you".encode())
    status, _, body = fetch(servers.port, base + "/hello/web2")
    assert (status, body) == (200, b"Hello, web2!")
    status, _, body = fetch(servers.port, base + "/where?x=1")
    where = json.loads(body)
    assert where["script_name"] == base
    assert where["path_info"] == "/where"
    assert where["url"] == f"http://127.0.0.1:{servers.port}{base}/where?x=1"
    assert where["remote_addr"] == "127.0.0.1"


@pytest.mark.parametrize("base", ["", "/prefix"])
def test_redirectKeepsThePrefix(servers, base):
    status, headers, _ = fetch(servers.port, base + "/go")
    assert status == 302
    assert headers["location"] == f"{base}/hello/redirected"


def test_formPost(servers):
    status, _, body = fetch(servers.port, "/prefix/form", method="POST",
                            body=b"b=2&a=1&a=%C3%A9",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body.decode()) == (200, "form: a=1,a=é,b=2")


def test_fileUpload(servers):
    data = bytes(range(256)) * 4000
    contentType, body = multipart({"note": "hi"}, {"file": ("data.bin", data)})
    status, _, answer = fetch(servers.port, "/upload", method="POST", body=body,
                              headers={"Content-Type": contentType})
    assert status == 200
    assert json.loads(answer) == {"filename": "data.bin", "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest(), "note": "hi"}


def test_streamedResponse(servers):
    status, headers, body = fetch(servers.port, "/prefix/stream")
    assert status == 200
    assert headers.get("transfer-encoding") == "chunked"
    assert body == b"".join(b"line %d " % n + b"x" * 262144 + b"\n" for n in range(5))


def test_sendFile(servers):
    status, headers, body = fetch(servers.port, "/file")
    assert status == 200
    assert headers["content-length"] == str(len(DATA))
    assert body == DATA


def test_errorHandlers(servers):
    assert fetch(servers.port, "/prefix/nowhere")[::2] == (404, b"custom flask 404")
    status, _, body = fetch(servers.port, "/boom")
    assert (status, body) == (500, b"custom flask 500")
    assert servers.waitForOutput("flask view exploded", timeout=10)


def test_headRequest(servers):
    status, headers, body = fetch(servers.port, "/hello/x", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len("Hello, x!"))


def test_noTracebackInResponses(servers):
    status, _, body = fetch(servers.port, "/boom")
    assertNoTraceback(body.decode())


def test_underTwistd(tmp_path):
    """
    twistd web2 --wsgi serves the application too, and stops cleanly (the
    thread pool stops with the site).
    """
    server = Server(twistdWeb2("--listen", "tcp:0:interface=127.0.0.1", "--python-path",
                               str(APPS), "--wsgi", "flaskapp:app"), cwd=str(tmp_path))
    with server:
        server.waitForListeners()
        assert fetch(server.port, "/hello/twistd")[::2] == (200, b"Hello, twistd!")
        result = server.stop()
    assertStoppedCleanly(result)
