"""
CPU-time cost of one ASGI hello request through web2-asgi, in memory (no
sockets), on Twisted's asyncio reactor, beside web2's native hello on the
same reactor: what the ASGI container adds to web2's own request path.

    python bench/micro_asgi.py [--profile [--native]] [N]

Requests come as wrk sends them: C{BATCH} keep-alive connections each
get one request, then one turn of the event loop runs the applications'
tasks (as when one epoll wake-up finds many sockets readable).  Each
figure is the best of several rounds of process CPU time, so that other
load on a shared machine inflates it as little as possible.  C{--profile}
prints a cProfile of the ASGI rounds instead (pure Python builds show
every function; a compiled one hides its modules' insides).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from twisted.internet import asyncioreactor  # noqa: E402

asyncioreactor.install()

from twisted.internet import address, reactor  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
PEER = address.IPv4Address("TCP", "127.0.0.1", 54321)
HOST = address.IPv4Address("TCP", "127.0.0.1", 8080)
ROUNDS = int(os.environ.get("ROUNDS", 5))
BATCH = int(os.environ.get("BATCH", 16))
LOOP = reactor._asyncioEventloop


def asgiFactory():
    from bench.apps.asgi_hello import app
    from web2.asgi import ASGIResource
    from web2.channel import HTTPFactory
    from web2.server import Site

    return HTTPFactory(Site(ASGIResource(app, reactor=reactor)), reactor=reactor)


def nativeFactory():
    from bench.apps.web2_hello import Hello
    from web2.channel import HTTPFactory
    from web2.server import Site

    return HTTPFactory(Site(Hello()), reactor=reactor)


def _turn():
    """
    One turn of the event loop (what the reactor does between two epoll
    wake-ups).
    """
    LOOP.call_soon(LOOP.stop)
    LOOP.run_forever()


def keepalive(factory, n):
    conns = []
    for _ in range(BATCH):
        proto = factory.buildProtocol(PEER)
        t = StringTransport(hostAddress=HOST, peerAddress=PEER)
        proto.makeConnection(t)
        conns.append((proto.dataReceived, t))
    turns = max(1, n // BATCH)

    def run():
        for _ in range(turns):
            for send, t in conns:
                t.clear()
                send(REQ)
            _turn()

    def check():
        for _, t in conns:
            assert t.value().startswith(b"HTTP/1.1 200") and t.value().endswith(
                b"Hello, world!\n"), t.value()

    return run, check, turns * BATCH


def best(run, check, count):
    run()
    check()
    times = []
    for _ in range(ROUNDS):
        t0 = time.process_time()
        run()
        times.append(time.process_time() - t0)
    check()
    return min(times) / count * 1e6


def main(argv):
    profile = "--profile" in argv
    argv = [a for a in argv if a not in ("--profile", "--native")]
    n = int(argv[0]) if argv else 20000
    from web2._compiled import describeBuild

    print(f"web2 build: {describeBuild()}; batch {BATCH}")
    if profile:
        import cProfile
        import pstats

        factory = nativeFactory() if "--native" in sys.argv else asgiFactory()
        run, check, count = keepalive(factory, n)
        run()
        prof = cProfile.Profile()
        prof.runcall(run)
        check()
        pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("LINES", 35)))
        return
    native = best(*keepalive(nativeFactory(), n))
    asgi = best(*keepalive(asgiFactory(), n))
    print(f"native hello {native:6.1f} us   asgi hello {asgi:6.1f} us   "
          f"asgi adds {asgi - native:6.1f} us")


if __name__ == "__main__":
    main(sys.argv[1:])
