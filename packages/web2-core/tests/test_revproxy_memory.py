"""
Large bodies through a real web2 reverse proxy (a subprocess, C{python -m
web2 --mount /=proxy:URL}) in each direction: the proxy's resident memory
must not grow with the body (< 64 MiB growth for 256 MiB by default;
C{WEB2_PROXY_TRANSFER_MIB=1024} for the issue's 1 GiB).
"""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from web2.testing import ServerProcess, pythonWeb2

MIB = 1024 * 1024
SIZE = int(os.environ.get("WEB2_PROXY_TRANSFER_MIB", "256")) * MIB
GROWTH_LIMIT = 64 * MIB

# A plain upstream in its own process: GET /N answers N bytes, POST reads
# and counts the body (sized or chunked: the proxy keeps it as it came).
UPSTREAM = r'''
import socket, sys, threading, time
BLOCK = b"u" * (1 << 20)

def readHead(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest

def handle(conn):
    buf = b""
    with conn:
        while True:
            head, buf = readHead(conn, buf)
            if head is None:
                return
            line, *fields = head.split("\r\n")
            method, target, _ = line.split(" ")
            headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
            if method == "GET":
                n = int(target.strip("/"))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                while n:
                    block = BLOCK[: min(n, len(BLOCK))]
                    conn.sendall(block)
                    n -= len(block)
                continue
            total = 0
            if "content-length" in headers:
                left = int(headers["content-length"]) - len(buf)
                total = len(buf)
                buf = b""
                paused = False
                while left > 0:
                    data = conn.recv(min(left, 1 << 20))
                    if not data:
                        return
                    total += len(data)
                    left -= len(data)
                    if total > (1 << 20) and not paused:
                        # Stop reading a while: a proxy without
                        # backpressure would take the rest into memory.
                        paused = True
                        time.sleep(1.5)
            else:  # chunked, read simply
                paused = False
                while True:
                    if total > (1 << 20) and not paused:
                        paused = True
                        time.sleep(1.5)
                    while b"\r\n" not in buf:
                        buf += conn.recv(65536)
                    size, buf = buf.split(b"\r\n", 1)
                    size = int(size.split(b";")[0], 16)
                    while len(buf) < size + 2:
                        data = conn.recv(1 << 20)
                        if not data:
                            return
                        buf += data
                    total += size
                    buf = buf[size + 2:]
                    if size == 0:
                        break
            body = b"%d" % total
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
'''

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc for RSS"),
]


def rss(pid) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def proxy():
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM], stdout=subprocess.PIPE, text=True)
    try:
        upPort = int(upstream.stdout.readline())
        with ServerProcess(pythonWeb2(
            "--listen", "tcp:0:interface=127.0.0.1",
            "--mount", f"/=proxy:http://127.0.0.1:{upPort}/",
        )) as server:
            (host, port, _), = server.waitForListeners(1)
            yield server.process.pid, port
    finally:
        upstream.kill()
        upstream.wait()


class Sampler:
    """
    The highest RSS of a process, sampled every 50 ms in a thread.
    """

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss(self.pid))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def download(port, size):
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, rest = buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), head
        got = len(rest)
        paused = False
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            got += len(data)
            if got > MIB and not paused:
                # Stop reading a while: a proxy without backpressure
                # would take the rest of the upstream's body into memory.
                paused = True
                time.sleep(1.5)
        return got


def upload(port, size, chunked=False):
    block = b"d" * MIB
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
        sock.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n\r\n" % framing)
        left = size
        while left:
            n = min(left, len(block))
            sock.sendall(b"%x\r\n%s\r\n" % (n, block[:n]) if chunked else block[:n])
            left -= n
        if chunked:
            sock.sendall(b"0\r\n\r\n")
        out = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            out += data
        return out


def test_largeDownload(proxy):
    pid, port = proxy
    assert download(port, 4 * MIB) == 4 * MIB  # warm up
    base = rss(pid)
    sampler = Sampler(pid)
    started = time.monotonic()
    assert download(port, SIZE) == SIZE
    peak = sampler.stop()
    print(f"download {SIZE // MIB} MiB in {time.monotonic() - started:.1f} s, "
          f"RSS {base / MIB:.1f} -> peak {peak / MIB:.1f} MiB")
    assert peak - base < GROWTH_LIMIT


@pytest.mark.parametrize("chunked", [False, True])
def test_largeUpload(proxy, chunked):
    pid, port = proxy
    upload(port, 4 * MIB, chunked)  # warm up
    base = rss(pid)
    sampler = Sampler(pid)
    started = time.monotonic()
    out = upload(port, SIZE, chunked)
    peak = sampler.stop()
    print(f"upload {SIZE // MIB} MiB (chunked={chunked}) in {time.monotonic() - started:.1f} s, "
          f"RSS {base / MIB:.1f} -> peak {peak / MIB:.1f} MiB")
    assert out.startswith(b"HTTP/1.1 200"), out[:200]
    assert out.endswith(b"\r\n\r\n%d" % SIZE), out[-200:]
    assert peak - base < GROWTH_LIMIT
