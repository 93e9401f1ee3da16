"""
Stdlib-only WebSocket clients for the benchmark's C{ws} scenarios, run by
the harness as C{python3 -m bench._wsclients ...} pinned to the load CPU.
Every server in the C{ws} role echoes at C{/ws}.

C{echo PORT CONNECTIONS SECONDS}: open C{CONNECTIONS} WebSockets, then on
each keep one 16-byte text message in flight (send, wait for its echo,
send again) for C{SECONDS}; print one JSON line with the round trips per
second.  The frames are masked with a zero key (valid, and it keeps the
client's own CPU off the measurement).

C{idle PORT COUNT}: open C{COUNT} WebSockets (handshake done, nothing
sent after), print C{READY <open connections>}, hold them until a line
arrives on standard input (or 60 seconds pass), then close them.
"""

import base64
import json
import os
import resource
import selectors
import socket
import sys
import time

_PAYLOAD = b"0123456789abcdef"
# FIN + text, masked, 16 bytes, zero masking key: the payload goes as is.
_FRAME = bytes([0x81, 0x80 | len(_PAYLOAD)]) + b"\0\0\0\0" + _PAYLOAD
# What the server sends back: FIN + text, unmasked, 16 bytes.
_ECHO = bytes([0x81, len(_PAYLOAD)]) + _PAYLOAD
_BATCH = 200


def _handshake():
    key = base64.b64encode(os.urandom(16))
    return (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")  # fmt: skip


def _open(port, count):
    """
    Open up to C{count} WebSockets, C{_BATCH} handshakes at a time.

    @return: the connected sockets (non-blocking), and the bytes each had
        received after its 101 head.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    selector = selectors.DefaultSelector()
    opened = {}
    for first in range(0, count, _BATCH):
        pending = {}
        for _ in range(min(_BATCH, count - first)):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(_handshake())
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
            pending[s] = b""
        deadline = time.monotonic() + 20
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(1.0):
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                pending[s] += data
                head, sep, rest = pending[s].partition(b"\r\n\r\n")
                if not data or sep:
                    selector.unregister(s)
                    if sep and head.startswith(b"HTTP/1.1 101"):
                        opened[s] = rest
                    else:
                        s.close()
                    del pending[s]
        for s in pending:
            selector.unregister(s)
            s.close()
    selector.close()
    return opened


def echo(port, connections, seconds):
    """
    Round trips per second of C{connections} WebSockets, one message in
    flight on each.
    """
    opened = _open(port, connections)
    selector = selectors.DefaultSelector()
    buffers = {}
    for s, rest in opened.items():
        selector.register(s, selectors.EVENT_READ)
        buffers[s] = rest
        s.send(_FRAME)
    size = len(_ECHO)
    trips = 0
    errors = connections - len(opened)
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline and buffers:
        for key, _ in selector.select(0.5):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                selector.unregister(s)
                del buffers[s]
                errors += 1
                continue
            got = buffers[s] + data
            n = len(got) // size
            if n:
                if got[:size] != _ECHO:
                    errors += 1
                trips += n
                got = got[n * size:]
                s.send(_FRAME)
            buffers[s] = got
    elapsed = time.perf_counter() - start
    for s in opened:
        s.close()
    return {"rtps": trips / elapsed, "trips": trips, "opened": len(opened),
            "errors": errors}


def idle(port, count, hold=60.0):
    """
    Open C{count} WebSockets and keep them, idle, until told to stop.
    """
    opened = _open(port, count)
    print(f"READY {len(opened)}", flush=True)
    waiter = selectors.DefaultSelector()
    waiter.register(sys.stdin, selectors.EVENT_READ)
    waiter.select(hold)
    for s in opened:
        s.close()


def main(argv):
    command, port, number = argv[0], int(argv[1]), int(argv[2])
    if command == "echo":
        print(json.dumps(echo(port, number, float(argv[3]))), flush=True)
    else:
        idle(port, number)


if __name__ == "__main__":
    main(sys.argv[1:])
