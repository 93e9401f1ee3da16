# -*- test-case-name: test_fileread -*-
"""
Reading response files off the reactor thread where C{sendfile} does not
apply: over TLS, the bytes of a file must pass through Python to be
encrypted, and a read from a slow disk (a network file system, a disk
spinning up, a cold cache under load) would stop every connection of the
process while it waits.

A L{web2.stream.FileStream} body that the channel could not send with
C{sendfile} on a TLS connection is wrapped in a L{ThreadedFileStream}: each
chunk (64 KiB at most) is read by one of a few threads (L{FileReadThreads},
4 by default), and the response goes on from the reactor thread.

Bounded, with backpressure: a response has at most one read in flight (the
body's producer asks for the next chunk only once the previous one was
written and the client is not behind: it pauses with the transport), so
the memory held is one chunk per response being sent, and the threads are a
fixed few however many responses wait for them.
"""

from __future__ import annotations

import threading
from collections import deque

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from web2._stream_base import SimpleStream

__all__ = ["FileReadThreads", "ThreadedFileStream", "offReactor"]

log = Logger(namespace=__name__)


class ThreadedFileStream(SimpleStream):
    """
    A L{web2.stream.FileStream} read in a thread pool: C{read()} returns a
    Deferred of the next chunk.  Closing it while a read is in flight closes
    the file once that read is back.

    @ivar source: the L{web2.stream.FileStream}; only a pool thread reads
        it while a read is in flight.
    """

    def __init__(self, source, pool):
        """
        @param pool: runs a call in a thread: C{pool.call(f)} returns a
            Deferred of its result, fired in the reactor thread
            (L{FileReadThreads}).
        """
        self.source = source
        self.length = source.length
        self._pool = pool
        self._inFlight = False
        self._closeWhenBack = False

    def read(self):
        if self.closed:
            return None
        if not self.length:
            # The end: nothing to wait for (this releases the file).
            return self.source.read()
        self._inFlight = True
        d = self._pool.call(self.source.read)
        d.addBoth(self._back)
        return d

    def _back(self, result):
        self._inFlight = False
        if self._closeWhenBack:
            self._closeWhenBack = False
            self.source.close()
            return None
        if isinstance(result, bytes):
            self.length -= len(result)
        return result

    def close(self):
        SimpleStream.close(self)
        if self._inFlight:
            self._closeWhenBack = True
        else:
            self.source.close()


class FileReadThreads:
    """
    The threads that read response files over TLS: a few of their own (not
    the reactor's pool, which DNS lookups and password checks use), started
    as reads need them, kept while idle.

    They are daemon threads, and the reactor's shutdown only tells them to
    end, without waiting: a read stuck on a disk that never answers must
    not keep the process from stopping (its response was cut by the
    drain anyway).

    @ivar maxThreads: the most reads at once; more wait in order.
    """

    def __init__(self, reactor, maxThreads: int = 4):
        if maxThreads < 1:
            raise ValueError(f"maxThreads must be at least 1, not {maxThreads}")
        self.reactor = reactor
        self.maxThreads = maxThreads
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque = deque()
        self._threads = 0
        self._idle = 0
        self._quit = False
        self._trigger = None

    @property
    def threadCount(self) -> int:
        """
        The threads alive now.
        """
        return self._threads

    def call(self, f) -> defer.Deferred:
        """
        From the reactor thread: C{f()} in one of the threads.

        @return: a Deferred of its result (or failure), fired in the reactor
            thread.
        """
        d = defer.Deferred()
        if self._trigger is None:
            self._trigger = self.reactor.addSystemEventTrigger(
                "during", "shutdown", self.stop)
        with self._cond:
            self._quit = False
            self._queue.append((f, d))
            if self._idle > 0:
                self._cond.notify()
            # An idle thread counts as idle until it wakes: with more reads
            # queued than idle threads, one of them would wait for a read
            # that may never come back (a stuck disk) while there is room
            # for another thread.
            if len(self._queue) > self._idle and self._threads < self.maxThreads:
                self._threads += 1
                threading.Thread(target=self._work, daemon=True,
                                 name=f"web2-file-read-{self._threads}").start()
        return d

    def _work(self) -> None:
        cond, queue = self._cond, self._queue
        while True:
            with cond:
                while not queue:
                    if self._quit:
                        self._threads -= 1
                        return
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                f, d = queue.popleft()
            try:
                result = f()
            except BaseException:
                result = Failure()
            self.reactor.callFromThread(_fire, d, result)

    def stop(self) -> None:
        """
        Tell the threads to end once the reads queued are done; do not wait.
        """
        self._trigger = None
        with self._cond:
            self._quit = True
            self._cond.notify_all()

    def wrap(self, fileStream) -> ThreadedFileStream:
        """
        C{fileStream}, read in these threads.
        """
        return ThreadedFileStream(fileStream, self)


def _fire(d, result):
    if isinstance(result, Failure):
        d.errback(result)
    else:
        d.callback(result)


_threads: dict[int, FileReadThreads] = {}


def _threadsFor(reactor) -> FileReadThreads:
    held = _threads.get(id(reactor))
    if held is None or held.reactor is not reactor:
        held = _threads[id(reactor)] = FileReadThreads(reactor)
    return held


def offReactor(chan, fileStream):
    """
    The body to stream for C{fileStream}, which the channel request
    C{chan} did not send with C{sendfile}: read in threads when the
    connection is TLS and the file is a real one (it has a descriptor);
    else C{fileStream} itself, read on the reactor thread as before (a
    plain connection where sendfile does not apply, an in-memory file).
    """
    try:
        secure = chan.isSecure()
        fileStream.f.fileno()
    except Exception:
        return fileStream
    if not secure:
        return fileStream
    reactor = getattr(getattr(chan, "channel", None), "reactor", None)
    if reactor is None:
        from twisted.internet import reactor
    if not hasattr(reactor, "callFromThread"):  # a task.Clock: no threads
        return fileStream
    return _threadsFor(reactor).wrap(fileStream)
