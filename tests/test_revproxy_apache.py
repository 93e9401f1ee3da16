"""
web2 as a reverse proxy, started from a site file (the mount's option
table), in front of a real Apache (Debian package C{apache2}) serving files
and of a second web2 process: files, statuses and upstream headers come
back through it, and the table's options take effect.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from _interop import apacheConfig, apacheHas, apacheUser, startApache, stop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, fetch, freePort, pythonWeb2  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not apacheHas("headers"),
                       reason="Apache is not installed (apt-get install apache2)"),
]

FILES = """\
LogFormat "%{{Forwarded}}i|%{{Host}}i|%U" seen
CustomLog {tmp}/access.log seen
DocumentRoot {tmp}/www
<Directory {tmp}/www>
    Require all granted
</Directory>
Header set X-Served-By apache
"""

SITE = """\
listen = ["tcp:0:interface=127.0.0.1"]

[mounts]
"/" = "text:front page"

[mounts."/files"]
kind = "proxy"
argument = "http://127.0.0.1:{apache}/static/"
forwarded = "forwarded"
preserve-host = true
response-timeout = 10.0

[mounts."/web2"]
kind = "proxy"
argument = "http://127.0.0.1:{web2}/"
"""


@pytest.fixture(scope="module")
def site():
    # Not under pytest's own temporary directory: Apache's workers run as
    # another user and must reach the files.
    tmp = Path(tempfile.mkdtemp())
    os.chmod(tmp, 0o755)
    (tmp / "www" / "static").mkdir(parents=True)
    big = os.urandom(2 * 1024 * 1024)
    (tmp / "www" / "static" / "big.bin").write_bytes(big)
    (tmp / "www" / "static" / "a.txt").write_text("file a\n")
    port = freePort()
    try:
        apache = startApache(tmp, apacheConfig(tmp, [port], ["headers"], FILES.format(tmp=tmp),
                                               user=apacheUser()), [port])
        try:
            with Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1",
                                   "--mount", "/=text:the second web2")) as upstream:
                (tmp / "site.toml").write_text(SITE.format(apache=port, web2=upstream.port))
                with Server(pythonWeb2("--config", str(tmp / "site.toml"))) as proxy:
                    (_, proxyPort, _), = proxy.waitForListeners(1)
                    yield proxyPort, big, tmp
                    result = proxy.stop()
                    assert "Traceback" not in result.output, result.output
        finally:
            stop(apache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_filesFromApache(site):
    port, big, tmp = site
    status, headers, body = fetch(port, "/files/big.bin")
    assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert headers["x-served-by"] == "apache"
    assert fetch(port, "/files/a.txt")[::2] == (200, b"file a\n")
    assert fetch(port, "/files/missing.txt")[0] == 404


def test_siteFileOptions(site):
    """
    The table's C{forwarded = "forwarded"} and C{preserve-host = true}
    reach Apache (its log shows the Forwarded field and the client's Host).
    """
    port, _, tmp = site
    fetch(port, "/files/a.txt?options", headers={"Host": "public.example"})
    wanted = 'for=127.0.0.1;proto=http;host=\\"public.example\\"|public.example|/static/a.txt'
    # Apache logs a request after its answer has gone: wait (boundedly).
    deadline = time.monotonic() + 30
    while True:
        lines = (tmp / "access.log").read_text().splitlines()
        if wanted in lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # (Apache's log escapes the quotes.)
    assert wanted in lines


def test_secondWeb2AndOwnPage(site):
    port, _, _ = site
    assert fetch(port, "/web2/anything")[::2] == (200, b"the second web2")
    assert fetch(port, "/")[::2] == (200, b"front page")
