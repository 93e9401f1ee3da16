"""
The WSGI pool's occupancy and queue on a C{metrics:} mount (issue #17):
web2-wsgi gives them through the C{web2_gauges} hook, without depending on
prometheus_client.  A real server, a real application holding its thread
until the test lets it go, real clients, a real scrape; then the same
under C{--workers 2}, where the scrape sums both workers' pools.
"""

import os
import threading
import time

import pytest

from web2.testing import ServerProcess, assertNoTraceback, fetch, pythonWeb2

pytest.importorskip("prometheus_client")

LOCAL = "tcp:0:interface=127.0.0.1"

APP = '''
import os, pathlib, time

def application(environ, start_response):
    if environ["PATH_INFO"] == "/hold":
        release = pathlib.Path(os.environ["HOLD_RELEASE"])
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]
'''


def _gauges(port):
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = fetch(port, "/metrics")
    assert status == 200
    return {sample.name: sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples if sample.name.startswith("web2_wsgi")}


def _until(port, wanted, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        gauges = _gauges(port)
        if all(gauges.get(k) == v for k, v in wanted.items()) \
                or time.monotonic() > deadline:
            return gauges
        time.sleep(0.05)


def _server(tmp_path, *extra):
    (tmp_path / "holdapp.py").write_text(APP)
    env = {"HOLD_RELEASE": str(tmp_path / "release")}
    return ServerProcess(
        pythonWeb2("--listen", LOCAL, "--python-path", str(tmp_path),
                   "--mount", "/app=wsgi:holdapp", "--mount", "/metrics=metrics:",
                   "--wsgi-threads", "1", "--wsgi-queue", "4", *extra),
        cwd=tmp_path, env=dict(os.environ, **env))


def test_poolOccupancyAndQueue(tmp_path):
    """
    One thread, a queue of four: three requests to an application that
    holds its thread show one busy thread and two waiting; once let go,
    none.
    """
    with _server(tmp_path) as server:
        port = server.port
        idle = _gauges(port)
        assert idle == {"web2_wsgi_threads_busy": 0, "web2_wsgi_threads": 0,
                        "web2_wsgi_threads_max": 1, "web2_wsgi_queue": 0,
                        "web2_wsgi_queue_max": 4}
        answers = []
        clients = [threading.Thread(
            target=lambda: answers.append(fetch(port, "/app/hold", timeout=90)[0]))
            for _ in range(3)]
        for client in clients:
            client.start()
        held = _until(port, {"web2_wsgi_threads_busy": 1, "web2_wsgi_queue": 2})
        assert held["web2_wsgi_threads_busy"] == 1
        assert held["web2_wsgi_queue"] == 2
        assert held["web2_wsgi_threads"] == 1
        (tmp_path / "release").write_text("")
        for client in clients:
            client.join(90)
        assert answers == [200, 200, 200]
        after = _until(port, {"web2_wsgi_threads_busy": 0, "web2_wsgi_queue": 0})
        assert (after["web2_wsgi_threads_busy"], after["web2_wsgi_queue"]) == (0, 0)
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)


def test_poolFiguresSummedOverWorkers(tmp_path):
    """
    Under C{--workers 2} the capacity gauges are the sum of both workers'
    pools, whichever worker answers the scrape.
    """
    with _server(tmp_path, "--workers", "2") as server:
        port = server.port
        gauges = _until(port, {"web2_wsgi_threads_max": 2, "web2_wsgi_queue_max": 8})
        assert gauges["web2_wsgi_threads_max"] == 2
        assert gauges["web2_wsgi_queue_max"] == 8
        result = server.stop()
    assert result.returncode == 0, result.output
