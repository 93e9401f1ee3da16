"""
The health probe of the hostile-client suite (see L{_hostile.Monitor}), run
as a process of its own so that its timings do not include waits for the
test process's interpreter lock, which the attack's client threads hold
much of the time.

    python _hostile_probe.py PORT INTERVAL TIMEOUT

It keeps one connection to 127.0.0.1:PORT (made again if it closes; the
connect is then part of the time) and sends C{GET /health} on it every
INTERVAL seconds, each answer awaited at most TIMEOUT seconds.  It writes
one line per event on standard output, times from C{time.monotonic()}
(the system's monotonic clock, the same in every process):

    ready                       the first answer came: the attack may start
    start T                     a probe was sent at T
    done T SECONDS              its answer came, SECONDS after T
    fail T SECONDS REASON       it failed after SECONDS

It runs until it is terminated.
"""

import socket
import sys
import time

REQUEST = b"GET /health HTTP/1.1\r\nHost: health\r\n\r\n"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def readAnswer(sock, pending):
    """
    Read one answer to L{REQUEST} from C{sock}.

    @return: whether the server will close the connection, and the bytes
        that came after the answer.
    """
    data = pending
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            lines = head.split(b"\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) >= length:
                if not lines[0].startswith(b"HTTP/1.1 200"):
                    raise ValueError(f"/health answered {lines[0]!r}")
                return b"connection: close" in head.lower(), rest[length:]
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk


def main(port, interval, timeout):
    sock, pending, ready = None, b"", False
    while True:
        started = time.monotonic()
        if ready:
            say(f"start {started!r}")
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                pending = b""
            sock.sendall(REQUEST)
            closing, pending = readAnswer(sock, pending)
            if closing:
                sock.close()
                sock = None
            outcome = None
        except (OSError, ValueError) as e:
            outcome = repr(e)
            if sock is not None:
                sock.close()
                sock = None
        elapsed = time.monotonic() - started
        if not ready:
            if outcome is not None:
                say(f"fail {started!r} {elapsed!r} {outcome}")
                return
            ready = True
            say("ready")
        elif outcome is None:
            say(f"done {started!r} {elapsed!r}")
        else:
            say(f"fail {started!r} {elapsed!r} {outcome}")
        time.sleep(interval)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))
