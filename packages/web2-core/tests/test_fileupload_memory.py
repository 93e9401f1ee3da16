"""
The memory bound of uploads, end to end: a 1 GiB multipart upload to a
real web2 server in a child process leaves its resident memory within
64 MiB of where it started, and the file arrives whole.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import struct
import subprocess
import sys
import textwrap

import pytest

SERVER = textwrap.dedent('''
    import hashlib, sys
    from twisted.internet import reactor
    from web2 import resource, server
    from web2.channel import HTTPFactory

    class Upload(resource.PostableResource):
        maxSize = 2 * 1024 ** 3

        def render(self, request):
            (upload,) = request.files["blob"]
            digest = hashlib.sha256()
            while True:
                chunk = upload.file.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
            upload.close()
            return " ".join([str(upload.size), digest.hexdigest(), upload.filename,
                             request.args["note"][0], str(upload.file._rolled)])

    root = resource.Resource()
    root.putChild("upload", Upload())
    port = reactor.listenTCP(0, HTTPFactory(server.Site(root)), interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.run()
''')

MiB = 1024 * 1024
BOUNDARY = b"web2-memory-test-8c1f0e2d9a"


def memory(pid: int) -> dict:
    """
    The VmRSS and VmHWM (peak) of process C{pid}, in bytes.
    """
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
    return values


def exchange(port: int, head: bytes, body=(), timeout=60.0) -> bytes:
    """
    Send a request whose body comes from the iterable C{body}; read the
    whole response (the request says Connection: close).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for block in body:
            sock.sendall(block)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def request(size: int, blocks, note: bytes, chunked=False) -> tuple[bytes, object]:
    """
    The head and the body iterable of a multipart upload of C{size} file
    bytes taken from C{blocks}, framed by Content-Length or chunked.
    """
    prefix = (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
              + note + b"\r\n--" + BOUNDARY
              + b'\r\nContent-Disposition: form-data; name="blob"; filename="big.bin"\r\n'
              + b"Content-Type: application/octet-stream\r\n\r\n")
    suffix = b"\r\n--" + BOUNDARY + b"--\r\n"
    framing = (b"Transfer-Encoding: chunked" if chunked else
               b"Content-Length: " + str(len(prefix) + size + len(suffix)).encode())
    head = (b"POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            b"Content-Type: multipart/form-data; boundary=" + BOUNDARY + b"\r\n"
            + framing + b"\r\n\r\n")

    def body():
        for data in itertools.chain([prefix], blocks, [suffix]):
            yield b"%x\r\n%b\r\n" % (len(data), data) if chunked else data
        if chunked:
            yield b"0\r\n\r\n"

    return head, body()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("chunked", [False, True])
def test_oneGiBUploadInBoundedMemory(tmp_path, chunked):
    base = os.urandom(MiB)
    assert BOUNDARY not in base
    count = 1024
    digest = hashlib.sha256()

    def blocks():
        # Every MiB differs (a counter up front), so a lost, repeated or
        # reordered block changes the checksum.
        for i in range(count):
            block = struct.pack(">Q", i) + base[8:]
            digest.update(block)
            yield block

    env = dict(os.environ, TMPDIR=str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                             env=env)
    try:
        port = int(child.stdout.readline())
        # Warm up: imports and first-request paths are not the upload's.
        head, body = request(5, [b"small"], b"warm")
        warm = exchange(port, head, body)
        assert warm.startswith(b"HTTP/1.1 200 ") and warm.endswith(b" big.bin warm False")
        before = memory(child.pid)

        head, body = request(count * MiB, blocks(), b"big", chunked)
        response = exchange(port, head, body)
        after = memory(child.pid)
        statusLine, _, rest = response.partition(b"\r\n")
        assert statusLine == b"HTTP/1.1 200 OK", response[:500]
        size, checksum, filename, note, rolled = rest.partition(b"\r\n\r\n")[2].split()
        assert int(size) == count * MiB
        assert checksum.decode() == digest.hexdigest()
        growth = after["VmHWM"] - before["VmRSS"]
        assert growth < 64 * MiB, (before, after)
        assert (filename, note, rolled) == (b"big.bin", b"big", b"True")
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
