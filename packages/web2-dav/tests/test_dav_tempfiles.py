"""
Tests for the server's temporary files: those a crash (C{kill -9} during a
PUT) leaves behind are removed when the tree is opened again, and those
still being written, in this process or another, are not.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import tempfile
import time

import pytest
from _dav_helpers import Client, davFile, makeTree
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from web2.dav import DAVFile
from web2.dav.props import RESERVED_PREFIX
from web2.testing import (
    ChannelConnection,
    ServerProcess,
    freePort,
    inThread,
    pythonWeb2,
)

ORPHAN = RESERVED_PREFIX + "tmp-0123456789abcdef"


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def _temps(tree):
    return sorted(
        os.path.relpath(os.path.join(d, n), tree)
        for d, _, files in os.walk(tree) for n in files if n.startswith(RESERVED_PREFIX + "tmp-")
    )


def _messages(events):
    return [formatEvent(e) for e in events if "temporary" in formatEvent(e)]


def test_openingRemovesOrphans(tmp_path, logged):
    """
    Opening a tree removes the temporary files anywhere in it, and only
    those (the sidecars and the users' files stay); one line says how many.
    """
    makeTree(tmp_path, {
        ORPHAN: b"x" * 1000,
        "a.txt": b"a",
        ".web2dav-props.json": b"{}",
        "sub": {"deeper": {ORPHAN: b"half an upload", "c.txt": b"c"}},
        ".hidden": {ORPHAN: b""},
    })
    DAVFile(str(tmp_path))
    assert _temps(tmp_path) == []
    assert (tmp_path / "a.txt").read_bytes() == b"a"
    assert (tmp_path / ".web2dav-props.json").exists()
    assert (tmp_path / "sub" / "deeper" / "c.txt").exists()
    messages = _messages(logged)
    assert len(messages) == 1 and "removed 3 temporary file" in messages[0], messages


def test_nothingToRemoveLogsNothing(tmp_path, logged):
    makeTree(tmp_path, {"a.txt": b"a"})
    DAVFile(str(tmp_path))
    assert _messages(logged) == []


def test_fileBeingWrittenIsKept(tmp_path):
    """
    A temporary file some writer holds (locked with flock, as PUT and the
    property store hold theirs) is not an orphan, whichever process it is.
    """
    path = tmp_path / ORPHAN
    path.write_bytes(b"being written")
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        DAVFile(str(tmp_path))
        assert path.exists()
    finally:
        os.close(fd)
    DAVFile(str(tmp_path))
    assert not path.exists()


def test_linksAreNotFollowed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    makeTree(outside, {ORPHAN: b"not ours"})
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink(outside, tree / "link")
    os.symlink(outside / ORPHAN, tree / (RESERVED_PREFIX + "tmp-link"))
    DAVFile(str(tree))
    assert (outside / ORPHAN).exists()


def test_readOnlyTreeIsNotTouched(tmp_path):
    makeTree(tmp_path, {ORPHAN: b"x"})
    DAVFile(str(tmp_path), readOnly=True)
    assert (tmp_path / ORPHAN).exists()


def test_scanIsBounded(tmp_path, logged):
    """
    The scan examines at most C{orphanScanLimit} entries and says when it
    stopped early; 0 turns it off.
    """
    makeTree(tmp_path, {f"d{i:02}": {ORPHAN: b"x", "f": b"y"} for i in range(30)})
    DAVFile(str(tmp_path), orphanScanLimit=0)
    assert len(_temps(tmp_path)) == 30
    assert _messages(logged) == []
    DAVFile(str(tmp_path), orphanScanLimit=40)
    left = len(_temps(tmp_path))
    assert 20 <= left < 30
    messages = _messages(logged)
    assert any("stopped after 40 entries" in m for m in messages), messages
    DAVFile(str(tmp_path))
    assert _temps(tmp_path) == []


def test_putInProgressSurvivesOpening(tmp_path):
    """
    Opening the same tree again (a second mount, an application making a
    DAVFile late) while a PUT is being received leaves that PUT alone.
    """
    resource = davFile(tmp_path)
    client = Client(resource)
    conn = ChannelConnection(site=client.site, clock=client.clock)
    conn.send(b"PUT /dav/up.bin HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\n12345")
    assert len(_temps(tmp_path)) == 1
    DAVFile(str(tmp_path))
    assert len(_temps(tmp_path)) == 1
    conn.send(b"67890")
    conn.pump()
    [response] = conn.responses()
    assert response.status == 201
    assert (tmp_path / "up.bin").read_bytes() == b"1234567890"
    assert _temps(tmp_path) == []


def test_sidecarWritesLeaveNoTemporaryFile(tmp_path):
    from _dav_helpers import proppatchBody

    makeTree(tmp_path, {"a.txt": b"a"})
    client = Client(davFile(tmp_path))
    r = client.request("PROPPATCH", "/a.txt", proppatchBody(['<x:p xmlns:x="urn:x">v</x:p>']))
    assert r.status == 207
    assert _temps(tmp_path) == []


# kill -9 during a PUT, for real


def _startPut(port, size, sent):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"PUT /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Length: %d\r\n\r\n" % size)
    sock.sendall(b"x" * sent)
    return sock


def _waitFor(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class CrashTests(TestCase):
    timeout = 120

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def _server(self):
        port = freePort()
        server = ServerProcess(pythonWeb2(
            "--dav", self.tmp, "--listen", f"tcp:{port}:interface=127.0.0.1",
            "--access-log", "off"))
        self.addCleanup(server.kill)
        server.waitForPort(port)
        return server, port

    def _crashDuringPut(self):
        server, port = self._server()
        sent = 3 * 1024 * 1024
        sock = _startPut(port, 10 * sent, sent)
        try:
            # The server writes the body to its temporary file in 1 MiB
            # batches: wait (bounded) until some of it is on disk.
            written = _waitFor(lambda: any(
                os.path.getsize(os.path.join(self.tmp, n)) >= 1024 * 1024
                for n in _temps(self.tmp)))
            self.assertTrue(written, server.output)
            server.process.kill()
            server.process.wait(30)
        finally:
            sock.close()
        self.assertEqual(len(_temps(self.tmp)), 1)

    async def test_crashedUploadIsRemovedAtRestart(self):
        """
        C{kill -9} during a PUT leaves its temporary file; the next server
        on the tree removes it before serving, and says so.
        """
        await inThread(self._crashDuringPut)
        server, port = await inThread(self._server)
        self.assertEqual(_temps(self.tmp), [])
        # The output is read by a thread: wait for the line (bounded).
        self.assertTrue(server.waitForOutput("removed 1 temporary file", timeout=30),
                        server.output)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "big.bin")))
        await inThread(server.stop)


def test_temporaryNamesAreReserved():
    from web2.dav import _temp
    from web2.dav.props import isReserved

    assert isReserved(_temp.tempName()) and _temp.tempName().startswith(_temp.TEMP_PREFIX)
    assert _temp.tempName() != _temp.tempName()
