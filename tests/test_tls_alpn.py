"""
HTTPS with clients that offer ALPN: curl with its default options,
Python's C{ssl} with C{set_alpn_protocols}, as browsers do.  web2's factory
answers Twisted's TLS layer's question (C{acceptableProtocols}) with
C{http/1.1}; without that answer every such handshake failed with "tlsv1
alert internal error" while clients without ALPN (the older TLS test's)
got through.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from _browser import BROWSER, dumpDOM
from _tls import selfSigned

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import Server, assertStoppedCleanly, pythonWeb2  # noqa: E402

CURL = shutil.which("curl")


@pytest.fixture(scope="module")
def tlsPort(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alpn")
    keyPath, certPath = selfSigned(tmp)
    endpoint = f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}"
    with Server(pythonWeb2("--listen", endpoint, "--mount", "/=text:secret"),
                cwd=tmp) as server:
        yield server.port
        assertStoppedCleanly(server.stop())


def exchange(port, alpn):
    """
    One C{GET /} over TLS offering the ALPN protocols C{alpn} (C{None}: no
    ALPN): C{(negotiated protocol, the raw response)}.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn is not None:
        context.set_alpn_protocols(alpn)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return sock.selected_alpn_protocol(), b"".join(chunks)


@pytest.mark.parametrize("offered", [["http/1.1"], ["h2", "http/1.1"], ["http/1.1", "h2"]])
def test_pythonSslOfferingAlpn(tlsPort, offered):
    protocol, response = exchange(tlsPort, offered)
    assert protocol == "http/1.1"
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.endswith(b"\r\n\r\nsecret")


def test_pythonSslWithoutAlpn(tlsPort):
    protocol, response = exchange(tlsPort, None)
    assert protocol is None
    assert response.endswith(b"\r\n\r\nsecret")


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curlWithDefaultOptions(tlsPort):
    """
    curl offers ALPN by default (h2 too, where it is built with HTTP/2);
    only C{-k} for the self-signed certificate.
    """
    result = subprocess.run(
        [CURL, "--silent", "--show-error", "--insecure", "--max-time", "20",
         "--write-out", "\n%{http_code} %{http_version}", f"https://127.0.0.1:{tlsPort}/"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "secret\n200 1.1"


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (apt-get install chromium)")
def test_headlessBrowser(tlsPort):
    """
    Headless Chromium (which offers h2 and http/1.1 by ALPN) loads the page
    over HTTPS; only the self-signed certificate is waved through.
    """
    dom = dumpDOM(f"https://127.0.0.1:{tlsPort}/", "--ignore-certificate-errors")
    assert ">secret</pre>" in dom, dom[-500:]
