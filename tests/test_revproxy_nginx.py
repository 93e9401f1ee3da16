"""
web2 as a reverse proxy in front of a real nginx (Debian package C{nginx}):
C{python -m web2 --mount /api=proxy:http://127.0.0.1:PORT/} starts from the
command line, and pages, headers, ranges, bodies and keep-alive go through
it to nginx and back, fetched with C{http.client}.
"""

import hashlib
import http.client
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from _interop import NGINX, nginxConfig, startNginx, stop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, fetch, freePort, pythonWeb2  # noqa: E402

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (CI installs it from Debian)"
)

SERVER = """\
    log_format conn '$connection $request_uri';
    access_log {tmp}/access.log conn;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        client_max_body_size 10m;
        location /echo {{
            default_type text/plain;
            return 200 "$request_method $request_uri|$http_x_forwarded_for|$http_x_forwarded_host|$http_connection|$http_te|$content_length\\n";
        }}
        location /moved {{
            return 302 http://127.0.0.1:{port}/landing;
        }}
        location /upload {{
            client_max_body_size 10m;
            client_body_buffer_size 16k;
            proxy_pass http://127.0.0.1:{port}/echo;
        }}
    }}"""


@pytest.fixture(scope="module")
def site():
    tmp = Path(tempfile.mkdtemp())
    # nginx's workers drop root for another user: they must read the files
    # and write the body buffers.
    tmp.chmod(0o777)
    (tmp / "www").mkdir()
    big = bytes(range(256)) * 4096 * 5  # 5 MiB
    (tmp / "www" / "big.bin").write_bytes(big)
    (tmp / "www" / "index.html").write_text("<h1>nginx</h1>\n")
    port = freePort()
    try:
        nginx = startNginx(tmp, nginxConfig(tmp, SERVER.format(tmp=tmp, port=port)), [port])
        try:
            with Server(pythonWeb2(
                "--listen", "tcp:0:interface=127.0.0.1",
                "--mount", f"/api=proxy:http://127.0.0.1:{port}/",
                "--mount", "/=text:web2 itself",
            )) as server:
                (_, proxyPort, _), = server.waitForListeners(1)
                yield proxyPort, port, big, tmp
                result = server.stop()
                assert "Traceback" not in result.output, result.output
        finally:
            stop(nginx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_pagesAndHeaders(site):
    proxyPort, nginxPort, big, _ = site
    status, headers, body = fetch(proxyPort, "/api/index.html")
    assert (status, body) == (200, b"<h1>nginx</h1>\n")
    assert headers["server"].startswith("nginx")  # the upstream's own fields
    assert "etag" in headers and "last-modified" in headers
    status, _, body = fetch(proxyPort, "/api/echo?x=1", headers={"Connection": "keep-alive, x-y",
                                                               "TE": "trailers"})
    method, forwardedFor, forwardedHost, connection, te, _ = body.decode().rstrip("\n").split("|")
    assert method == "GET /echo?x=1"
    assert forwardedFor == "127.0.0.1"
    assert forwardedHost == f"127.0.0.1:{proxyPort}"
    assert connection in ("", "keep-alive")  # nothing of the client's Connection
    assert te == ""
    status, _, body = fetch(proxyPort, "/")
    assert body == b"web2 itself"


def test_bigFileAndRange(site):
    proxyPort, _, big, _ = site
    status, headers, body = fetch(proxyPort, "/api/big.bin")
    assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert headers["content-length"] == str(len(big))
    status, headers, body = fetch(proxyPort, "/api/big.bin", headers={"Range": "bytes=100-199"})
    assert status == 206 and body == big[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(big)}"


def test_headAnd404(site):
    proxyPort, _, big, _ = site
    status, headers, body = fetch(proxyPort, "/api/big.bin", method="HEAD")
    assert (status, body, headers["content-length"]) == (200, b"", str(len(big)))
    status, _, _ = fetch(proxyPort, "/api/missing")
    assert status == 404


def test_redirectRewritten(site):
    proxyPort, nginxPort, _, _ = site
    status, headers, _ = fetch(proxyPort, "/api/moved")
    assert status == 302
    assert headers["location"] == f"http://127.0.0.1:{proxyPort}/api/landing"


def test_uploadsSizedAndChunked(site):
    proxyPort, _, _, _ = site
    body = b"p" * (3 * 1024 * 1024)
    status, _, answer = fetch(proxyPort, "/api/upload", method="POST", body=body)
    assert status == 200 and answer.decode().rstrip().endswith(f"|{len(body)}")
    conn = http.client.HTTPConnection("127.0.0.1", proxyPort, timeout=30)
    try:
        conn.request("POST", "/api/upload", body=iter([b"a" * 1000] * 100),
                     encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    finally:
        conn.close()


def test_keepAliveBothSides(site):
    """
    One client connection carries many requests, and the proxy reuses its
    upstream connections (nginx logs the connection serial of each).
    """
    proxyPort, _, _, tmp = site
    conn = http.client.HTTPConnection("127.0.0.1", proxyPort, timeout=30)
    try:
        for i in range(20):
            conn.request("GET", f"/api/index.html?n={i}")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
    finally:
        conn.close()
    # nginx logs a request once it has finalised it, which may be after
    # the client has its answer: wait (boundedly) for the twentieth line.
    deadline = time.monotonic() + 30
    while True:
        lines = [line.split() for line in (tmp / "access.log").read_text().splitlines()]
        logged = [uri for _, uri in lines if "?n=" in uri]
        if len(logged) >= 20 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    connections = {serial for serial, uri in lines if "?n=" in uri}
    assert len(logged) == 20
    assert len(connections) == 1, connections
