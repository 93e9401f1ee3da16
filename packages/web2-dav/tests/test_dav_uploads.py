"""
Tests for the cap on PUT bodies (C{maxUploadSize}, the mount option
C{max-upload-size}, C{--dav-max-upload-size}): a declared length over the
cap is refused before anything is written; a chunked body that passes it
is cut off with 413, its temporary file removed and the connection
closed.  Real servers are in C{TestCase}s at the end.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import tempfile

import pytest
from _dav_helpers import Client, davFile
from twisted.trial.unittest import TestCase

from web2.dav import DAVFile, _temp, plugin
from web2.dav.props import RESERVED_PREFIX
from web2.testing import (
    ChannelConnection,
    ServerProcess,
    freePort,
    inThread,
    parseResponses,
    pythonWeb2,
)

GiB = 1024 ** 3


def _temps(tree):
    return [n for _, _, files in os.walk(tree) for n in files
            if n.startswith(RESERVED_PREFIX + "tmp-")]


@pytest.fixture
def created(monkeypatch):
    """
    The temporary files created (by path), whether or not they remain.
    """
    made = []
    original = _temp.createTemp

    def recording(directory, *args):
        path, fd = original(directory, *args)
        made.append(path)
        return path, fd

    monkeypatch.setattr(_temp, "createTemp", recording)
    return made


def test_defaultCapIsOneGiB(tmp_path, created):
    """
    By default a PUT may be up to 1 GiB; one that declares more gets 413
    at once, before a byte of its body is read or a file made.
    """
    dav = davFile(tmp_path)
    assert dav._dav.maxUploadSize == GiB
    conn = ChannelConnection(site=Client(dav).site)
    conn.send(b"PUT /dav/huge HTTP/1.1\r\nHost: example.com\r\n"
              b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (GiB + 1))
    conn.pump()
    [response] = conn.responses()
    assert response.status == 413
    assert created == [] and not (tmp_path / "huge").exists()


def test_declaredLengthOverCapWritesNothing(tmp_path, created):
    client = Client(davFile(tmp_path, maxUploadSize=10))
    assert client.request("PUT", "/big", b"x" * 11).status == 413
    assert created == []
    assert client.request("PUT", "/ok", b"x" * 10).status == 201
    assert (tmp_path / "ok").read_bytes() == b"x" * 10


def _chunked(*chunks, end=True):
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    head = b"PUT /dav/big HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + body + (b"0\r\n\r\n" if end else b"")


def test_chunkedBodyPastCapIsCutOff(tmp_path, created):
    """
    A chunked PUT that passes the cap gets 413 with C{Connection: close}
    and the connection is closed; what was written is removed.
    """
    client = Client(davFile(tmp_path, maxUploadSize=10, putFlushSize=4))
    conn = ChannelConnection(site=client.site, clock=client.clock)
    conn.send(_chunked(b"123456", b"789", end=False))
    assert len(created) == 1 and os.path.getsize(created[0]) == 6
    conn.send(b"5\r\nabcde\r\n")
    conn.pump()
    [response] = conn.responses()
    assert response.status == 413
    assert response.header("Connection") == "close"
    assert conn.closed
    assert _temps(tmp_path) == [] and not (tmp_path / "big").exists()


def test_chunkedBodyAtCapIsStored(tmp_path):
    client = Client(davFile(tmp_path, maxUploadSize=10, putFlushSize=4))
    r = client.request("PUT", "/big", raw=_chunked(b"12345", b"67890"))
    assert r.status == 201
    assert (tmp_path / "big").read_bytes() == b"1234567890"


def test_noCap(tmp_path):
    client = Client(davFile(tmp_path, maxUploadSize=None))
    data = os.urandom(3 * 1024 * 1024)
    assert client.request("PUT", "/big", data).status == 201
    assert (tmp_path / "big").read_bytes() == data


# The plugin


def test_mountOptions(tmp_path):
    dav = plugin.makeDAV(str(tmp_path), None, max_upload_size="unlimited")
    assert dav._dav.maxUploadSize is None
    dav = plugin.makeDAV(str(tmp_path), None, **{"max-upload-size": 5000, "max-locks": 7,
                                                "orphan-scan-limit": "none"})
    assert dav._dav.maxUploadSize == 5000 and dav._dav.locks.maxLocks == 7
    assert plugin.makeDAV(str(tmp_path))._dav.maxUploadSize == GiB
    with pytest.raises(ValueError, match="negative"):
        plugin.makeDAV(str(tmp_path), None, max_upload_size="-1")
    with pytest.raises(ValueError):
        plugin.makeDAV(str(tmp_path), None, max_locks="many")


def test_commandLineDefaultForEveryMount(tmp_path):
    """
    C{--dav-max-upload-size} sets the cap of every DAV mount; a mount's
    own C{max-upload-size} wins.
    """
    from twisted.internet.testing import MemoryReactorClock

    from web2 import tap
    from web2.plugins import build_plugin_manager

    options = tap.makeOptionsClass(build_plugin_manager(only=["dav", "static"]))()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1", "--dav", str(tmp_path),
                          "--dav-max-upload-size", "2048"])
    service = tap.buildService(options, reactor=MemoryReactorClock())
    assert service.site.resource._dav.maxUploadSize == 2048
    config = {"dav-max-upload-size": 2048}
    assert plugin.makeDAV(str(tmp_path), config)._dav.maxUploadSize == 2048
    assert plugin.makeDAV(str(tmp_path), config, max_upload_size=9)._dav.maxUploadSize == 9


# Real servers


def _endlessPut(port, chunk=65536, safety=256 * 1024 * 1024):
    """
    Send a chunked PUT that never ends, until the server answers (or the
    safety bound is reached); then read to the end of the connection.

    @return: C{(bytes sent, raw response bytes, whether the server closed)}.
    """
    sent = 0
    piece = b"%x\r\n%s\r\n" % (chunk, b"z" * chunk)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"PUT /endless.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        while sent < safety:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(piece)
                except (BrokenPipeError, ConnectionResetError):
                    break
        data = b""
        closed = False
        while True:
            try:
                more = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not more:
                closed = True
                break
            data += more
    return sent, data, closed


def _declaredTooBig(port, size):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"PUT /declared.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        return _readHead(sock)


def _readHead(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            break
        data += more
    return data


class UploadCapServerTests(TestCase):
    timeout = 120

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def _server(self, *args):
        port = freePort()
        server = ServerProcess(pythonWeb2(
            "--dav", self.tmp, "--listen", f"tcp:{port}:interface=127.0.0.1",
            "--access-log", "off", *args))
        self.addCleanup(server.kill)
        server.waitForPort(port)
        return server, port

    async def test_endlessChunkedPut(self):
        """
        An endless chunked PUT to C{--dav-max-upload-size 1048576} is
        answered 413 once it passes 1 MiB, and the connection closed; no
        file is left.
        """
        server, port = await inThread(self._server, "--dav-max-upload-size", "1048576")
        sent, raw, closed = await inThread(_endlessPut, port)
        [response] = parseResponses(raw)
        self.assertEqual(response.status, 413, server.output)
        self.assertEqual(response.header("Connection"), "close")
        self.assertTrue(closed)
        self.assertGreater(sent, 1024 * 1024)
        self.assertEqual(os.listdir(self.tmp), [])
        await inThread(server.stop)

    async def test_defaultRefusesDeclaredHugeBody(self):
        """
        With no setting at all, a PUT declaring more than 1 GiB is refused
        before its body is sent.
        """
        server, port = await inThread(self._server)
        raw = await inThread(_declaredTooBig, port, 2 * GiB)
        self.assertTrue(raw.startswith(b"HTTP/1.1 413 "), raw)
        self.assertEqual(os.listdir(self.tmp), [])
        await inThread(server.stop)

    async def test_stopWithARefusedBodyUnsent(self):
        """
        A client that got its 413 but keeps the connection open without
        sending the body does not hold the server's stop until the
        shutdown timeout (60 s here, more than the stop may take): the
        drain closes that connection at once.
        """
        server, port = await inThread(self._server, "--shutdown-timeout", "60")
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.addCleanup(sock.close)
        sock.sendall(b"PUT /declared.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: %d\r\n\r\n" % (2 * GiB))
        raw = await inThread(_readHead, sock)
        self.assertTrue(raw.startswith(b"HTTP/1.1 413 "), raw)
        result = await inThread(server.stop, 30)
        self.assertEqual(result.returncode, 0, result.output)
        self.assertNotIn("still open at the end of the drain", result.output)
        self.assertEqual(os.listdir(self.tmp), [])


def test_davFileSignature():
    import inspect

    parameters = inspect.signature(DAVFile.__init__).parameters
    assert parameters["maxUploadSize"].default == GiB
