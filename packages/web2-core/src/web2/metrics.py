# -*- test-case-name: test_metrics -*-
"""
Prometheus metrics: the C{metrics:} mount kind (C{--mount
/metrics=metrics:}) answers Prometheus's text format, through
C{prometheus_client} (the C{metrics} extra: C{pip install
'web2-core[metrics]'}; without it the mount stops the server at start-up
with that advice).

    web2_requests_total{method, status}      requests answered
    web2_request_duration_seconds            histogram of response times
    web2_response_bytes_total                body bytes sent
    web2_requests_in_flight                  requests being answered now
    web2_open_connections                    connections open now

The counters are fed by the access-log events the site already makes for
each finished request (L{web2.server.Site}'s C{accessLogObserver}), and the
two gauges are read from the HTTP factory when Prometheus scrapes: a site
without a C{metrics:} mount pays nothing.  With C{--workers}, each worker
counts its own requests and a scrape is answered by whichever worker takes
the connection: the figures are per worker, not summed by the master.
"""

from __future__ import annotations

from twisted.logger import Logger

__all__ = ["SiteMetrics", "metricsMount", "observerFor", "attachFactory"]

log = Logger(namespace=__name__)

_ADVICE = ("the metrics: mount kind needs prometheus_client: "
           "pip install 'web2-core[metrics]'")

#: Response-time buckets, in seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class SiteMetrics:
    """
    The metrics of one site, in a registry of their own.

    @ivar registry: the C{prometheus_client.CollectorRegistry}.
    @ivar factory: the L{web2.channel.HTTPFactory} whose connections the
        gauges count (set by L{attachFactory}).
    """

    def __init__(self):
        try:
            import prometheus_client as prom
        except ImportError:
            raise ValueError(_ADVICE) from None
        self._prom = prom
        self.factory = None
        self.registry = prom.CollectorRegistry(auto_describe=True)
        self.requests = prom.Counter(
            "web2_requests", "Requests answered, by method and status.",
            ["method", "status"], registry=self.registry).labels
        self.duration = prom.Histogram(
            "web2_request_duration_seconds", "Time from request to the end of the "
            "response.", buckets=BUCKETS, registry=self.registry)
        self.bytesOut = prom.Counter(
            "web2_response_bytes", "Response body bytes sent.", registry=self.registry)
        prom.Gauge("web2_requests_in_flight", "Requests being answered.",
                   registry=self.registry).set_function(self._inFlight)
        prom.Gauge("web2_open_connections", "Open connections.",
                   registry=self.registry).set_function(self._connections)
        self._children: dict = {}

    def _inFlight(self) -> float:
        factory = self.factory
        if factory is None:
            return 0
        return sum(1 for c in factory.connections if c._current is not None)

    def _connections(self) -> float:
        return 0 if self.factory is None else len(self.factory.connections)

    def __call__(self, event) -> None:
        """
        Count one access-log event (a finished request).
        """
        key = (event.get("method"), event.get("status"))
        child = self._children.get(key)
        if child is None:
            method = key[0]
            if method not in _METHODS:
                method = "other"  # bounded label values
            child = self._children[key] = self.requests(method, str(key[1]))
        child.inc()
        duration = event.get("duration")
        if duration is not None:
            self.duration.observe(duration)
        sent = event.get("bytes")
        if sent:
            self.bytesOut.inc(sent)

    def render(self) -> bytes:
        """
        The Prometheus text exposition of the metrics now.
        """
        return self._prom.generate_latest(self.registry)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                      "TRACE", "CONNECT", "PROPFIND", "PROPPATCH", "MKCOL", "COPY",
                      "MOVE", "LOCK", "UNLOCK", "REPORT"})


def metricsMount(argument: str, config):
    """
    The C{metrics:} mount kind: a resource answering the site's metrics.
    One L{SiteMetrics} per site, however many mounts show it.
    """
    from web2 import http, resource
    from web2.http_headers import MimeType

    metrics = getattr(config, "_web2Metrics", None)
    if metrics is None:
        metrics = SiteMetrics()
        config._web2Metrics = metrics
    mime = MimeType("text", "plain", {"version": "0.0.4", "charset": "utf-8"})

    class Metrics(resource.Resource):
        addSlash = False

        def render(self, request):
            response = http.Response(200, {"content-type": mime}, metrics.render())
            response.headers.setRawHeaders("cache-control", ["no-store"])
            return response

        def locateChild(self, request, segments):
            return self, ()

    return Metrics()


def observerFor(config, accessLog):
    """
    The access-log observer the site gets: C{accessLog} alone when no
    C{metrics:} mount was made (nothing added to the request path), or one
    that feeds the metrics too.
    """
    metrics = getattr(config, "_web2Metrics", None)
    if metrics is None:
        return accessLog
    if accessLog is None:
        return metrics

    def both(event):
        metrics(event)
        accessLog(event)

    return both


def attachFactory(config, factory) -> None:
    """
    Give the metrics (if any) the HTTP factory whose connections they count.
    """
    metrics = getattr(config, "_web2Metrics", None)
    if metrics is not None:
        metrics.factory = factory
