"""
CPU-time cost of one hello-world request, web2 against twisted.web, in
memory (no sockets: the reactor's cost is the same for both and comes on
top).  Scenarios: keep-alive, a 16-deep pipeline, and Connection: close
(a fresh connection per request).  Also the memory held by idle
keep-alive connections.

    python bench/micro_hot.py [--shape=hello|site] [keepalive|pipeline|close|memory ...]

Each figure is the best of several rounds of process CPU time, so that
other load on a shared machine inflates it as little as possible.
"""

import gc
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "packages", "web2-core", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

from twisted.internet import address, task  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
REQ_CLOSE = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n"
    b"Accept: */*\r\nConnection: close\r\n\r\n"
)
PEER = address.IPv4Address("TCP", "127.0.0.1", 54321)
HOST = address.IPv4Address("TCP", "127.0.0.1", 8080)
ROUNDS = int(os.environ.get("ROUNDS", 5))


def web2Factory():
    from web2 import http, resource, server
    from web2.channel import HTTPFactory
    from web2.http_headers import MimeType

    text = MimeType("text", "plain")

    class Hello(resource.Resource):
        def render(self, request):
            return http.Response(200, {"content-type": text}, b"Hello, world!\n")

    return HTTPFactory(server.Site(Hello()), reactor=task.Clock())


def web2SiteFactory():
    """
    The tutorial-shaped hello at C{/} of a site with several mounts, built
    exactly as C{python -m web2} builds it from C{--mount} options.
    """
    from bench._servers import siteMounts
    from web2 import tap
    from web2.plugins import build_plugin_manager

    pm = build_plugin_manager()
    options = tap.makeOptionsClass(pm)()
    argv = ["--access-log", "off"]
    for mount in siteMounts(_staticDir()):
        argv += ["--mount", mount]
    options.parseOptions(argv)
    options.pluginManager = pm
    return tap.buildService(options, reactor=task.Clock()).factory


def _staticDir():
    import tempfile

    path = tempfile.mkdtemp(prefix="web2-micro-")
    with open(os.path.join(path, "1k.bin"), "wb") as f:
        f.write(b"x" * 1024)
    return path


def twSiteFactory():
    """
    twisted.web's nearest equivalent of L{web2SiteFactory}: the hello at C{/}
    with static files and a WSGI application as children of the root.
    """
    from twisted.web import resource, server, static
    from twisted.web.wsgi import WSGIResource

    from bench.apps.wsgi_hello import app

    class Hello(resource.Resource):
        def getChild(self, name, request):
            if name == b"":
                return self
            return resource.Resource.getChild(self, name, request)

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/plain")
            return b"Hello, world!\n"

    root = Hello()
    root.putChild(b"static", static.File(_staticDir()))
    root.putChild(b"wsgi", WSGIResource(task.Clock(), None, app))
    site = server.Site(root)
    site.log = lambda r: None
    return site


def twFactory():
    from twisted.web import resource, server

    class Hello(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/plain")
            return b"Hello, world!\n"

    site = server.Site(Hello())
    site.log = lambda r: None
    return site


def connect(factory):
    proto = factory.buildProtocol(PEER)
    t = StringTransport(hostAddress=HOST, peerAddress=PEER)
    proto.makeConnection(t)
    return proto, t


def best(run, n):
    run(n // 4)
    times = []
    for _ in range(ROUNDS):
        t0 = time.process_time()
        run(n)
        times.append(time.process_time() - t0)
    return min(times) / n * 1e6


def keepalive(factory, n=20000):
    proto, t = connect(factory)
    send, clear = proto.dataReceived, t.clear

    def run(n):
        for _ in range(n):
            clear()
            send(REQ)

    us = best(run, n)
    assert t.value().startswith(b"HTTP/1.1 200"), t.value()
    return us


def pipeline(factory, n=1500):
    proto, t = connect(factory)
    send, clear = proto.dataReceived, t.clear
    data = REQ * 16
    # Each read is a pass of the reactor, which runs its due calls (web2's
    # rounds are renewed by one); twisted.web's factory has no clock.
    clock = getattr(factory, "reactor", None)
    advance = clock.advance if isinstance(clock, task.Clock) else (lambda s: None)

    def run(n):
        for _ in range(n):
            clear()
            send(data)
            advance(0)

    us = best(run, n) / 16
    assert t.value().count(b"HTTP/1.1 200") == 16
    return us


def close(factory, n=10000):
    from twisted.internet.error import ConnectionDone
    from twisted.python.failure import Failure

    reason = Failure(ConnectionDone())
    out = []

    def run(n):
        for _ in range(n):
            proto, t = connect(factory)
            proto.dataReceived(REQ_CLOSE)
            proto.connectionLost(reason)
            out.append(t)
            del out[:-1]

    us = best(run, n)
    assert out[-1].value().startswith(b"HTTP/1.1 200"), out[-1].value()
    return us


def memory(factory, n=2000):
    """
    Bytes allocated (tracemalloc) per idle keep-alive connection that has
    answered one request, protocol and transport included, minus the
    transports alone.
    """
    def measure(withProtocol):
        conns = []
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            if withProtocol:
                proto, t = connect(factory)
                proto.dataReceived(REQ)
                t.clear()
                conns.append((proto, t))
            else:
                conns.append(StringTransport(hostAddress=HOST, peerAddress=PEER))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / n

    # Warm the caches first, so that they are not counted.
    connect(factory)[0].dataReceived(REQ)
    return measure(True) - measure(False)


SCENARIOS = {"keepalive": keepalive, "pipeline": pipeline, "close": close}
#: The app shapes: C{hello} the tuned one-resource site, C{site} the
#: tutorial's hello among several mounts (C{bench/apps/web2_site.py}).
SHAPES = {"hello": (web2Factory, twFactory), "site": (web2SiteFactory, twSiteFactory)}


def main(argv):
    shape = "hello"
    if argv[:1] and argv[0].startswith("--shape="):
        shape = argv.pop(0).partition("=")[2]
    web2Factory, twFactory = SHAPES[shape]
    wanted = argv or ["keepalive", "pipeline", "close", "memory"]
    for name in wanted:
        if name == "memory":
            w, tw = memory(web2Factory()), memory(twFactory())
            print(f"{'idle conn':10} web2 {w / 1024:6.2f} KiB   twisted.web {tw / 1024:6.2f} KiB")
            continue
        fn = SCENARIOS[name]
        w, tw = fn(web2Factory()), fn(twFactory())
        print(f"{name:10} web2 {w:6.1f} us   twisted.web {tw:6.1f} us   ratio {tw / w:4.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
