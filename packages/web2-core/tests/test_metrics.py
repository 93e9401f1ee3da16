"""
The C{metrics:} mount kind (L{web2.metrics}) on a real server, scraped and
parsed with prometheus_client's own parser; its start-up error without
prometheus_client; and the site without a metrics mount left untouched.
"""

import sys
import time

import pytest
from _launch_helpers import Server, fetch, pythonWeb2, runToEnd

from web2.config import SiteConfig
from web2.metrics import observerFor

LOCAL = "tcp:0:interface=127.0.0.1"


def _scrape(port):
    from prometheus_client.parser import text_string_to_metric_families

    status, headers, body = fetch(port, "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metricsOfARealServer(tmp_path):
    pytest.importorskip("prometheus_client")
    log = tmp_path / "access.log"
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/t=text:hello",
                           "--mount", "/metrics=metrics:", "--access-log", str(log)),
                cwd=tmp_path) as server:
        port = server.port
        for _ in range(3):
            assert fetch(port, "/t")[0] == 200
        assert fetch(port, "/t", method="POST", body=b"x" * 10)[0] == 200
        assert fetch(port, "/missing")[0] == 404
        assert fetch(port, "/t", method="BREW")[0] in (200, 405, 501)
        samples = _scrape(port)
        # The gauges, once the server has seen the earlier clients close
        # (their closes may reach it after the scrape's connection).
        deadline = time.monotonic() + 30
        gauges = _scrape(port)
        while gauges[("web2_open_connections", ())] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            gauges = _scrape(port)
        result = server.stop()
    assert result.returncode == 0, result.output
    get = samples[("web2_requests_total", (("method", "GET"), ("status", "200")))]
    assert get == 3
    assert samples[("web2_requests_total", (("method", "POST"), ("status", "200")))] == 1
    assert samples[("web2_requests_total", (("method", "GET"), ("status", "404")))] == 1
    others = [v for (name, labels), v in samples.items()
              if name == "web2_requests_total" and ("method", "other") in labels]
    assert others == [1]  # an unknown method is not a label value of its own
    assert samples[("web2_request_duration_seconds_count", ())] == 6
    assert samples[("web2_response_bytes_total", ())] >= 4 * len(b"hello")
    assert gauges[("web2_requests_in_flight", ())] == 1  # the scrape itself
    assert gauges[("web2_open_connections", ())] == 1
    # The access log is still written beside the metrics.
    deadline = time.monotonic() + 10
    while log.read_text().count("\n") < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text().count("\n") >= 6


def test_metricsWithoutPrometheusClient(tmp_path):
    """
    Without prometheus_client, a metrics: mount stops the server at
    start-up with the advice to install the extra.
    """
    blocked = ("import sys; sys.modules['prometheus_client'] = None; "
               "from web2.__main__ import main; main(sys.argv[1:])")
    result = runToEnd([sys.executable, "-c", blocked, "--listen", LOCAL,
                       "--mount", "/metrics=metrics:"], cwd=tmp_path)
    assert result.returncode == 1, result.output
    assert "pip install 'web2-core[metrics]'" in result.stderr
    assert "Traceback" not in result.output


def test_workersWithoutPrometheusClient(tmp_path):
    """
    Under C{--workers} the master itself stops at start-up with the advice
    (before starting workers that would each fail), with no traceback.
    """
    blocked = ("import sys; sys.modules['prometheus_client'] = None; "
               "from web2.__main__ import main; main(sys.argv[1:])")
    result = runToEnd([sys.executable, "-c", blocked, "--listen", LOCAL, "--workers", "2",
                       "--mount", "/metrics=metrics:"], cwd=tmp_path)
    assert result.returncode == 1, result.output
    assert "pip install 'web2-core[metrics]'" in result.stderr
    assert "started worker" not in result.output
    assert "Traceback" not in result.output


def test_noMetricsMountAddsNothing():
    """
    Without a metrics mount the site's observer is the access log itself
    (or none): nothing is added to the request path.
    """
    accessLog = object()
    assert observerFor(SiteConfig(), accessLog) is accessLog
    assert observerFor(SiteConfig(), None) is None


class _Hooks:
    def __init__(self, results):
        self.results = results

    def web2_gauges(self, config):
        return self.results


class _Plugins:
    def __init__(self, results):
        self.hook = _Hooks(results)


def test_pluginGauges():
    """
    Gauges from the C{web2_gauges} hook are read at each scrape; one whose
    reading fails shows 0 (logged once, not a failed scrape); one whose
    name is taken is left out with a log line.
    """
    pytest.importorskip("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families
    from twisted.logger import globalLogPublisher

    from web2.metrics import SiteMetrics

    values = [3]

    def broken():
        raise RuntimeError("no reading")

    config = SiteConfig()
    config.pluginManager = _Plugins([
        [("plugin_ok", "A fine gauge.", lambda: values[0]),
         ("plugin_broken", "A broken gauge.", broken),
         ("plugin_words", "Not a number.", lambda: "many")],
        [("web2_open_connections", "Taken.", lambda: 99)],
    ])
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        metrics = SiteMetrics(config)

        def scrape():
            return {s.name: s.value
                    for f in text_string_to_metric_families(metrics.render().decode())
                    for s in f.samples}

        first = scrape()
        values[0] = 5
        second = scrape()
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert (first["plugin_ok"], second["plugin_ok"]) == (3, 5)
    assert first["plugin_broken"] == second["plugin_broken"] == 0
    assert first["plugin_words"] == 0
    assert first["web2_open_connections"] == 0  # the site's own, not the plugin's
    failures = [e for e in events if "plugin_broken" in str(e.get("name"))]
    assert len(failures) == 1
    assert any("web2_open_connections" in str(e.get("name")) and
               e.get("log_level").name == "error" for e in events)
