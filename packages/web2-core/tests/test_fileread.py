"""
L{web2._fileread}: response files read in threads over TLS, driven here by
hand (a pool that runs each read when the test says); the real server with
a TLS client and a read that blocks is tested in the repository's
C{tests/test_tls_static_offreactor.py}.
"""

import queue
import threading
import time

import pytest
from twisted.internet import defer

from web2._fileread import FileReadThreads, ThreadedFileStream, offReactor
from web2.stream import FileStream


class _Pool:
    """
    Holds each call until L{run}: a read "in a thread" that the test ends.
    """

    def __init__(self):
        self.calls = []

    def call(self, f):
        d = defer.Deferred()
        self.calls.append((f, d))
        return d

    def run(self):
        f, d = self.calls.pop(0)
        try:
            result = f()
        except BaseException:
            d.errback()
        else:
            d.callback(result)


WAIT = 10.0


def _results(d):
    got = []
    d.addBoth(got.append)
    return got


def _file(tmp_path, data):
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    return open(path, "rb")


def test_readsInThePool(tmp_path):
    """
    Each chunk is read by a call in the pool, one at a time; the end is
    answered at once and closes the file.
    """
    f = _file(tmp_path, b"a" * 10 + b"b" * 5)
    pool = _Pool()
    stream = ThreadedFileStream(FileStream(f, chunkSize=10, closeFile=True),
                                pool)
    assert stream.length == 15
    first = stream.read()
    assert isinstance(first, defer.Deferred) and len(pool.calls) == 1
    got = _results(first)
    assert got == []  # not read until the pool runs it
    pool.run()
    assert got == [b"a" * 10] and stream.length == 5
    got = _results(stream.read())
    pool.run()
    assert got == [b"b" * 5] and stream.length == 0
    assert stream.read() is None and pool.calls == []
    assert f.closed


def test_closeWhileReading(tmp_path):
    """
    Closed while a read is in flight (the client went away): the file is
    closed once the read is back, not under it, and the read answers the
    end.
    """
    f = _file(tmp_path, b"x" * 100)
    pool = _Pool()
    stream = ThreadedFileStream(FileStream(f, closeFile=True), pool)
    got = _results(stream.read())
    stream.close()
    assert not f.closed
    pool.run()
    assert f.closed
    assert got == [None]
    assert stream.read() is None and pool.calls == []


def test_truncatedFileFails(tmp_path):
    """
    A file shorter than promised fails the read (the response is cut, as
    on the reactor thread).
    """
    from web2.stream import FileStreamTruncated

    f = _file(tmp_path, b"x" * 4)
    pool = _Pool()
    stream = ThreadedFileStream(FileStream(f, length=10, closeFile=True), pool)
    got = _results(stream.read())
    pool.run()
    assert got[0] == b"x" * 4
    got = _results(stream.read())
    pool.run()
    assert got[0].check(FileStreamTruncated)


class _Chan:
    def __init__(self, secure, reactor):
        self.secure = secure
        self.channel = type("Channel", (), {"reactor": reactor})()

    def isSecure(self):
        return self.secure


def test_offReactorOnlyOverTLS(tmp_path):
    """
    Only a TLS connection's real file is wrapped; a plain connection, an
    in-memory file and a clock-driven test reactor keep the stream.
    """
    import io

    from twisted.internet import reactor, task

    f = _file(tmp_path, b"data")
    plain = FileStream(f)
    assert offReactor(_Chan(False, reactor), plain) is plain
    memory = FileStream(io.BytesIO(b"data"))
    assert offReactor(_Chan(True, reactor), memory) is memory
    assert offReactor(_Chan(True, task.Clock()), plain) is plain
    wrapped = offReactor(_Chan(True, reactor), plain)
    assert isinstance(wrapped, ThreadedFileStream) and wrapped.source is plain
    assert isinstance(wrapped._pool, FileReadThreads) and wrapped._pool.reactor is reactor
    wrapped.close()
    f.close()


class _ThreadReactor:
    """
    Collects what the threads hand back, for the test to run; records the
    shutdown trigger.
    """

    def __init__(self):
        self.fromThreads = queue.Queue()
        self.triggers = []

    def callFromThread(self, f, *args):
        self.fromThreads.put((f, args))

    def addSystemEventTrigger(self, phase, event, f):
        self.triggers.append((phase, event, f))
        return len(self.triggers)

    def runOne(self):
        f, args = self.fromThreads.get(timeout=WAIT)
        f(*args)


def test_threadsBounded():
    """
    Six reads that block, two threads at most: two run, four wait in order;
    released, all six answer (a failure as a failure); the reactor's
    shutdown tells the idle threads to end, without waiting for them.
    """
    with pytest.raises(ValueError):
        FileReadThreads(object(), maxThreads=0)
    reactor = _ThreadReactor()
    threads = FileReadThreads(reactor, maxThreads=2)
    release = threading.Event()
    running = threading.Semaphore(0)

    def job(n):
        def read():
            running.release()
            release.wait(WAIT)
            if n == 5:
                raise OSError("a bad sector")
            return n
        return read

    got = []
    for n in range(6):
        threads.call(job(n)).addBoth(got.append)
    try:
        assert running.acquire(timeout=WAIT) and running.acquire(timeout=WAIT)
        assert threads.threadCount == 2
        assert not running.acquire(timeout=0.2)  # the third waits for a thread
        assert reactor.triggers == [("during", "shutdown", threads.stop)]
    finally:
        release.set()
    for _ in range(6):
        reactor.runOne()
    from twisted.python.failure import Failure

    assert sorted(r for r in got if not isinstance(r, Failure)) == [0, 1, 2, 3, 4]
    assert [r.check(OSError) for r in got if isinstance(r, Failure)] == [OSError]
    reactor.triggers[0][2]()  # the reactor shuts down
    deadline = time.monotonic() + WAIT
    while threads.threadCount and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threads.threadCount == 0


def test_readBehindAStuckOneGetsAThread():
    """
    Two reads queued together while one thread is idle: the idle thread
    takes one, and the other gets a thread of its own (there is room for
    more), so a read that never comes back does not hold up the one
    queued with it.  The pool's lock is held across both calls, as when
    the idle thread has not woken yet between them.
    """
    reactor = _ThreadReactor()
    threads = FileReadThreads(reactor, maxThreads=4)
    threads._cond = threading.Condition(threading.RLock())
    threads.call(lambda: "warm")
    reactor.runOne()
    deadline = time.monotonic() + WAIT
    while threads._idle != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threads._idle == 1 and threads.threadCount == 1
    stuck = threading.Event()
    quick = threading.Event()
    with threads._cond:
        threads.call(lambda: stuck.wait(WAIT) and "stuck")
        threads.call(quick.set)
    try:
        assert quick.wait(WAIT), "the second read waited behind the stuck one"
        assert threads.threadCount == 2
    finally:
        stuck.set()
    threads.stop()
