"""
Micro-benchmark of web2's wire parser: parse N pipelined GET requests held
in one buffer and print requests per second.  Not a test; for profiling:

    python bench/micro_wire.py [N] [ROUNDS]
    python -m cProfile -s cumtime bench/micro_wire.py 20000 3
"""

import sys
import time

from web2._wire import CLOSED, NEED_DATA, RequestReader

REQUEST = (
    b"GET /index.html?q=1 HTTP/1.1\r\n"
    b"Host: localhost:8080\r\n"
    b"User-Agent: bench/1.0\r\n"
    b"Accept: */*\r\n"
    b"Accept-Encoding: gzip, deflate\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
)


def run(n: int) -> float:
    data = REQUEST * n
    start = time.perf_counter()
    reader = RequestReader()
    reader.receive(data)
    count = 0
    next_event = reader.next_event
    while True:
        event = next_event()
        if event is NEED_DATA or event is CLOSED:
            break
        count += 1
    elapsed = time.perf_counter() - start
    assert count == 2 * n, count  # a head and an EndOfRequest each
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    best = min(run(n) for _ in range(rounds))
    print(
        f"{n} pipelined GETs ({len(REQUEST)} bytes each): best of {rounds} "
        f"{best * 1000:.1f} ms, {n / best:,.0f} requests/s"
    )


if __name__ == "__main__":
    main()
