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
    web2_request_bytes_total                 bytes read from clients
    web2_requests_in_flight                  requests being answered now
    web2_open_connections                    connections open now

and the gauges plugins give through the C{web2_gauges} hook (web2-wsgi's
thread pool: C{web2_wsgi_threads_busy}, C{web2_wsgi_queue} ...).

The counters are fed by the access-log events the site already makes for
each finished request (L{web2.server.Site}'s C{accessLogObserver}); the
bytes read are counted by the channel class of the site's factory (one
addition per read from a socket, handed to the counter when Prometheus
scrapes); the gauges are read from the HTTP factory and the plugins when
Prometheus scrapes.  A site without a C{metrics:} mount pays nothing.

With C{--workers}, the master makes a directory for the metrics and
removes it when it stops; each worker keeps its figures there
(prometheus_client's multiprocess mode: memory-mapped files, one set per
worker process), and a scrape, whichever worker answers it, shows the whole
server: counters and histograms summed over every worker that ever ran
under this master (a worker that died, or was replaced by a reload, keeps
its counts, so counters never go back), gauges summed over the live
workers (the master forgets a worker's gauges when it ends).  Workers
other than the one answering refresh their gauges every
L{SiteMetrics.sampleInterval} seconds.
"""

from __future__ import annotations

from twisted.logger import Logger

__all__ = ["SiteMetrics", "metricsMount", "observerFor", "attachFactory",
           "MULTIPROCESS_ENVIRONMENT"]

log = Logger(namespace=__name__)

_ADVICE = ("the metrics: mount kind needs prometheus_client: "
           "pip install 'web2-core[metrics]'")

#: The variable with which prometheus_client keeps its values in files of a
#: directory shared by processes; the master sets it for its workers.
MULTIPROCESS_ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"

#: Response-time buckets, in seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class SiteMetrics:
    """
    The metrics of one site, in a registry of their own.

    @ivar registry: the C{prometheus_client.CollectorRegistry} of this
        process's metrics.
    @ivar factory: the L{web2.channel.HTTPFactory} whose connections the
        gauges count (set by L{attachFactory}).
    @ivar directory: the directory shared with the other workers of a
        master (prometheus_client's multiprocess mode), or C{None} in a
        single process.
    @ivar bytesIn: bytes read from clients and not yet added to the
        C{web2_request_bytes_total} counter.
    """

    #: Seconds between two refreshes of a worker's gauges (and bytes read)
    #: in the shared directory.
    sampleInterval = 1.0

    def __init__(self, config=None, directory: str | None = None):
        """
        @param config: the L{web2.config.SiteConfig}, whose plugins are
            asked for gauges (the C{web2_gauges} hook) at the first scrape.
        @param directory: see L{directory}.
        """
        try:
            import prometheus_client as prom
        except ImportError:
            raise ValueError(_ADVICE) from None
        self._prom = prom
        self.config = config
        self.directory = directory
        self.factory = None
        self.bytesIn = 0
        self._gaugeMode = {"multiprocess_mode": "livesum"} if directory else {}
        self.registry = prom.CollectorRegistry(auto_describe=True)
        self.requests = prom.Counter(
            "web2_requests", "Requests answered, by method and status.",
            ["method", "status"], registry=self.registry).labels
        self.duration = prom.Histogram(
            "web2_request_duration_seconds", "Time from request to the end of the "
            "response.", buckets=BUCKETS, registry=self.registry)
        self.bytesOut = prom.Counter(
            "web2_response_bytes", "Response body bytes sent.", registry=self.registry)
        self.bytesInCounter = prom.Counter(
            "web2_request_bytes", "Bytes read from clients: request heads and bodies "
            "(with chunked framing), after TLS, before a WebSocket upgrade.",
            registry=self.registry)
        inFlight = _safe("web2_requests_in_flight", self._inFlight)
        connections = _safe("web2_open_connections", self._connections)
        self._gauges = [
            (self._gauge("web2_requests_in_flight", "Requests being answered.",
                         inFlight), inFlight),
            (self._gauge("web2_open_connections", "Open connections.",
                         connections), connections),
        ]
        self._pluginGauges = None
        self._children: dict = {}
        self._scrapeRegistry = self.registry
        if directory is not None:
            from prometheus_client import multiprocess

            self._scrapeRegistry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(self._scrapeRegistry, path=directory)

    def _gauge(self, name, documentation, read=None):
        gauge = self._prom.Gauge(name, documentation, registry=self.registry,
                                 **self._gaugeMode)
        if read is not None and self.directory is None:
            gauge.set_function(read)
        return gauge

    def _inFlight(self) -> float:
        factory = self.factory
        if factory is None:
            return 0
        return sum(1 for c in factory.connections if c._current is not None)

    def _connections(self) -> float:
        return 0 if self.factory is None else len(self.factory.connections)

    def _addPluginGauges(self) -> None:
        """
        Ask the plugins for their gauges (once): each gives C{(name,
        documentation, read)} triples, C{read()} returning the value now.
        """
        self._pluginGauges = []
        manager = getattr(self.config, "pluginManager", None)
        if manager is None:
            return
        try:
            results = manager.hook.web2_gauges(config=self.config)
        except Exception:
            log.failure("A plugin's web2_gauges hook failed; its gauges are left out")
            return
        for result in results:
            for name, documentation, read in result or ():
                read = _safe(name, read)
                try:
                    gauge = self._gauge(name, documentation, read)
                except ValueError as e:  # a name taken twice, or not a metric name
                    log.error("Leaving out the gauge {name!r}: {error}", name=name,
                              error=e)
                    continue
                self._gauges.append((gauge, read))

    def sample(self) -> None:
        """
        Hand the bytes read so far to their counter and, in a worker, write
        this process's gauges to the shared directory.
        """
        if self._pluginGauges is None:
            self._addPluginGauges()
        read, self.bytesIn = self.bytesIn, 0
        if read:
            self.bytesInCounter.inc(read)
        if self.directory is not None:
            for gauge, value in self._gauges:
                gauge.set(value())

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
        The Prometheus text exposition of the metrics now (of the whole
        server, in a worker).
        """
        self.sample()
        return self._prom.generate_latest(self._scrapeRegistry)

    def countingProtocol(self, base):
        """
        A subclass of the channel class C{base} that adds the length of
        every read to L{bytesIn}.
        """
        metrics = self
        baseReceived = base.dataReceived

        def dataReceived(self, data):
            metrics.bytesIn += len(data)
            baseReceived(self, data)

        return type(base.__name__, (base,), {"dataReceived": dataReceived,
                                             "__module__": base.__module__})


def _sampleLogged(metrics):
    """
    L{SiteMetrics.sample} for the worker's periodic refresh: a failure (a
    full disk under the metrics directory, say) is logged once and the
    refresh goes on.
    """
    failed = []

    def sample():
        try:
            metrics.sample()
        except Exception:
            if not failed:
                failed.append(True)
                log.failure("Refreshing this worker's metrics failed")

    return sample


def checkAvailable() -> None:
    """
    @raise ValueError: prometheus_client cannot be imported (with the advice
        to install the extra).
    """
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ValueError(_ADVICE) from None


def _safe(name, read):
    """
    C{read} that answers 0 when it fails or gives no number (logged once),
    so that one broken gauge does not spoil the scrape.
    """
    failed = []

    def value():
        try:
            return float(read())
        except Exception:
            if not failed:
                failed.append(True)
                log.failure("Reading the gauge {name} failed; it shows 0", name=name)
            return 0

    return value


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
    from web2.workers import metricsDirectory

    metrics = getattr(config, "_web2Metrics", None)
    if metrics is None:
        metrics = SiteMetrics(config, metricsDirectory())
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
    Give the metrics (if any) the HTTP factory whose connections they count
    and whose reads they add up; in a worker, refresh its gauges every
    L{SiteMetrics.sampleInterval} seconds once the reactor runs.
    """
    metrics = getattr(config, "_web2Metrics", None)
    if metrics is None:
        return
    metrics.factory = factory
    factory.protocol = metrics.countingProtocol(factory.protocol)
    if metrics.directory is not None:
        from twisted.internet import task

        loop = task.LoopingCall(_sampleLogged(metrics))
        loop.clock = factory.reactor
        whenRunning = getattr(factory.reactor, "callWhenRunning", None)
        if whenRunning is None:  # a task.Clock
            loop.start(metrics.sampleInterval, True)
        else:
            whenRunning(loop.start, metrics.sampleInterval, True)
