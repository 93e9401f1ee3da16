"""
The distributions as a user gets them: build every sdist and wheel, install
C{web2-core[static,wsgi]} into a fresh venv with pip from that directory, and
check what the user sees (the plugins found, the wheel's files, a served
request through C{twistd web2}).

Slow (a build, a venv, a pip install of Twisted from the index), so marked
C{slow}; each step is bounded by a timeout.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DISTS = sorted(
    p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file()
)
INSTALLED = ["core", "static", "wsgi"]
NOT_INSTALLED = ["cgi", "dav", "compat"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def wheelOf(dists: Path, dist: str) -> Path:
    [wheel] = dists.glob(dist.replace("-", "_") + "-*.whl")
    return wheel


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> Path:
    """
    A directory holding the sdist and wheel of every distribution, built from
    the current source by the same script as C{make wheels}.
    """
    pytest.importorskip("build", reason="needs 'build' (tests/requirements.txt)")
    pytest.importorskip("hatchling", reason="needs 'hatchling' (tests/requirements.txt)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, ROOT / "scripts" / "build-dists.py",
         "--python", sys.executable, "--out", out],
        check=True, timeout=300,
    )
    return out


@pytest.fixture(scope="module")
def userVenv(dists, tmp_path_factory) -> Path:
    """
    A fresh venv where C{pip install --find-links DIR 'web2-core[static,wsgi]'}
    ran, exactly as the README tells users.
    """
    venv = tmp_path_factory.mktemp("uservenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q",
         "--find-links", dists, "web2-core[static,wsgi]"],
        check=True, timeout=600, env=env,
    )
    return venv


def test_everyDistributionBuilt(dists):
    """
    Each distribution yields one sdist and one wheel, at its own version.
    """
    for dist in DISTS:
        stem = dist.replace("-", "_")
        assert len(list(dists.glob(f"{stem}-*.tar.gz"))) == 1, dist
        assert wheelOf(dists, dist).is_file()


def test_coreWheelContents(dists):
    """
    The web2-core wheel holds the twistd dropin and its modules directly in the
    namespace, and none of the C{__init__.py} files that would break PEP 420
    sharing of C{web2} and C{twisted.plugins}.
    """
    names = set(zipfile.ZipFile(wheelOf(dists, "web2-core")).namelist())
    assert "twisted/plugins/web2_plugin.py" in names
    assert "web2/iweb.py" in names
    for forbidden in ["web2/__init__.py", "twisted/__init__.py",
                      "twisted/plugins/__init__.py",
                      # Twisted's plugin cache is per installation, never shipped
                      "twisted/plugins/dropin.cache"]:
        assert forbidden not in names
    assert [n for n in names if "__pycache__" in n or n.endswith(".pyc")] == []


def test_coreWheelIsCompiled(dists):
    """
    Built from its sdist (which must therefore carry the build hook), the
    web2-core wheel holds each module of the request path compiled, beside
    its source, and is tagged for this interpreter and platform; the sdist
    holds no compiled file.
    """
    from web2._compiled import COMPILED_MODULES

    wheel = wheelOf(dists, "web2-core")
    assert f"-cp{sys.version_info[0]}{sys.version_info[1]}-" in wheel.name
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in COMPILED_MODULES:
        path = module.replace(".", "/")
        assert path + ".py" in names
        assert [n for n in names if n.startswith(path + ".") and n.endswith(".so")], module
    [sdist] = dists.glob("web2_core-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("/hatch_build.py") for m in members)
    assert [m for m in members if m.endswith((".so", ".c"))] == []


@pytest.mark.parametrize("dist", [d for d in DISTS if d != "web2-core"])
def test_extensionWheelContents(dists, dist):
    """
    An extension's wheel holds only its own subpackage of the namespace.
    """
    sub = dist.removeprefix("web2-")
    names = zipfile.ZipFile(wheelOf(dists, dist)).namelist()
    payload = [n for n in names if ".dist-info/" not in n]
    assert f"web2/{sub}/__init__.py" in payload
    assert [n for n in payload if not n.startswith(f"web2/{sub}/")] == []


def test_installedFromBuiltDists(userVenv, dists):
    """
    The web2 distributions in the user's venv are the ones just built, and
    only the ones asked for.
    """
    out = subprocess.run(
        [userVenv / "bin" / "python", "-m", "pip", "list", "--format=freeze"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.lower()
    installed = set(re.findall(r"^(web2-[a-z]+)==", out.replace("_", "-"), re.M))
    assert installed == {"web2-core", "web2-static", "web2-wsgi"}


def test_listPlugins(userVenv):
    """
    C{python -m web2 --list-plugins} names the installed plugins and none of
    the distributions that were not installed.
    """
    result = subprocess.run(
        [userVenv / "bin" / "python", "-m", "web2", "--list-plugins"],
        capture_output=True, text=True, timeout=60, cwd=userVenv.parent,
    )
    assert result.returncode == 0, result.stderr
    words = set(re.findall(r"[a-z0-9_]+", result.stdout.lower()))
    for name in INSTALLED:
        assert name in words, result.stdout
    for name in NOT_INSTALLED:
        assert name not in words, result.stdout


def test_twistdServesStaticDirectory(userVenv, tmp_path):
    """
    C{twistd -n web2} from the user's venv listens on a port the kernel picks
    on 127.0.0.1 and serves a file from a directory mounted at C{/}.
    """
    public = tmp_path / "public"
    public.mkdir()
    (public / "hello.txt").write_bytes(b"hello from web2\n")
    proc = subprocess.Popen(
        [userVenv / "bin" / "twistd", "-n", "--pidfile=", "web2",
         "--listen", "tcp:0:interface=127.0.0.1", "--mount", f"/=static:{public}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    try:
        port, seen = waitForPort(proc, timeout=30)
        assert port, f"twistd never said which port it listens on:\n{seen}"
        url = f"http://127.0.0.1:{port}/hello.txt"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert response.read() == b"hello from web2\n"
            assert response.headers["Content-Type"].startswith("text/plain")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def waitForPort(proc: subprocess.Popen, timeout: float) -> tuple[int | None, str]:
    """
    Read C{proc}'s log (in a thread that keeps draining it, so the pipe never
    fills) until Twisted's "... starting on PORT" line, the process exits, or
    C{timeout} seconds pass.

    @return: the port (or L{None}) and the log read so far.
    """
    lines: queue.Queue[str | None] = queue.Queue()

    def drain():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        match = re.search(r"starting on (\d+)", line)
        if match:
            return int(match.group(1)), "".join(seen)
    return None, "".join(seen)
