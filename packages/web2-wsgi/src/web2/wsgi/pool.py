# -*- test-case-name: test_wsgi_pool -*-
"""
The threads WSGI applications run in: a bounded pool of its own, apart from
the reactor's default thread pool (which DNS lookups and C{deferToThread}
need), with a bounded queue in front of it.

A request that finds every thread busy and the queue full is refused at
once (the resource answers 503 with C{Retry-After}) instead of waiting in a
queue that grows without bound while its client gives up.
"""

from __future__ import annotations

import threading

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

__all__ = ["WSGIThreadPool"]

log = Logger()


class WSGIThreadPool(service.Service):
    """
    A thread pool for WSGI applications, usable as a service (started and
    stopped with its parent) or on its own (started on first use, stopped
    when the reactor shuts down).

    Jobs are objects with C{run()} (called in a worker thread) and
    C{abort(reason)} (called in the reactor thread when the pool stops
    before or while running them).

    @ivar maxThreads: the most threads running applications at once.
    @ivar queueSize: the most jobs waiting for a thread; beyond it
        L{submit} refuses.
    @ivar stopTimeout: seconds L{stopService} waits for running jobs to end
        before it aborts them.
    """

    def __init__(
        self,
        maxThreads: int = 10,
        queueSize: int = 64,
        minThreads: int = 0,
        name: str = "web2-wsgi",
        stopTimeout: float = 10.0,
        reactor=None,
    ):
        """
        @param maxThreads: see L{maxThreads}; at least 1.
        @param queueSize: see L{queueSize}; 0 refuses every job that finds
            no idle thread.
        @param minThreads: threads kept even when idle.
        @param name: the name of the pool and its threads.
        @param stopTimeout: see L{stopTimeout}.
        @param reactor: the reactor; the global one by default.
        """
        if maxThreads < 1:
            raise ValueError(f"maxThreads must be at least 1, not {maxThreads}")
        if queueSize < 0:
            raise ValueError(f"queueSize must not be negative, not {queueSize}")
        if not 0 <= minThreads <= maxThreads:
            raise ValueError(f"minThreads must be between 0 and {maxThreads}")
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.maxThreads = maxThreads
        self.queueSize = queueSize
        self.stopTimeout = stopTimeout
        self.name = name
        self.threadpool = ThreadPool(minThreads, maxThreads, name)
        self._lock = threading.Lock()
        self._jobs: set = set()
        self._idleWaiters: list[defer.Deferred] = []
        self._stopping = False
        self._trigger = None

    @property
    def inFlight(self) -> int:
        """
        The jobs submitted and not yet finished: running or queued.
        """
        return len(self._jobs)

    @property
    def saturated(self) -> bool:
        """
        Whether L{submit} would refuse a job now.
        """
        return self._stopping or len(self._jobs) >= self.maxThreads + self.queueSize

    def submit(self, job) -> bool:
        """
        From the reactor thread: run C{job.run()} in a worker thread, unless
        the pool is saturated or stopping.

        @return: whether the job was accepted.
        """
        if self.saturated:
            return False
        if not self.threadpool.started:
            self._startOnDemand()
        with self._lock:
            self._jobs.add(job)
        self.threadpool.callInThread(self._run, job)
        return True

    def _run(self, job) -> None:
        try:
            job.run()
        except BaseException:
            log.failure("A WSGI job failed outside the application")
        finally:
            with self._lock:
                self._jobs.discard(job)
                idle = not self._jobs and self._idleWaiters
            if idle:
                self.reactor.callFromThread(self._fireIdle)

    def _fireIdle(self) -> None:
        if self._jobs:
            return
        waiters, self._idleWaiters = self._idleWaiters, []
        for d in waiters:
            d.callback(None)

    def _startOnDemand(self) -> None:
        """
        Used without a service parent: start now and stop when the reactor
        shuts down (after the servers' own shutdown, so that running
        requests can finish).
        """
        self.threadpool.start()
        if self._trigger is None and not self.running:
            self._trigger = self.reactor.addSystemEventTrigger(
                "during", "shutdown", self._stopNow)

    def whenIdle(self) -> defer.Deferred:
        """
        @return: a Deferred that fires once no job is in flight.
        """
        if not self._jobs:
            return defer.succeed(None)
        d = defer.Deferred()
        self._idleWaiters.append(d)
        return d

    # IService

    def startService(self) -> None:
        service.Service.startService(self)
        self._stopping = False
        if not self.threadpool.started:
            self.threadpool.start()

    def stopService(self):
        """
        Refuse new jobs, give the running ones up to L{stopTimeout} seconds,
        abort the rest, then stop the threads.

        @return: a Deferred that fires when the threads have stopped.
        """
        service.Service.stopService(self)
        self._stopping = True
        d = self.whenIdle()
        d.addTimeout(self.stopTimeout, self.reactor)
        d.addErrback(lambda f: log.warn(
            "{count} WSGI request(s) still running after {timeout} s; aborting them",
            count=len(self._jobs), timeout=self.stopTimeout))
        d.addCallback(lambda _: self._stopNow())
        return d

    def _stopNow(self) -> None:
        self._stopping = True
        if self._trigger is not None:
            try:
                self.reactor.removeSystemEventTrigger(self._trigger)
            except (ValueError, KeyError):
                pass
            self._trigger = None
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.abort("the server is stopping")
        if self.threadpool.started:
            # Jobs still queued never run: abort() answered them.  Running
            # ones were woken from every wait of ours; join them.
            self.threadpool.stop()
