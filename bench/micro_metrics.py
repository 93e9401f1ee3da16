"""
CPU-time cost of the metrics: mount (web2.metrics) on a keep-alive hello
request, in memory (no sockets), as bench/micro_hot.py measures: the site
without metrics and without an access log, with metrics only, with an
access log only (to /dev/null), and with both; then the metrics cases
again as a worker of C{--workers} keeps them (prometheus_client's
multiprocess mode: values in memory-mapped files of a shared directory).

    python bench/micro_metrics.py

Each figure is the best of several rounds of process CPU time.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from twisted.internet import address, task  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
PEER = address.IPv4Address("TCP", "127.0.0.1", 54321)
HOST = address.IPv4Address("TCP", "127.0.0.1", 8080)
ROUNDS = int(os.environ.get("ROUNDS", 5))


def factory(withMetrics, withLog, directory=None):
    from web2 import http, metrics, resource, server
    from web2.channel import HTTPFactory
    from web2.config import SiteConfig
    from web2.http_headers import MimeType
    from web2.log import AccessLogService

    text = MimeType("text", "plain")

    class Hello(resource.Resource):
        def render(self, request):
            return http.Response(200, {"content-type": text}, b"Hello, world!\n")

    config = SiteConfig()
    if withMetrics:
        if directory is not None:
            config._web2Metrics = metrics.SiteMetrics(config, directory)
        metrics.metricsMount("", config)
    accessLog = None
    if withLog:
        accessLog = AccessLogService(os.devnull)
        accessLog.startService()
    site = server.Site(Hello(), accessLogObserver=metrics.observerFor(config, accessLog))
    f = HTTPFactory(site, reactor=task.Clock())
    metrics.attachFactory(config, f)
    return f


def keepalive(f, n=20000):
    proto = f.buildProtocol(PEER)
    t = StringTransport(hostAddress=HOST, peerAddress=PEER)
    proto.makeConnection(t)

    def run(count):
        for _ in range(count):
            proto.dataReceived(REQ)
            t.clear()

    run(n // 4)
    times = []
    for _ in range(ROUNDS):
        t0 = time.process_time()
        run(n)
        times.append(time.process_time() - t0)
    return min(times) / n * 1e6


def main():
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") if "--workers" in sys.argv \
        else None
    if directory is None:
        cases = [("no metrics, no access log", False, False),
                 ("metrics, no access log", True, False),
                 ("no metrics, access log", False, True),
                 ("metrics and access log", True, True)]
    else:
        cases = [("worker: metrics, no log", True, False),
                 ("worker: metrics and log", True, True)]
    for label, withMetrics, withLog in cases:
        cost = keepalive(factory(withMetrics, withLog, directory))
        print(f"{label:28s} {cost:6.2f} us/request", flush=True)
    if directory is None:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as shared:
            subprocess.run([sys.executable, __file__, "--workers"], check=True,
                           env=dict(os.environ, PROMETHEUS_MULTIPROC_DIR=shared))


if __name__ == "__main__":
    main()
