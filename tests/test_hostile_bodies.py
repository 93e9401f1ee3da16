"""
Hostile clients, issue #14, attack 5: endless chunked request bodies.

  - To a resource that reads and discards the body: it keeps up, so the
    body streams through with memory bounded and /health fast; with the
    server's C{max-body-size} set, the body is refused with 413 as soon as
    it crosses the limit.
  - To the echo resource, by a client that never reads the echo: the
    body's backpressure must reach the socket, so memory stays bounded and
    the send timeout drops the connection.
  - To DAV PUT: with the mount's C{max-upload-size} or the site-wide
    C{--dav-max-upload-size}, a 413 and no more than the cap (and one write
    batch) on disk; with nothing set, the default cap (1 GiB) must do the
    same (a long case: it writes a gigabyte).
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from _hostile import (
    FAST,
    SERVER_SETTINGS,
    STRICT,
    Deadline,
    HostileServer,
    MalformedResponse,
    MiB,
    Monitor,
    connect,
    expect,
    parseResponses,
)

CHUNK = b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
SEND_TIMEOUT = SERVER_SETTINGS["send-timeout"]
#: How long the echo's never-reading client may keep its connection: see
#: DROP_WITHIN in test_hostile_pipeline.py.
DROP_WITHIN = SEND_TIMEOUT + 13.0


def chunkedHead(method, path):
    return (f"{method} {path} HTTP/1.1\r\nHost: a\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()


def diskUsage(directory: Path) -> int:
    """
    Bytes in the regular files under C{directory} (temporary files
    included; links not followed).
    """
    total = 0
    for path in directory.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


@dataclass
class Endless:
    """
    How an endless body ended.

    @ivar end: C{"answered"} (a whole final response arrived), C{"closed"}
        (the server closed or reset the connection), C{"deadline"},
        C{"stopped"} (the memory bound was crossed) or C{"disk"} (the disk
        bound was crossed).
    """

    end: str
    sent: int
    seconds: float
    received: bytes
    diskPeak: int = 0

    def response(self):
        try:
            finals = [r for r in parseResponses(self.received, eof=self.end == "closed")
                      if r.status >= 200]
        except MalformedResponse:
            return None
        return finals[0] if finals else None

    def __str__(self):
        response = self.response()
        status = response.status if response is not None else None
        return (f"{self.end} after {self.seconds:.1f}s, {self.sent / MiB:.0f} MiB sent, "
                f"answer {status}, {self.received[:60]!r}, disk peak "
                f"{self.diskPeak / MiB:.1f} MiB")


def sendEndless(port, head, deadline, stop, *, read=True, disk=None, diskBound=None,
                finish=False):
    """
    Send C{head}, then 64 KiB chunks without end, until something ends it
    (see L{Endless}); with C{read}, read what comes meanwhile (else the
    receive buffer is small and never read).  With C{disk}, sample the
    bytes under that directory, and stop once they pass C{diskBound}.
    With C{finish}, the body gets its last chunk when the C{deadline}
    passes, and the answer is awaited.
    """
    sock = connect(port, rcvbuf=None if read else 4096)
    started = time.monotonic()
    sent, received, diskPeak, end = 0, b"", 0, None
    data = memoryview(head + CHUNK * 4)
    offset = 0
    try:
        sock.settimeout(0.05)
        while end is None:
            if stop.is_set():
                end = "stopped"
                break
            if deadline.passed():
                if not finish:
                    end = "deadline"
                    break
                sock.settimeout(10.0)
                rest = bytes(data[offset:]) + b"0\r\n\r\n"
                sock.sendall(rest)
                sent += len(rest)
                finish, data, offset = False, memoryview(b""), 0
                deadline = Deadline(10.0)
            if data:
                try:
                    n = sock.send(data[offset:])
                    sent += n
                    offset += n
                    if offset >= len(head) + len(CHUNK):
                        # Keep whole chunks in the window: drop the head
                        # and one chunk from the front, add one at the end.
                        data = memoryview(bytes(data[offset:]) + CHUNK)
                        head, offset = b"", 0
                except TimeoutError:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    end = "closed"
                    break
            if read:
                try:
                    sock.settimeout(0.0 if data else 0.05)
                    got = sock.recv(65536)
                    if not got:
                        end = "closed"
                        break
                    received += got
                    try:
                        if any(r.status >= 200 and r.complete
                               for r in parseResponses(received, eof=False)):
                            end = "answered"
                    except MalformedResponse:
                        pass
                except (BlockingIOError, TimeoutError):
                    pass
                except ConnectionResetError:
                    end = "closed"
                finally:
                    sock.settimeout(0.05)
            if disk is not None:
                diskPeak = max(diskPeak, diskUsage(disk))
                if diskBound is not None and diskPeak > diskBound:
                    end = "disk"
    finally:
        sock.close()
    return Endless(end, sent, time.monotonic() - started, received, diskPeak)


def test_endlessBodyToAReader(tmp_path):
    """
    An endless chunked body to a resource that reads it: for 3 s it
    streams through with bounded memory and /health fast; the last chunk
    then gets the count of everything sent.
    """
    with HostileServer(tmp_path) as server:
        with Monitor(server, FAST) as monitor:
            result = sendEndless(server.port, chunkedHead("POST", "/discard"),
                                 Deadline(3.0), monitor.overLimit, finish=True)
        response = result.response()
        bodyBytes = (result.sent - len(chunkedHead("POST", "/discard")) - 5) \
            // len(CHUNK) * 65536
        problems = []
        if expect(problems, result.end == "answered" and response.status == 200,
                  "no 200 at the end"):
            expect(problems, int(response.body) == bodyBytes,
                   f"the resource read {int(response.body)} of {bodyBytes} bytes")
        expect(problems, result.sent > 20 * MiB, "the body hardly moved")
        monitor.check(str(result), problems)
        server.stop()


def test_endlessBodyOverMaxBodySize(tmp_path):
    """
    With C{max-body-size} 1 MiB, the endless body is refused with 413 and
    the connection closed, within a second of crossing the limit.
    """
    with HostileServer(tmp_path, server={"max-body-size": MiB}) as server:
        with Monitor(server, FAST) as monitor:
            result = sendEndless(server.port, chunkedHead("POST", "/discard"),
                                 Deadline(5.0), monitor.overLimit)
        response = result.response()
        problems = []
        expect(problems, response is not None and response.status == 413
               and response.header("connection") == "close", "no 413 with Connection: close")
        expect(problems, result.sent < 16 * MiB and result.seconds < 2.0, "refused late")
        monitor.check(str(result), problems)
        server.stop()


def test_endlessBodyToTheEchoNeverRead(tmp_path):
    """
    An endless body to the echo by a client that never reads the echo:
    the echo cannot send, so it must stop reading; memory stays bounded
    and the send timeout drops the connection.
    """
    with HostileServer(tmp_path) as server:
        with Monitor(server, FAST) as monitor:
            result = sendEndless(server.port, chunkedHead("POST", "/echo"),
                                 Deadline(DROP_WITHIN + 2.0), monitor.overLimit, read=False)
        monitor.check(str(result), [] if result.end == "closed" and result.seconds <= DROP_WITHIN
                      else [f"not dropped within {DROP_WITHIN}s"])
        server.stop()


def davPutProblems(result, davTree, before, within=2.0):
    """
    What is wrong with how an endless DAV PUT ended: it must get 413 with
    C{Connection: close} (within C{within} seconds, unless C{None}), and
    leave nothing on disk.
    """
    problems = []
    response = result.response()
    expect(problems, response is not None and response.status == 413
           and response.header("connection") == "close", "no 413 with Connection: close")
    if within is not None:
        expect(problems, result.seconds < within, f"no answer within {within}s")
    left = diskUsage(davTree) - before
    expect(problems, not left, f"{left} bytes left on disk: "
           f"{sorted(p.name for p in davTree.iterdir())}")
    return problems


def test_davPutOverMaxUploadSize(tmp_path):
    """
    A DAV mount with C{max-upload-size} 1 MiB: an endless chunked PUT gets
    413, the connection is closed, and at most the cap plus one write
    batch (1 MiB) ever reached the disk, none of it left behind.
    """
    with HostileServer(tmp_path, dav={"max-upload-size": MiB}) as server:
        davTree = server.layout.dav
        before = diskUsage(davTree)
        with Monitor(server, FAST) as monitor:
            result = sendEndless(server.port, chunkedHead("PUT", "/dav/upload.bin"),
                                 Deadline(5.0), monitor.overLimit, disk=davTree,
                                 diskBound=before + 2 * MiB)
        monitor.check(str(result), davPutProblems(result, davTree, before))
        server.stop()


def test_davPutOverSiteWideCap(tmp_path):
    """
    The same with the cap set for every DAV mount (C{--dav-max-upload-size},
    here in the site file's options) and none on the mount itself.
    """
    with HostileServer(tmp_path, options={"dav-max-upload-size": MiB}) as server:
        davTree = server.layout.dav
        before = diskUsage(davTree)
        with Monitor(server, FAST) as monitor:
            result = sendEndless(server.port, chunkedHead("PUT", "/dav/upload.bin"),
                                 Deadline(5.0), monitor.overLimit, disk=davTree,
                                 diskBound=before + 2 * MiB)
        monitor.check(str(result), davPutProblems(result, davTree, before))
        server.stop()


#: The most an upload to a DAV mount that sets no cap may put on disk
#: before it is refused: web2-dav's default cap, 1 GiB.
DEFAULT_UPLOAD_BOUND = 1024 * MiB


@pytest.mark.long
def test_davPutDefaultCap(tmp_path):
    """
    A DAV mount with no options: an endless chunked PUT must still be
    refused with 413 before L{DEFAULT_UPLOAD_BOUND} (and one write batch)
    reaches the disk; the attack stops as soon as the disk holds more.
    """
    with HostileServer(tmp_path) as server:
        davTree = server.layout.dav
        before = diskUsage(davTree)
        with Monitor(server, STRICT) as monitor:
            result = sendEndless(server.port, chunkedHead("PUT", "/dav/upload.bin"),
                                 Deadline(60.0), monitor.overLimit, disk=davTree,
                                 diskBound=before + DEFAULT_UPLOAD_BOUND + MiB)
        monitor.check(str(result), davPutProblems(result, davTree, before, within=None))
        server.stop()


@pytest.mark.long
def test_endlessBodyToAReaderForAMinute(tmp_path):
    """
    The issue's bar: 60 s of endless body to a reading resource; memory
    grows by less than 64 MiB, /health within 50 ms.
    """
    with HostileServer(tmp_path) as server:
        with Monitor(server, STRICT) as monitor:
            result = sendEndless(server.port, chunkedHead("POST", "/discard"),
                                 Deadline(60.0), monitor.overLimit, finish=True)
        response = result.response()
        monitor.check(str(result), [] if response is not None and response.status == 200
                      else ["no 200 at the end"])
        server.stop()
