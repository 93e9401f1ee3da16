"""
Files over TLS are read off the reactor thread (issue #17): C{sendfile}
cannot be used under TLS, so a response file's bytes pass through Python;
a read that blocks (a slow disk, here a file whose read waits for the test)
must not stop the other connections.  A real server with an C{ssl:}
listener, real TLS clients; web2-static's files arrive whole.
"""

import hashlib
import http.client
import os
import threading

import pytest
from _tls import selfSigned

from web2.testing import ServerProcess, assertNoTraceback, fetch, pythonWeb2

#: C{/blocking}: a file body whose first read waits until the test creates
#: the file named by C{$READ_RELEASE} (bounded at 60 s), after writing the
#: reading thread's name to C{$READ_MARK}.
SITE = '''
import os, pathlib, threading, time
from web2 import http, resource, stream

class BlockingFile(stream.FileStream):
    def _readAt(self, size, offset):
        pathlib.Path(os.environ["READ_MARK"]).write_text(threading.current_thread().name)
        release = pathlib.Path(os.environ["READ_RELEASE"])
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return super()._readAt(size, offset)

class Blocking(resource.Resource):
    addSlash = False
    def render(self, request):
        f = open(os.environ["READ_FILE"], "rb")
        return http.Response(200, {}, BlockingFile(f, closeFile=True))
'''


def _serverProcess(tmp_path, *extra):
    key, cert = selfSigned(tmp_path)
    (tmp_path / "blockingsite.py").write_text(SITE)
    (tmp_path / "www").mkdir()
    big = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "www" / "big.bin").write_bytes(big)
    (tmp_path / "data.bin").write_bytes(b"slow disk " * 10000)
    env = dict(os.environ, READ_MARK=str(tmp_path / "mark"),
               READ_RELEASE=str(tmp_path / "release"),
               READ_FILE=str(tmp_path / "data.bin"))
    command = pythonWeb2(
        "--listen", f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        "--python-path", str(tmp_path),
        "--mount", "/blocking=class:blockingsite.Blocking",
        "--mount", "/fast=text:ok", "--mount", "/static=static:" + str(tmp_path / "www"),
        *extra)
    running = ServerProcess(command, cwd=tmp_path, env=env)
    running.big = big
    return running


@pytest.fixture
def server(tmp_path):
    with _serverProcess(tmp_path) as running:
        yield running
        result = running.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)


def test_blockedReadLeavesOthersServed(server, tmp_path):
    """
    While one TLS response's file read is blocked, another TLS client is
    answered (before the read is let go: the reactor is free); then the
    blocked response arrives whole.  The read ran in web2's file-read
    threads.
    """
    port = server.port
    blocked = []
    client = threading.Thread(
        target=lambda: blocked.append(fetch(port, "/blocking", tls=True, timeout=90)))
    client.start()
    mark = tmp_path / "mark"
    for _ in range(3000):
        if mark.exists() and mark.read_text():
            break
        client.join(0.01)
    assert mark.exists(), "the blocking read never started"
    try:
        # The reactor is not waiting for the read: this is answered now
        # (its timeout only bounds the hang a blocked reactor would cause).
        status, _, body = fetch(port, "/fast", tls=True, timeout=20)
        assert (status, body) == (200, b"ok")
        assert not blocked
    finally:
        (tmp_path / "release").write_text("")
        client.join(90)
    assert blocked and blocked[0][0] == 200
    assert blocked[0][2] == b"slow disk " * 10000
    assert "web2-file-read" in mark.read_text()


def test_staticFilesWholeOverTLS(server):
    """
    web2-static's files reach TLS clients whole, several at once (each read
    in the threads, chunk by chunk, paced by its client).
    """
    port = server.port
    answers = []
    clients = [threading.Thread(
        target=lambda: answers.append(fetch(port, "/static/big.bin", tls=True, timeout=90)))
        for _ in range(4)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(120)
    want = hashlib.sha256(server.big).hexdigest()
    assert [(a[0], hashlib.sha256(a[2]).hexdigest()) for a in answers] == [(200, want)] * 4


def test_stopWithAReadStuck(tmp_path):
    """
    SIGTERM while a file read is stuck (a disk that never answers): the
    server still stops, after its drain (C{--shutdown-timeout 1}), with
    status 0; the stuck thread does not hold the process.
    """
    with _serverProcess(tmp_path, "--shutdown-timeout", "1") as server:
        port = server.port
        outcome = []

        def ask():
            try:
                outcome.append(fetch(port, "/blocking", tls=True, timeout=90))
            except (OSError, http.client.HTTPException) as e:
                outcome.append(e)

        stuck = threading.Thread(target=ask, daemon=True)
        stuck.start()
        mark = tmp_path / "mark"
        for _ in range(3000):
            if mark.exists() and mark.read_text():
                break
            stuck.join(0.01)
        assert mark.exists(), "the blocking read never started"
        try:
            result = server.stop(timeout=30)
        finally:
            (tmp_path / "release").write_text("")
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)
    stuck.join(30)
    # Its response was cut by the drain: the client saw the connection end.
    assert len(outcome) == 1 and isinstance(outcome[0], Exception), outcome
