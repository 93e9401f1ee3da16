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
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, fetch, freePort, pythonWeb2  # noqa: E402

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(APACHE).exists() and (MODULES / "mod_proxy_http.so").exists()),
        reason="Apache is not installed (apt-get install apache2)"),
]

CONF = """\
ServerRoot {tmp}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {tmp}/apache2.pid
ErrorLog {tmp}/error.log
LogLevel warn
Mutex file:{tmp} default
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_http_module {modules}/mod_proxy_http.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
ThreadLimit 8
MaxRequestWorkers 8
ProxyPass "/good/" "http://127.0.0.1:{upstream}/"
ProxyPass "/app" "http://127.0.0.1:{upstream}/"
"""


def _userLines() -> str:
    """
    As root, Apache's workers must run as someone else: they only talk to
    web2 over TCP, so any unprivileged user does.
    """
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    for user, group in (("www-data", "www-data"), ("nobody", "nogroup")):
        try:
            pwd.getpwnam(user)
            grp.getgrnam(group)
        except KeyError:
            continue
        return f"User {user}\nGroup {group}"
    pytest.skip("no unprivileged user for Apache's workers")


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
        (tmp / "apache2.conf").write_text(CONF.format(
            tmp=tmp, port=port, upstream=upstream, user=_userLines(), modules=MODULES))
        apache = subprocess.Popen(
            [APACHE, "-d", str(tmp), "-f", str(tmp / "apache2.conf"), "-DFOREGROUND"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    fetch(port, "/nothing-here", timeout=2)
                    break
                except OSError:
                    if apache.poll() is not None or time.monotonic() > deadline:
                        log = tmp / "error.log"
                        raise AssertionError("Apache did not start: " + (
                            log.read_text() if log.exists() else "")) from None
                    time.sleep(0.1)
            yield port, web2
        finally:
            # Apache's workers share its session: stop them all.
            if apache.poll() is None:
                os.killpg(apache.pid, signal.SIGTERM)
                try:
                    apache.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(apache.pid, signal.SIGKILL)
                    apache.wait(15)
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
