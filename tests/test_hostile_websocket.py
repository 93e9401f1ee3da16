"""
Hostile WebSocket clients (issue #16) against a real C{python -m web2}
serving the hostile site with a WebSocket echo at C{/ws}
(C{tests/apps/hostile_ws.py}: 64 KiB messages, 3 s send timeout, 2 s
close timeout), while the suite's L{Monitor} watches the server's memory
and the latency of C{GET /health}:

  - clients that flood pings and never read what comes back: held, then
    cut off after the send timeout; memory stays bounded;
  - deflate bombs, over and over: each closed with 1009 having inflated at
    most the limit;
  - messages left unfinished (a fragment, then silence) on many
    connections: memory bounded by the message limit;
  - garbage after the handshake: 1002, one log line each, no traceback.
"""

from __future__ import annotations

import base64
import os
import struct
import time
import zlib

import pytest

pytest.importorskip("wsproto")

from _hostile import (  # noqa: E402
    FAST,
    Deadline,
    HostileServer,
    MiB,
    Monitor,
    connect,
    expect,
    runThreads,
)

MOUNTS = {"/ws": "class:hostile_ws.Echo"}


def frame(opcode, payload, fin=True, rsv1=False, mask=True):
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        header = struct.pack("!BB", first, bit | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, bit | 126, n)
    else:
        header = struct.pack("!BBQ", first, bit | 127, n)
    # A zero masking key: valid, and the payload goes as is.
    return header + (b"\0\0\0\0" if mask else b"") + payload


def upgrade(port, deflate=False, rcvbuf=None):
    """
    A socket past the handshake (101 read), and the bytes after the head.
    """
    sock = connect(port, rcvbuf=rcvbuf)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 b"Sec-WebSocket-Key: " + key + b"\r\n"
                 + (b"Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else b"")
                 + b"\r\n")
    data = b""
    deadline = Deadline(10)
    while b"\r\n\r\n" not in data and not deadline.passed():
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock, rest


def closeCode(sock, rest=b"", timeout=10.0):
    """
    Read until the server closes; the code of its Close frame, or None.
    """
    data = rest
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    sock.close()
    pos = 0
    while pos + 2 <= len(data):
        opcode, n = data[pos] & 0x0F, data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            n, pos = struct.unpack("!H", data[pos:pos + 2])[0], pos + 2
        elif n == 127:
            n, pos = struct.unpack("!Q", data[pos:pos + 8])[0], pos + 8
        if opcode == 8:
            return struct.unpack("!H", data[pos:pos + 2])[0] if n >= 2 else None
        pos += n
    return None


def test_pingFloodNeverRead(tmp_path):
    """
    20 clients send pings as fast as the server takes them and read
    nothing: the server stops reading each once its pongs wait, and cuts
    it off after the send timeout.
    """
    with HostileServer(tmp_path, mounts=MOUNTS) as server:
        ping = frame(0x9, b"p" * 125) * 256

        def attack(_):
            sock, _ = upgrade(server.port, rcvbuf=4096)
            sock.settimeout(0.5)
            deadline = Deadline(20)
            sent = 0
            try:
                while not deadline.passed() and not monitor.overLimit.is_set():
                    try:
                        sent += sock.send(ping)
                    except TimeoutError:
                        continue
            except OSError:
                return ("cut", deadline.elapsed(), sent)
            finally:
                sock.close()
            return ("open", deadline.elapsed(), sent)

        with Monitor(server, FAST) as monitor:
            results = runThreads(attack, [(i,) for i in range(20)], timeout=60)
        problems = []
        for result in results:
            if expect(problems, isinstance(result, tuple), f"a client failed: {result!r}"):
                how, seconds, sent = result
                expect(problems, how == "cut" and seconds < 15,
                       f"a never-reading pinger was not cut off ({how}, {seconds:.1f}s, "
                       f"{sent / MiB:.1f} MiB sent)")
        monitor.check(f"{len(results)} pingers", problems)
        server.stop()


def test_deflateBombs(tmp_path):
    """
    Clients send messages that inflate to 1,000 times the limit, again
    and again: each is closed with 1009.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b"\0" * (64 * MiB)) + c.flush(zlib.Z_SYNC_FLUSH)[:-4]
    with HostileServer(tmp_path, mounts=MOUNTS) as server:
        def attack(_):
            codes = []
            for _ in range(10):
                if monitor.overLimit.is_set():
                    break
                sock, rest = upgrade(server.port, deflate=True)
                try:
                    sock.sendall(frame(0x2, bomb, rsv1=True))
                except OSError:
                    pass
                codes.append(closeCode(sock, rest))
            return codes

        with Monitor(server, FAST) as monitor:
            results = runThreads(attack, [(i,) for i in range(8)], timeout=120)
        problems = []
        for codes in results:
            expect(problems, codes == [1009] * len(codes) and codes,
                   f"deflate bombs were answered {codes!r}")
        monitor.check(f"{len(bomb)}-byte bomb x 80", problems)
        server.stop()


def test_unfinishedMessages(tmp_path):
    """
    300 connections each send most of a message (fragments up to just
    under the 64 KiB limit) and then nothing: what they cost is bounded by
    the limit; one more byte than the limit closes with 1009.
    """
    with HostileServer(tmp_path, mounts=MOUNTS) as server:
        with Monitor(server, FAST) as monitor:
            socks = []
            for _ in range(300):
                sock, _ = upgrade(server.port)
                sock.sendall(frame(0x2, b"x" * 32768, fin=False)
                             + frame(0x0, b"y" * 32767, fin=False))
                socks.append(sock)
            time.sleep(1.0)
            over, rest = upgrade(server.port)
            over.sendall(frame(0x2, b"x" * 32768, fin=False) + frame(0x0, b"y" * 32769))
            code = closeCode(over, rest)
        problems = []
        expect(problems, code == 1009, f"a message over the limit got {code!r}")
        for sock in socks:
            sock.close()
        monitor.check("300 unfinished messages", problems)
        server.stop()


def test_garbageAfterTheHandshake(tmp_path):
    """
    Unmasked frames, reserved opcodes, reserved bits and garbage: 1002 (or
    1007 for bad UTF-8), never a traceback (L{HostileServer.stop} checks the
    log).  Fixed bytes, not random ones: random bytes may well be a valid
    frame, or the start of a long one the server rightly waits for.
    """
    # FIN, RSV2 and RSV3 (no extension defines them), a text frame, masked,
    # 14 bytes of payload: then garbage.
    reservedBits = bytes([0x80 | 0x20 | 0x10 | 0x1, 0x80 | 14]) + b"\0" * 4 + b"x" * 14
    cases = [
        frame(0x1, b"unmasked", mask=False),
        frame(0x3, b""),
        frame(0x1, b"\xff\xfe"),
        reservedBits + bytes(range(64)),
        bytes(range(256)),
    ]
    with HostileServer(tmp_path, mounts=MOUNTS) as server:
        codes = []
        for data in cases * 10:
            sock, rest = upgrade(server.port)
            sock.sendall(data)
            codes.append(closeCode(sock, rest))
        assert all(code in (1002, 1007, 1009) for code in codes), codes
        assert codes[:3] == [1002, 1002, 1007], codes
        server.stop()
