"""
web2 behind a real Apache reverse proxy (Debian package C{apache2},
C{mod_proxy_http}) on loopback, serving static files: with matching
trailing slashes (C{ProxyPass "/good/" "http://web2/"}) the files answer;
with the mismatch users write (C{ProxyPass "/app" "http://web2/"}) Apache
sends C{/app/a.txt} as C{//a.txt}, which web2 does not merge into
C{/a.txt} and answers 404, as docs/deployment.rst ("Behind nginx or
Apache") documents and explains.

Skipped, with the reason, only when Apache is not installed (CI's
C{.ci/run} installs it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from _interop import apacheConfig, apacheHas, apacheUser, startApache, stop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, fetch, freePort, pythonWeb2  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not apacheHas("proxy", "proxy_http"),
                       reason="Apache is not installed (apt-get install apache2)"),
]

PROXY = """\
ProxyPass "/good/" "http://127.0.0.1:{upstream}/"
ProxyPass "/app" "http://127.0.0.1:{upstream}/"
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """
    web2 serving a directory, and Apache in front of it: Apache's port.
    """
    tmp = tmp_path_factory.mktemp("apache")
    os.chmod(tmp, 0o755)
    public = tmp / "public"
    (public / "sub").mkdir(parents=True)
    (public / "a.txt").write_text("file a\n")
    (public / "sub" / "b.txt").write_text("file b\n")
    web2 = Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1",
                             "--mount", f"/=static:{public}"))
    with web2:
        upstream = web2.port
        port = freePort()
        config = apacheConfig(tmp, [port], ["proxy", "proxy_http"],
                              PROXY.format(upstream=upstream), user=apacheUser())
        apache = startApache(tmp, config, [port])
        try:
            yield port, web2
        finally:
            stop(apache)
        web2.stop()


def test_matchingSlashes(proxied):
    port, _ = proxied
    assert fetch(port, "/good/a.txt")[::2] == (200, b"file a\n")
    assert fetch(port, "/good/sub/b.txt")[::2] == (200, b"file b\n")


def test_mismatchedSlashIsNotMerged(proxied):
    """
    C{ProxyPass "/app" "http://web2/"} replaces C{/app} with C{/}: the
    file's URL arrives as C{//a.txt}, which names no file in web2.
    """
    port, web2 = proxied
    assert fetch(port, "/app/a.txt")[0] == 404
    assert fetch(port, "/app/sub/b.txt")[0] == 404
    assert web2.waitForOutput('"GET //a.txt HTTP/1.1" 404')
