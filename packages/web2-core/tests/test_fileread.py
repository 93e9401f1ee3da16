"""
L{web2._fileread}: response files read in threads over TLS, driven here by
hand (a pool that runs each read when the test says); the real server with
a TLS client and a read that blocks is tested in the repository's
C{tests/test_tls_static_offreactor.py}.
"""

from twisted.internet import defer

from web2._fileread import FileReadThreads, ThreadedFileStream, offReactor
from web2.stream import FileStream


class _Pool:
    """
    Holds each call until L{run}: a read "in a thread" that the test ends.
    """

    def __init__(self):
        self.calls = []

    def callInThreadWithCallback(self, onResult, f, *args, **kwargs):
        self.calls.append((onResult, f, args, kwargs))

    def run(self):
        onResult, f, args, kwargs = self.calls.pop(0)
        try:
            result = f(*args, **kwargs)
        except BaseException as e:
            onResult(False, e)
        else:
            onResult(True, result)


class _Reactor:
    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


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
                                _Reactor(), pool)
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
    stream = ThreadedFileStream(FileStream(f, closeFile=True), _Reactor(), pool)
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
    stream = ThreadedFileStream(FileStream(f, length=10, closeFile=True), _Reactor(), pool)
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
    wrapped.close()
    f.close()


def test_threadsBounded():
    """
    The pool has at most C{maxThreads} threads, and is stopped with the
    reactor.
    """
    import pytest

    with pytest.raises(ValueError):
        FileReadThreads(object(), maxThreads=0)
    triggers = []

    class Reactor:
        def addSystemEventTrigger(self, phase, event, f):
            triggers.append((phase, event, f))

    threads = FileReadThreads(Reactor(), maxThreads=2)
    pool = threads.pool()
    try:
        assert pool.max == 2 and threads.pool() is pool
        assert triggers == [("during", "shutdown", threads.stop)]
    finally:
        threads.stop()
    assert not pool.started
