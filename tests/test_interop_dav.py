"""
Real WebDAV clients against web2-dav (C{python -m web2 --mount /dav=dav:DIR}):

  - rclone (its C{webdav} backend): C{sync} of a tree of 200 files whose
    names have non-ASCII letters and C{#}, C{%}, C{?}, spaces and
    C{+}, up to the server and back down, compared byte for byte (and the
    server's directory compared with the tree); C{check --download};
    C{moveto}; C{purge};
  - cadaver, driven through its standard input: C{put}, C{lock} (and a
    second client refused with 423 while the lock is held), C{propset},
    C{propget}, C{propnames}, C{copy}, C{move}, C{mkcol}, C{ls}, C{get},
    C{unlock}, C{rm}.

Each is skipped (with the reason) only when its Debian package is absent;
CI's C{.ci/run} installs both.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from _interop import program, publicTempDir
from _launch_helpers import Server, pythonWeb2

pytestmark = pytest.mark.slow

RCLONE = program("rclone")
CADAVER = program("cadaver")

#: Names of the tree's directories and files: what trips URL handling.
NAMES = ["plain", "héllo wörld", "a#b", "50% off", "why?", "日本語", "sp ace", "a+b=c",
         "semi;colon", "it's", "[brackets]", "~tilde", "emoji-🎉", "café-crème", "x&y"]


def makeTree(base: Path, count=200) -> dict:
    """
    C{count} files in a few nested directories, named from L{NAMES}, of
    seeded random content (a few empty, most small, one of 2 MiB).

    @return: the relative paths and their contents.
    """
    rng = random.Random(19)
    dirs = [Path(""), Path(NAMES[1]), Path(NAMES[2]) / NAMES[3], Path(NAMES[4]),
            Path(NAMES[5]) / NAMES[6] / NAMES[7]]
    files = {}
    for i in range(count):
        name = f"{NAMES[i % len(NAMES)]} {i}.bin" if i % 3 else f"{i}-{NAMES[i % len(NAMES)]}"
        size = 0 if i % 50 == 7 else (2 * 1024 * 1024 if i == 100 else rng.randrange(1, 40000))
        path = dirs[i % len(dirs)] / name
        files[path] = rng.randbytes(size)
    for path, data in files.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_bytes(data)
    return files


def treeContents(base: Path) -> dict:
    """
    The relative paths of the files under C{base} and their contents,
    leaving out web2-dav's own C{.web2dav-*} files.
    """
    return {path.relative_to(base): path.read_bytes()
            for path in base.rglob("*")
            if path.is_file() and not any(p.startswith(".web2dav-") for p in path.parts)}


@pytest.fixture(scope="module")
def dav(request):
    """
    web2-dav serving an empty directory at C{/dav}: C{(port, directory,
    server)}.
    """
    tmp = publicTempDir("web2-interop-dav-")
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    root = tmp / "root"
    root.mkdir()
    server = Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1",
                               "--mount", f"/dav=dav:{root}"),
                    cwd=str(tmp))
    with server:
        yield server.port, root, server
        result = server.stop()
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output, result.output


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# rclone


@pytest.fixture()
def rclone(dav, tmp_path):
    if RCLONE is None:
        pytest.skip("rclone is not installed (apt-get install rclone)")
    port = dav[0]
    (tmp_path / "rclone.conf").write_text("")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
           "RCLONE_CONFIG_W2_TYPE": "webdav", "RCLONE_CONFIG_W2_VENDOR": "other",
           "RCLONE_CONFIG_W2_URL": f"http://127.0.0.1:{port}/dav/"}

    def run(*args, check=True):
        result = subprocess.run([RCLONE, "--retries", "1", "--low-level-retries", "1",
                                 "--contimeout", "20s", "--timeout", "60s", *args],
                                env=env, capture_output=True, text=True, timeout=240,
                                stdin=subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, f"rclone {' '.join(args)}:\n{result.stderr[-4000:]}"
        return result

    return run


def test_rcloneSyncUpAndBack(dav, rclone, tmp_path):
    """
    A tree synced up to web2-dav and back down is the same, byte for byte,
    and so is web2-dav's directory; C{rclone check --download} finds no
    difference; a second sync after changes sends only the changes.
    """
    _, root, _ = dav
    local = tmp_path / "local"
    files = makeTree(local)
    assert len(files) == 200
    rclone("sync", str(local), "w2:tree")
    assert treeContents(root / "tree") == files
    back = tmp_path / "back"
    rclone("sync", "w2:tree", str(back))
    assert treeContents(back) == files
    result = rclone("check", "--download", str(local), "w2:tree")
    assert "0 differences found" in result.stderr
    assert "200 matching files" in result.stderr

    # Change, add and delete a file; the next sync makes the server match.
    changed = next(p for p in files if "#" in str(p))
    (local / changed).write_bytes(b"changed " * 1000)
    deleted = next(p for p in files if "?" in str(p))
    (local / deleted).unlink()
    (local / NAMES[5] / "new 100%.txt").write_bytes(b"new")
    rclone("sync", str(local), "w2:tree")
    assert treeContents(root / "tree") == treeContents(local)
    result = rclone("check", "--download", str(local), "w2:tree", check=False)
    assert result.returncode == 0 and "0 differences found" in result.stderr, result.stderr


def test_rcloneMovetoAndPurge(dav, rclone, tmp_path):
    _, root, _ = dav
    local = tmp_path / "local"
    local.mkdir()
    data = os.urandom(50000)
    (local / "a#b?c%d.bin").write_bytes(data)
    rclone("copy", str(local), "w2:moving")
    rclone("moveto", "w2:moving/a#b?c%d.bin", "w2:moved/é #2/ü?.bin")
    assert not (root / "moving" / "a#b?c%d.bin").exists()
    assert (root / "moved" / "é #2" / "ü?.bin").read_bytes() == data
    result = rclone("lsf", "-R", "w2:moved")
    assert result.stdout.splitlines() == ["é #2/", "é #2/ü?.bin"]
    rclone("purge", "w2:moved")
    assert not (root / "moved").exists()
    result = rclone("lsf", "w2:moved", check=False)
    assert result.returncode != 0
    assert "directory not found" in result.stderr


# ---------------------------------------------------------------------------
# cadaver


def cadaverRun(port, commands, home, timeout=60):
    """
    Run cadaver on C{/dav/} with C{commands} on its standard input.

    @return: its output.
    """
    result = subprocess.run(
        [CADAVER, f"http://127.0.0.1:{port}/dav/"], input="\n".join(commands + ["quit"]) + "\n",
        capture_output=True, text=True, timeout=timeout, cwd=str(home),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture()
def cadaverHome(tmp_path):
    if CADAVER is None:
        pytest.skip("cadaver is not installed (apt-get install cadaver)")
    return tmp_path


def test_cadaverCommands(dav, cadaverHome):
    port, root, _ = dav
    (cadaverHome / "local.txt").write_bytes(b"from cadaver\n")
    output = cadaverRun(port, [
        "mkcol cad", "cd cad", "put local.txt f.txt", "lock f.txt", "showlocks",
        "propset f.txt colour red", "propget f.txt colour", "propnames f.txt",
        "put local.txt f.txt", "unlock f.txt", "copy f.txt g.txt", "move g.txt h.txt",
        "ls", "get h.txt back.txt", "rm f.txt"], cadaverHome)
    for what in ("Creating `cad': succeeded.", "Uploading local.txt to `/dav/cad/f.txt':",
                 "Locking `f.txt': succeeded.", "Scope: exclusive  Type: write",
                 "Setting property on `f.txt': succeeded.", "Value of colour is: red",
                 "custom-properties/ colour", "Unlocking `f.txt': succeeded.",
                 "Copying `/dav/cad/f.txt' to `/dav/cad/g.txt':  succeeded.",
                 "Moving `/dav/cad/g.txt' to `/dav/cad/h.txt':  succeeded.",
                 "Deleting `f.txt': succeeded."):
        assert what in output, output
    assert "failed" not in output, output
    assert output.count("succeeded") >= 12, output
    assert (cadaverHome / "back.txt").read_bytes() == b"from cadaver\n"
    assert sorted(p.name for p in (root / "cad").iterdir()
                  if not p.name.startswith(".web2dav-")) == ["h.txt"]
    assert (root / "cad" / "h.txt").read_bytes() == b"from cadaver\n"
    # The dead property moved with the copy: PROPFIND from another client.
    status, body = request(port, "PROPFIND", "/dav/cad/h.txt",
                           b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop>'
                           b'<colour xmlns="http://webdav.org/cadaver/custom-properties/"/>'
                           b"</prop></propfind>", {"Depth": "0"})
    assert status == 207 and b">red</" in body, body


LOCKDISCOVERY = (b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><lockdiscovery/>'
                 b"</prop></propfind>")


def test_cadaverLockHoldsOffOtherClients(dav, cadaverHome):
    """
    While cadaver holds a lock, another client's PUT gets 423; after
    cadaver's C{unlock} it succeeds.
    """
    port, root, _ = dav
    (root / "l.txt").write_bytes(b"locked by cadaver\n")
    process = subprocess.Popen(
        [CADAVER, f"http://127.0.0.1:{port}/dav/"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(cadaverHome),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cadaverHome)})
    try:
        process.stdin.write("lock l.txt\n")
        process.stdin.flush()
        deadline = time.monotonic() + 30
        while b"locktoken" not in request(port, "PROPFIND", "/dav/l.txt", LOCKDISCOVERY,
                                          {"Depth": "0"})[1]:
            assert time.monotonic() < deadline, "cadaver's lock never showed"
            time.sleep(0.1)
        assert request(port, "PUT", "/dav/l.txt", b"intruder")[0] == 423
        assert request(port, "DELETE", "/dav/l.txt")[0] == 423
        process.stdin.write("unlock l.txt\nquit\n")
        process.stdin.flush()
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert "Unlocking `l.txt': succeeded." in output, output
    assert (root / "l.txt").read_bytes() == b"locked by cadaver\n"
    assert request(port, "PUT", "/dav/l.txt", b"now mine")[0] == 204
    assert (root / "l.txt").read_bytes() == b"now mine"
