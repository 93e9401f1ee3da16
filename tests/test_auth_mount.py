"""
A mount guarded by a password file, for real: C{python -m web2} started
from a site file whose mounts have C{auth} tables (Basic with an htpasswd
file, Digest with an htdigest file), and C{twistd web2 --auth}; the clients
are curl (C{--basic}, C{--digest}) and Python's C{urllib} with
C{HTTPBasicAuthHandler} / C{HTTPDigestAuthHandler}.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import (  # noqa: E402
    Server,
    assertStoppedCleanly,
    fetch,
    pythonWeb2,
    runToEnd,
    twistdWeb2,
)

from web2._htpasswd import apr1  # noqa: E402

LOCAL = "tcp:0:interface=127.0.0.1"
CURL = shutil.which("curl")
HTPASSWD = shutil.which("htpasswd")
needsCurl = pytest.mark.skipif(CURL is None, reason="curl is absent")


def _htpasswd(path, users):
    """
    Write an htpasswd file: with C{htpasswd} itself when it is installed
    (bcrypt when the bcrypt extra is there, else MD5), else MD5 hashes of
    our own.
    """
    lines = []
    for user, password in users.items():
        if HTPASSWD:
            flag = "-nbB" if _hasBcrypt() else "-nbm"
            extra = ["-C", "4"] if _hasBcrypt() else []
            lines.append(subprocess.run([HTPASSWD, flag, *extra, user, password],
                                        capture_output=True, text=True,
                                        check=True).stdout.strip())
        else:
            lines.append(f"{user}:{apr1(password.encode(), b'Zx9Yw8Vu').decode()}")
    path.write_text("\n".join(lines) + "\n")


def _hasBcrypt():
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def site(tmp_path):
    """
    A site directory: public files, private files behind Basic, a Digest
    mount, and the site file describing them.
    """
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("<p>welcome</p>\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "plan.txt").write_text("the secret plan\n")
    _htpasswd(tmp_path / "users.htpasswd", {"alice": "wonder land", "bob": "builder"})
    ha1 = hashlib.md5(b"dave:Staff area:diver").hexdigest()
    (tmp_path / "users.htdigest").write_text(f"dave:Staff area:{ha1}\n")
    (tmp_path / "site.toml").write_text(textwrap.dedent(f"""
        listen = ["{LOCAL}"]
        [mounts]
        "/" = "static:public"
        [mounts."/private"]
        kind = "static"
        argument = "private"
        auth = {{ type = "basic", realm = "Private files", htpasswd = "users.htpasswd" }}
        [mounts."/staff"]
        kind = "text"
        argument = "staff only"
        auth = {{ type = "digest", realm = "Staff area", htdigest = "users.htdigest" }}
    """))
    return tmp_path


@pytest.fixture
def server(site):
    pytest.importorskip("web2.static")
    with Server(pythonWeb2("--config", "site.toml"), cwd=site) as server:
        server.waitForListeners()
        yield server
        result = server.stop()
    assertStoppedCleanly(result)


def curl(*args):
    done = subprocess.run([CURL, "-s", "-S", "--max-time", "30", *args],
                          capture_output=True, text=True, timeout=60)
    return done.stdout


@needsCurl
def test_curlBasic(server):
    url = f"http://127.0.0.1:{server.port}"
    assert curl("-o", "/dev/null", "-w", "%{http_code}", url + "/private/plan.txt") == "401"
    head = curl("-D", "-", "-o", "/dev/null", url + "/private/plan.txt")
    assert 'WWW-Authenticate: Basic realm="Private files", charset="UTF-8"' in head
    assert curl("--basic", "-u", "alice:wonder land", url + "/private/plan.txt") == \
        "the secret plan\n"
    assert curl("--basic", "-u", "bob:builder", url + "/private/plan.txt") == \
        "the secret plan\n"
    for credentials in ("alice:wrong", "mallory:builder", "bob:"):
        assert curl("--basic", "-u", credentials, "-o", "/dev/null", "-w", "%{http_code}",
                    url + "/private/plan.txt") == "401", credentials
    assert curl(url + "/") == "<p>welcome</p>\n"  # the rest of the site is open
    # The output is read by a thread: wait for the line (bounded).
    assert server.waitForOutput("Login refused for 'mallory' (no such user", timeout=30), \
        server.output


@needsCurl
def test_curlDigest(server):
    url = f"http://127.0.0.1:{server.port}/staff"
    head = curl("-D", "-", "-o", "/dev/null", url)
    assert 'WWW-Authenticate: Digest realm="Staff area", qop="auth", algorithm=MD5' in head
    assert curl("--digest", "-u", "dave:diver", url) == "staff only"
    assert curl("--digest", "-u", "dave:wrong", "-o", "/dev/null", "-w", "%{http_code}",
                url) == "401"


def _urlopen(url, handler):
    opener = urllib.request.build_opener(handler)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_urllibBasicAndDigest(server):
    base = f"http://127.0.0.1:{server.port}"
    passwords = urllib.request.HTTPPasswordMgr()
    passwords.add_password("Private files", base + "/private/", "alice", "wonder land")
    passwords.add_password("Staff area", base + "/staff", "dave", "diver")
    assert _urlopen(base + "/private/plan.txt", urllib.request.HTTPBasicAuthHandler(
        passwords)) == (200, b"the secret plan\n")
    assert _urlopen(base + "/staff", urllib.request.HTTPDigestAuthHandler(
        passwords)) == (200, b"staff only")
    wrong = urllib.request.HTTPPasswordMgr()
    wrong.add_password("Private files", base + "/private/", "alice", "nope")
    assert _urlopen(base + "/private/plan.txt",
                    urllib.request.HTTPBasicAuthHandler(wrong))[0] == 401


def test_passwordFileReRead(site, server):
    """
    A changed htpasswd file is read again without a restart: a new user
    gets in, a removed one no longer does.
    """
    port = server.port
    path = site / "users.htpasswd"
    before = path.stat().st_mtime_ns
    _htpasswd(path, {"carol": "new one"})
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))
    auth = {"Authorization": "Basic " + base64.b64encode(b"carol:new one").decode()}
    deadline = time.monotonic() + 30
    while fetch(port, "/private/plan.txt", headers=auth)[0] != 200:
        assert time.monotonic() < deadline, server.output
        time.sleep(0.3)
    old = {"Authorization": "Basic " + base64.b64encode(b"alice:wonder land").decode()}
    assert fetch(port, "/private/plan.txt", headers=old)[0] == 401
    assert server.waitForOutput("Re-read the htpasswd file", timeout=30), server.output


def test_twistdCommandLineAuth(site):
    """
    C{--auth PATH=basic:REALM:FILE} guards a command-line mount.
    """
    with Server(twistdWeb2("--listen", LOCAL, "--mount", "/=text:open",
                           "--mount", "/p=text:closed",
                           "--auth", f"/p=basic:Command line:{site / 'users.htpasswd'}"),
                cwd=site) as server:
        port = server.port
        status, headers, _ = fetch(port, "/p")
        assert status == 401
        assert headers["www-authenticate"] == 'Basic realm="Command line", charset="UTF-8"'
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, f"http://127.0.0.1:{port}/", "bob", "builder")
        assert _urlopen(f"http://127.0.0.1:{port}/p", urllib.request.HTTPBasicAuthHandler(
            passwords)) == (200, b"closed")
        assert fetch(port, "/")[2] == b"open"
        result = server.stop()
    assertStoppedCleanly(result)


@pytest.mark.parametrize("content, message", [
    (None, "cannot read the htpasswd file '{path}': No such file or directory"),
    ("alice:hunter2\n", "{path}:1: user 'alice' has a plain-text password or an unknown "
                        "hash, which web2 refuses"),
    ("alice:uwtjj4ogPe1QI\n", "{path}:1: user 'alice' has a DES crypt() hash"),
])
def test_startupErrors(tmp_path, content, message):
    """
    A password file that is missing or holds a password web2 refuses
    stops the server at startup with one line saying so.
    """
    path = tmp_path / "users.htpasswd"
    if content is not None:
        path.write_text(content)
    result = runToEnd(pythonWeb2("--listen", LOCAL, "--mount", "/p=text:x",
                                 "--auth", f"/p=basic:R:{path}"))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"web2: error: --auth /p=basic:R:{path}: "
                           + message.format(path=path)), result.output
    assert "Traceback" not in result.output
