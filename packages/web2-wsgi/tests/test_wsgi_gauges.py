"""
The WSGI pool's figures for a C{metrics:} mount: L{WSGIThreadPool.busy} and
L{WSGIThreadPool.queued} with real threads, and the plugin's C{web2_gauges}
hook reading them (web2-wsgi does not depend on prometheus_client; the
scrape itself is tested in the repository's C{tests/test_metrics_wsgi.py}).
"""

from __future__ import annotations

import threading
import time

from web2.config import SiteConfig
from web2.wsgi import WSGIThreadPool, plugin

WAIT = 10.0


class _ClockReactor:
    """
    Enough of a reactor for a pool driven by hand.
    """

    def __init__(self):
        from twisted.internet import task

        self.clock = task.Clock()
        self.callLater = self.clock.callLater
        self.seconds = self.clock.seconds

    def callFromThread(self, f, *args):
        pass


class _Held:
    """
    A job that runs until the test lets it go.
    """

    def __init__(self, release: threading.Event, running: threading.Semaphore):
        self.release = release
        self.running = running

    def run(self):
        self.running.release()
        self.release.wait(WAIT)

    def abort(self, reason):
        pass


def _until(predicate):
    deadline = time.monotonic() + WAIT
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


def test_busyAndQueued():
    """
    Two threads, four jobs that hold them: two busy, two queued; released,
    none busy and none queued.
    """
    reactor = _ClockReactor()
    pool = WSGIThreadPool(maxThreads=2, queueSize=5, reactor=reactor)
    release, running = threading.Event(), threading.Semaphore(0)
    pool.startService()
    try:
        assert (pool.busy, pool.queued) == (0, 0)
        for _ in range(4):
            assert pool.submit(_Held(release, running))
        assert running.acquire(timeout=WAIT) and running.acquire(timeout=WAIT)
        assert (pool.busy, pool.queued) == (2, 2)
        release.set()
        assert _until(lambda: pool.queued == 0 and pool.busy == 0)
        assert pool.threadCount == 2
    finally:
        release.set()
        pool._stopNow()


def test_gaugesHook():
    """
    C{web2_gauges} gives nothing for a site without WSGI mounts, and for
    one with them the pool's figures, read when called.
    """
    assert plugin.web2_gauges(SiteConfig()) == []
    config = SiteConfig()
    pool = plugin.poolFor(config)
    gauges = {name: read for name, documentation, read in plugin.web2_gauges(config)}
    assert set(gauges) == {"web2_wsgi_threads_busy", "web2_wsgi_threads",
                           "web2_wsgi_threads_max", "web2_wsgi_queue",
                           "web2_wsgi_queue_max"}
    assert gauges["web2_wsgi_threads_max"]() == pool.maxThreads
    assert gauges["web2_wsgi_queue_max"]() == pool.queueSize
    pool._queue.append(object())  # what a job waiting for a thread looks like
    try:
        assert gauges["web2_wsgi_queue"]() == 1
    finally:
        pool._queue.clear()
    assert gauges["web2_wsgi_threads_busy"]() == 0
