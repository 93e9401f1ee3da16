"""
Small stdlib-only clients for the scenarios wrk and h2load cannot express,
run by the harness as C{python3 -m bench._clients ...} pinned to the load CPU.

C{upload PORT SIZE}: POST C{SIZE} bytes with a Content-Length and print one
JSON line with the seconds until the whole response arrived.

C{download PORT COUNT SECONDS PATH}: start C{COUNT} downloads of C{PATH} at
once, read them as fast as possible for C{SECONDS}, close them, and print one
JSON line with the bytes received and the rate.

C{idle PORT COUNT}: open C{COUNT} keep-alive connections, make one request on
each and read its response, print C{READY <open connections>}, hold them open
until a line arrives on standard input (or 60 seconds pass), then close them.
"""

import json
import resource
import selectors
import socket
import sys
import time

_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
_BATCH = 200


def upload(port, size, timeout=120.0):
    """
    Send one C{size}-byte POST and time it to the end of the response.
    """
    chunk = b"x" * (1 << 20)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/octet-stream\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (size,)
        )
        left = size
        view = memoryview(chunk)
        while left:
            n = min(left, len(chunk))
            s.sendall(view[:n])
            left -= n
        response = b""
        while True:
            data = s.recv(65536)
            if not data:
                break
            response += data
    seconds = time.perf_counter() - start
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head else "none"
    return {"seconds": seconds, "status": status, "echoed": body.strip().decode()}


def download(port, count, seconds, path):
    """
    Read C{count} concurrent downloads of C{path} for C{seconds}.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode()
    selector = selectors.DefaultSelector()
    opened = 0
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        opened += 1
    buffer = bytearray(1 << 18)
    received = 0
    closed = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline and closed < opened:
        for key, _ in selector.select(0.5):
            try:
                n = key.fileobj.recv_into(buffer)
            except BlockingIOError:
                continue
            except OSError:
                n = 0
            if not n:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                closed += 1
                continue
            received += n
    elapsed = time.perf_counter() - start
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    return {"bytes": received, "mbps": received / elapsed / 1e6, "opened": opened,
            "errors": (count - opened) + closed}


def idle(port, count, hold=60.0):
    """
    Open C{count} connections that each made one request, and keep them.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    selector = selectors.DefaultSelector()
    opened = []
    for first in range(0, count, _BATCH):
        pending = {}
        for _ in range(min(_BATCH, count - first)):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(_REQUEST)
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
            pending[s] = b""
        deadline = time.monotonic() + 20
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(1.0):
                s = key.fileobj
                data = s.recv(65536)
                pending[s] += data
                if not data or b"Hello, world!" in pending[s]:
                    selector.unregister(s)
                    if data:
                        opened.append(s)
                    else:
                        s.close()
                    del pending[s]
        for s in pending:
            selector.unregister(s)
            s.close()
    print(f"READY {len(opened)}", flush=True)
    selector.close()
    waiter = selectors.DefaultSelector()
    waiter.register(sys.stdin, selectors.EVENT_READ)
    waiter.select(hold)
    for s in opened:
        s.close()


def main(argv):
    command, port, number = argv[0], int(argv[1]), int(argv[2])
    if command == "download":
        print(json.dumps(download(port, number, float(argv[3]), argv[4])), flush=True)
    elif command == "upload":
        print(json.dumps(upload(port, number)), flush=True)
    else:
        idle(port, number)


if __name__ == "__main__":
    main(sys.argv[1:])
