"""
web2 behind a real nginx reverse proxy on loopback: with --trusted-proxy,
the client address, scheme and host come from nginx's forwarding headers,
so redirects point at the public URL; without it, they are ignored.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from _interop import NGINX, nginxConfig, startNginx, stop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, fetch, freePort, twistdWeb2  # noqa: E402

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (CI installs it from Debian)"
)

SERVER = """\
    access_log off;
    server {{
        listen 127.0.0.1:{port};
        server_name www.example.test;
        location /app/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Prefix /app;
        }}
    }}"""


@pytest.fixture
def nginx():
    def start(upstream):
        tmp = Path(tempfile.mkdtemp())
        directories.append(tmp)
        port = freePort()
        config = nginxConfig(tmp, SERVER.format(port=port, upstream=upstream))
        processes.append(startNginx(tmp, config, [port]))
        return port

    processes, directories = [], []
    yield start
    for process in processes:
        stop(process)
    for tmp in directories:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetchFrom(source, port, path, headers):
    """
    A request from the loopback address C{source}, so the client is not
    the proxy's own address.
    """
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _web2(*extra):
    upstream = freePort()
    server = Server(twistdWeb2(
        "--listen", f"tcp:{upstream}:interface=127.0.0.1",
        "--python-path", str(ROOT / "tests" / "apps"),
        "--mount", "/=class:proxyapp.Report", *extra,
    ))
    server.waitForPort(upstream)
    return server, upstream


def test_trustedProxy(nginx):
    server, upstream = _web2("--trusted-proxy", "127.0.0.1",
                             "--trusted-proxy-fields", "for,proto,prefix")
    with server:
        port = nginx(upstream)
        status, _, body = _fetchFrom("127.0.0.2", port, "/app/", {"Host": "www.example.test"})
        assert status == 200, body
        seen = json.loads(body)
        assert seen["scheme"] == "https"
        assert seen["host"] == "www.example.test"
        assert seen["client"] == "127.0.0.2"
        assert seen["self"] == "https://www.example.test/app/"
        # The addSlash redirect goes to the public URL, prefix included.
        status, headers, _ = fetch(port, "/app/dir", headers={"Host": "www.example.test"})
        assert status == 301
        assert headers["location"] == "https://www.example.test/app/dir/"
        # A client's own forged X-Forwarded-For entry is not believed: the
        # nearest untrusted hop (the address nginx saw) is the client.
        status, _, body = _fetchFrom("127.0.0.2", port, "/app/", {
            "Host": "www.example.test", "X-Forwarded-For": "6.6.6.6"})
        assert json.loads(body)["client"] == "127.0.0.2"


def test_untrustedByDefault(nginx):
    server, upstream = _web2()
    with server:
        port = nginx(upstream)
        status, _, body = fetch(port, "/app/", headers={"Host": "www.example.test"})
        seen = json.loads(body)
        assert seen["scheme"] == "http"
        assert seen["self"] == "http://www.example.test/"
