# -*- test-case-name: test_wsgi_pool -*-
"""
The threads WSGI applications run in: a bounded pool of their own, apart
from the reactor's default thread pool (which DNS lookups and
C{deferToThread} need), with a bounded queue in front of it.

A request that finds every thread busy and the queue full is refused at
once (the resource answers 503 with C{Retry-After}) instead of waiting in a
queue that grows without bound while its client gives up.

Why not L{twisted.python.threadpool.ThreadPool}: a hand-off through it costs
the reactor thread about a fifth of its time per request on a WSGI "hello
world" (its coordinator and per-call context wrapping), and every call
wakes a thread of its own.  This pool is a deque and a condition variable:
an idle thread is woken only when none is already on its way, a thread that
finds more work queued wakes the next one (so slow applications still run
in parallel), and a thread takes the next job without sleeping when there
is one.  Results come back through one I{mailbox} per pool: one
C{callFromThread} carries every result that is ready, however many.

An idle thread is woken at the end of the reactor's round of events, not
at each submission: the requests of one round go to the threads together,
when the reactor is about to wait for input and lets go of the GIL.
Waking a thread mid-round (a futex wake from the reactor thread) made the
woken thread fight the reactor for the GIL at each of its system calls;
it cost a WSGI "hello world" a quarter of its rate.
"""

from __future__ import annotations

import threading
from collections import deque

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

__all__ = ["WSGIThreadPool"]

log = Logger()


class _Mailbox:
    """
    Calls to make in the reactor thread, posted from any thread; the
    reactor is woken once for all the calls posted while it was busy.
    """

    def __init__(self, callFromThread):
        self._callFromThread = callFromThread
        self._lock = threading.Lock()
        self._calls: list = []
        self._rung = False

    def post(self, call, *args) -> None:
        with self._lock:
            self._calls.append((call, args))
            if self._rung:
                return
            self._rung = True
        self._callFromThread(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
            self._rung = False
        for call, args in calls:
            try:
                call(*args)
            except Exception:
                log.failure("A WSGI hand-off to the reactor thread failed")


class WSGIThreadPool(service.Service):
    """
    A thread pool for WSGI applications, usable as a service (started and
    stopped with its parent) or on its own (started on first use, stopped
    when the reactor shuts down).

    Jobs are objects with C{run()} (called in a worker thread) and
    C{abort(reason)} (called in the reactor thread when the pool stops
    before or while running them).

    @ivar maxThreads: the most threads running applications at once.
    @ivar minThreads: the threads started with the pool and kept when idle.
    @ivar queueSize: the most jobs waiting for a thread; beyond it
        L{submit} refuses.
    @ivar stopTimeout: seconds L{stopService} waits for running jobs to end
        before it aborts them, and then for the threads to end.
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
        @param minThreads: see L{minThreads}.
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
        self.minThreads = minThreads
        self.queueSize = queueSize
        self.stopTimeout = stopTimeout
        self.name = name
        self.mailbox = _Mailbox(reactor.callFromThread)
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque = deque()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._waking = 0
        self._wakeScheduled = False
        self._quit = False
        self._jobs: set = set()
        self._idleWaiters: list[defer.Deferred] = []
        self._started = False
        self._stopping = False
        self._trigger = None

    @property
    def inFlight(self) -> int:
        """
        The jobs submitted and not yet finished: running or queued.
        """
        return len(self._jobs)

    @property
    def queued(self) -> int:
        """
        The jobs waiting for a thread.
        """
        return len(self._queue)

    @property
    def busy(self) -> int:
        """
        The threads running a job now (alive and not idle).
        """
        return len(self._threads) - self._idle

    @property
    def threadCount(self) -> int:
        """
        The threads alive now.
        """
        return len(self._threads)

    @property
    def saturated(self) -> bool:
        """
        Whether L{submit} would refuse a job now.
        """
        return self._stopping or len(self._jobs) >= self.maxThreads + self.queueSize

    def post(self, call, *args) -> None:
        """
        From any thread: call C{call(*args)} soon in the reactor thread.
        """
        self.mailbox.post(call, *args)

    def submit(self, job) -> bool:
        """
        From the reactor thread: run C{job.run()} in a worker thread, unless
        the pool is saturated or stopping.

        @return: whether the job was accepted.
        """
        if self.saturated:
            return False
        if not self._started:
            self._startOnDemand()
        self._jobs.add(job)
        with self._cond:
            self._queue.append(job)
            # A wake-up scheduled for the end of this round counts as a
            # thread on its way.
            waking = self._waking + self._wakeScheduled
            if self._idle > waking:
                if not waking:
                    # Woken after this round of events (see the module's
                    # docstring).
                    self._wakeScheduled = True
                    self.reactor.callLater(0, self._wakeIdle)
            elif len(self._threads) < self.maxThreads:
                self._spawn()
        return True

    def _wakeIdle(self) -> None:
        """
        Wake one idle thread for the jobs queued during the round of events
        that just ended (it wakes the next if more are queued).
        """
        self._wakeScheduled = False
        with self._cond:
            if self._queue and self._idle > self._waking and not self._waking:
                self._waking += 1
                self._cond.notify()

    def _spawn(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        cond = self._cond
        queue = self._queue
        post = self.mailbox.post
        while True:
            with cond:
                while not queue:
                    if self._quit:
                        self._threads.remove(threading.current_thread())
                        return
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                    if self._waking:
                        self._waking -= 1
                job = queue.popleft()
                if queue and self._idle > self._waking:
                    # More work: wake the next thread, so that slow
                    # applications run side by side.
                    self._waking += 1
                    cond.notify()
            try:
                job.run()
            except BaseException:
                log.failure("A WSGI job failed outside the application")
            post(self._finished, job)

    def _finished(self, job) -> None:
        self._jobs.discard(job)
        if not self._jobs and self._idleWaiters:
            waiters, self._idleWaiters = self._idleWaiters, []
            for d in waiters:
                d.callback(None)

    def _start(self) -> None:
        self._started = True
        self._quit = False
        with self._cond:
            while len(self._threads) < self.minThreads:
                self._spawn()

    def _startOnDemand(self) -> None:
        """
        Used without a service parent: start now and stop when the reactor
        shuts down (after the servers' own shutdown, so that running
        requests can finish).
        """
        self._start()
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
        if not self._started:
            self._start()

    def stopService(self):
        """
        Refuse new jobs, give the running ones up to L{stopTimeout} seconds,
        abort the rest, then stop the threads.

        @return: a Deferred that fires when that is done.
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
        """
        Abort every job in flight (queued ones get their 503 now; running
        ones are woken from every wait of ours), then let the threads end
        and wait for them, at most L{stopTimeout} seconds in all.
        """
        self._stopping = True
        if self._trigger is not None:
            trigger, self._trigger = self._trigger, None
            try:
                self.reactor.removeSystemEventTrigger(trigger)
            except (ValueError, KeyError, TypeError):
                pass
        for job in list(self._jobs):
            job.abort("the server is stopping")
        with self._cond:
            self._queue.clear()
            self._wakeScheduled = False
            self._quit = True
            self._started = False
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = self.reactor.seconds() + self.stopTimeout
        for thread in threads:
            thread.join(max(0.0, deadline - self.reactor.seconds()))
            if thread.is_alive():
                log.warn("WSGI thread {name} is still running an application; "
                         "leaving it", name=thread.name)
