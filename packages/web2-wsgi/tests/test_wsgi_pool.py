"""
Tests for L{web2.wsgi.pool}: the bounded pool, the 503 when it and its
queue are full, parallel applications, the mailbox back to the reactor, and
stopping (waiting for running requests, then aborting what is left).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from _wsgi_helpers import LiveServer, fetch, get, inThread
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from web2.wsgi import ClientDisconnected, WSGIThreadPool
from web2.wsgi.pool import _Mailbox

WAIT = 10.0


def test_badSizes():
    with pytest.raises(ValueError):
        WSGIThreadPool(maxThreads=0)
    with pytest.raises(ValueError):
        WSGIThreadPool(queueSize=-1)
    with pytest.raises(ValueError):
        WSGIThreadPool(maxThreads=2, minThreads=3)


def test_mailboxRingsOnce():
    """
    Calls posted before the reactor gets round to them travel with one
    callFromThread, and run in order.
    """
    rung = []
    box = _Mailbox(rung.append)
    done = []
    box.post(done.append, 1)
    box.post(done.append, 2)
    assert len(rung) == 1 and done == []
    rung.pop()()
    assert done == [1, 2]
    box.post(done.append, 3)
    assert len(rung) == 1


class _ClockReactor:
    """
    Enough of a reactor for a pool driven by hand: C{callLater} on a
    L{task.Clock}, C{callFromThread} collected.
    """

    def __init__(self):
        from twisted.internet import task

        self.clock = task.Clock()
        self.callLater = self.clock.callLater
        self.seconds = self.clock.seconds
        self.fromThreads = []

    def callFromThread(self, f, *args):
        self.fromThreads.append((f, args))


class _Job:
    def __init__(self, ran):
        self.ran = ran

    def run(self):
        self.ran.put(self)

    def abort(self, reason):
        pass


class _WatchedCondition(threading.Condition):
    """
    A pool's condition variable, watched by a test: it records which thread
    made each notification (each wakes one worker parked in C{wait()}),
    and lets the test wait until some number of workers are parked with no
    notification on its way to them, without sleeping.

    A worker that was notified still counts as idle in the pool until it
    takes the lock back; a test that waits for C{pool._idle} alone may see
    such a worker as waiting for work, while the pool rightly counts it as
    already on its way.
    """

    def __init__(self):
        super().__init__(threading.Lock())
        self.notifiers: list[str] = []
        self._parked = 0
        self._owed = 0
        self._changed = threading.Condition(threading.Lock())

    def notify(self, n=1):
        with self._changed:
            self.notifiers.append(threading.current_thread().name)
            self._owed += min(n, self._parked - self._owed)
        super().notify(n)

    def wait(self, timeout=None):
        with self._changed:
            self._parked += 1
            self._changed.notify_all()
        try:
            return super().wait(timeout)
        finally:
            with self._changed:
                self._parked -= 1
                if self._owed:
                    self._owed -= 1
                self._changed.notify_all()

    def waitUntilParked(self, count, timeout=WAIT) -> bool:
        """
        Wait until exactly C{count} workers are parked and none of them has
        been notified.  A parked worker holds the pool's lock until it is in
        C{wait()}, so once the pool's lock is taken after this returns, a
        notification reaches it.

        @return: whether that happened within C{timeout} seconds.
        """
        with self._changed:
            return self._changed.wait_for(
                lambda: self._parked == count and self._owed == 0, timeout)

    def notifiedFrom(self, name) -> int:
        with self._changed:
            return self.notifiers.count(name)


def test_idleThreadWokenAfterTheRound():
    """
    Jobs submitted during one round of events wake an idle thread once,
    when the round ends (the reactor's next C{callLater(0)}), not each at
    its submission; then every one of them runs.

    The workers are watched through the pool's condition variable rather
    than timed: the test waits until both are parked, and counts the
    notifications the reactor thread makes.
    """
    import queue

    reactor = _ClockReactor()
    pool = WSGIThreadPool(maxThreads=2, minThreads=2, reactor=reactor)
    cond = pool._cond = _WatchedCondition()
    me = threading.current_thread().name
    pool.startService()
    try:
        assert cond.waitUntilParked(2)
        ran = queue.Queue()
        jobs = [_Job(ran) for _ in range(3)]
        for job in jobs:
            assert pool.submit(job)
        # Nobody was woken during the round (so no job can have run): one
        # wake-up waits for its end.
        assert cond.notifiers == []
        assert len(reactor.clock.getDelayedCalls()) == 1
        assert ran.empty()
        reactor.clock.advance(0)
        # The reactor woke one thread; it wakes the next itself.
        assert cond.notifiedFrom(me) == 1
        done = {ran.get(timeout=WAIT) for _ in jobs}
        assert done == set(jobs)
        # The next round schedules its own wake-up, and its job runs.
        assert cond.waitUntilParked(2)
        assert reactor.clock.getDelayedCalls() == []
        last = _Job(ran)
        assert pool.submit(last)
        assert len(reactor.clock.getDelayedCalls()) == 1
        assert cond.notifiedFrom(me) == 1
        reactor.clock.advance(0)
        assert cond.notifiedFrom(me) == 2
        assert ran.get(timeout=WAIT) is last
    finally:
        reactor.clock.advance(0)
        pool._stopNow()


def test_sameRoundJobsStillRunSideBySide():
    """
    Jobs submitted in one round that find one idle thread (its wake-up
    scheduled) still get a thread each, up to maxThreads: applications
    that wait for each other meet.
    """
    import time

    reactor = _ClockReactor()
    pool = WSGIThreadPool(maxThreads=4, minThreads=1, reactor=reactor)
    pool.startService()
    barrier = threading.Barrier(2, timeout=WAIT)
    met = []

    class Meeting:
        def run(self):
            try:
                barrier.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)

        def abort(self, reason):
            pass

    try:
        deadline = time.monotonic() + WAIT
        while pool._idle < 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert pool.submit(Meeting()) and pool.submit(Meeting())
        assert pool.threadCount == 2
        reactor.clock.advance(0)
        deadline = time.monotonic() + WAIT
        while len(met) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert met == [True, True]
    finally:
        pool._stopNow()


class PoolTests(TestCase):

    def serve(self, app, pool):
        server = LiveServer(app, pool=pool)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_saturated503(self):
        """
        With every thread busy and the queue full, the next request gets 503
        with Retry-After at once; the others are answered once the
        application can go on.
        """
        release = threading.Event()

        def app(environ, start_response):
            release.wait(WAIT)
            start_response("200 OK", [("Content-Length", "2")])
            return [b"ok"]

        pool = WSGIThreadPool(maxThreads=1, queueSize=1)
        server = self.serve(app, pool)
        first = inThread(fetch, server.portNumber, "/1")
        second = inThread(fetch, server.portNumber, "/2")
        while pool.inFlight < 2:
            yield deferLater(0.01)
        self.assertTrue(pool.saturated)
        status, headers, body = yield inThread(fetch, server.portNumber, "/3")
        self.assertEqual(status, 503)
        self.assertEqual(headers["retry-after"], "5")
        release.set()
        results = yield defer.gatherResults([first, second])
        self.assertEqual([r[0] for r in results], [200, 200])
        self.assertLessEqual(pool.threadCount, 1)

    @defer.inlineCallbacks
    def test_parallel(self):
        """
        Applications that wait for each other finish when the pool has a
        thread for each: queued jobs wake idle threads.
        """
        barrier = threading.Barrier(3, timeout=WAIT)

        def app(environ, start_response):
            barrier.wait()
            start_response("200 OK", [])
            return [b"met"]

        pool = WSGIThreadPool(maxThreads=3, queueSize=0)
        server = self.serve(app, pool)
        results = yield defer.gatherResults(
            [inThread(fetch, server.portNumber, f"/{n}") for n in range(3)])
        self.assertEqual([r[2] for r in results], [b"met"] * 3)

    @defer.inlineCallbacks
    def test_threadsAreReused(self):
        """
        Sequential requests do not create threads beyond the first.

        Each request is made once the thread is idle again: the answer
        reaches the client a moment before its thread is back waiting, and a
        request in that moment rightly takes another thread.
        """
        pool = WSGIThreadPool(maxThreads=4)
        server = self.serve(lambda e, s: (s("200 OK", []), [b"x"])[1], pool)
        for _ in range(5):
            yield inThread(fetch, server.portNumber)
            deadline = time.monotonic() + WAIT
            while pool._idle < pool.threadCount and time.monotonic() < deadline:
                yield deferLater(0.01)
        self.assertEqual(pool.threadCount, 1)

    @defer.inlineCallbacks
    def test_stopServiceWaitsForRunningRequests(self):
        """
        Stopping the pool as a service lets the running request finish,
        refuses new ones, then ends the threads.
        """
        started = threading.Event()
        release = threading.Event()

        def app(environ, start_response):
            started.set()
            release.wait(WAIT)
            start_response("200 OK", [])
            return [b"finished"]

        pool = WSGIThreadPool(maxThreads=2, stopTimeout=WAIT)
        pool.startService()
        server = self.serve(app, pool)
        running = inThread(fetch, server.portNumber)
        yield inThread(started.wait, WAIT)
        stopped = pool.stopService()
        self.assertFalse(stopped.called)
        status, _, _ = yield inThread(fetch, server.portNumber)
        self.assertEqual(status, 503)
        release.set()
        status, _, body = yield running
        self.assertEqual((status, body), (200, b"finished"))
        yield stopped
        self.assertEqual(pool.threadCount, 0)

    @defer.inlineCallbacks
    def test_stopAbortsWhatIsLeft(self):
        """
        After stopTimeout, a request still running is woken from its wait
        for the body (ClientDisconnected) and one still queued gets 503.
        """
        errors = []
        reading = threading.Event()

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/read":
                reading.set()
                try:
                    environ["wsgi.input"].read()
                except ClientDisconnected as e:
                    errors.append(e)
            start_response("200 OK", [])
            return [b"done"]

        pool = WSGIThreadPool(maxThreads=1, queueSize=1, stopTimeout=0.05)
        pool.startService()
        server = self.serve(app, pool)

        def partialBody():
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            sock.sendall(get("/read", method="POST", headers=[("Content-Length", "10")])
                         + b"abc")
            return sock

        sock = yield inThread(partialBody)
        self.addCleanup(sock.close)
        yield inThread(reading.wait, WAIT)
        queued = inThread(fetch, server.portNumber, "/queued")
        while pool.inFlight < 2:
            yield deferLater(0.01)
        yield pool.stopService()
        status, headers, _ = yield queued
        self.assertEqual((status, headers["retry-after"]), (503, "5"))
        self.assertEqual(len(errors), 1)
        self.assertEqual(pool.threadCount, 0)


def deferLater(seconds):
    from twisted.internet import reactor, task

    return task.deferLater(reactor, seconds, lambda: None)
