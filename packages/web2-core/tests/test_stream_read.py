"""
Tests for the reading utilities of L{web2.stream}: L{readStream},
L{readAll}, L{readAndDiscard}, L{readIntoFile}, L{BufferedStream} and
L{HashingStream}.
"""

import hashlib
import io

from test_stream import ChunkStream, ManualStream, drain
from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from web2 import stream


class ReadStreamTests(SynchronousTestCase):
    """
    L{stream.readStream} and the helpers built on it.
    """

    def test_chunksInOrder(self):
        """
        The callback gets every chunk in order; the Deferred fires C{None}.
        """
        got = []
        d = stream.readStream(ChunkStream([b"a", b"b"]), got.append)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(got, [b"a", b"b"])

    def test_hundredThousandSynchronousChunks(self):
        """
        100,000 synchronous chunks, returned plainly or as fired Deferreds,
        are read in the same turn without a RecursionError.
        """
        for fired in (False, True):
            got = []
            d = stream.readStream(ChunkStream([b"x"] * 100000, fired=fired), got.append)
            self.successResultOf(d)
            self.assertEqual(len(got), 100000)

    def test_deferredChunks(self):
        """
        Chunks that arrive later are handed on when they arrive.
        """
        source = ManualStream()
        got = []
        d = stream.readStream(source, got.append)
        source.deliver(b"a")
        self.assertEqual(got, [b"a"])
        self.assertNoResult(d)
        source.deliver(None)
        self.successResultOf(d)

    def test_callbackDeferredIsWaitedFor(self):
        """
        A Deferred returned by the callback delays the next read.
        """
        source = ManualStream()
        gate = Deferred()
        d = stream.readStream(source, lambda data: gate)
        source.deliver(b"a")
        self.assertIsNone(source.pending)
        gate.callback(None)
        self.assertIsNotNone(source.pending)
        source.deliver(None)
        self.successResultOf(d)

    def test_streamFailure(self):
        """
        A failure of the stream, raised or as a Deferred, fails the result.
        """
        self.failureResultOf(
            stream.readStream(ChunkStream([b"a", OSError("x")]), lambda d: None), OSError
        )
        source = ManualStream()
        d = stream.readStream(source, lambda d: None)
        source.fail(KeyError("y"))
        self.failureResultOf(d, KeyError)

    def test_callbackFailureClosesStream(self):
        """
        An exception of the callback fails the result and closes the stream.
        """
        source = ChunkStream([b"a", b"b"])

        def bad(data):
            raise ZeroDivisionError()

        self.failureResultOf(stream.readStream(source, bad), ZeroDivisionError)
        self.assertEqual(source.closeCount, 1)

    def test_readAndDiscard(self):
        """
        L{stream.readAndDiscard} reads to the end.
        """
        source = ChunkStream([b"a"] * 10)
        self.successResultOf(stream.readAndDiscard(source))
        self.assertEqual(source.chunks, [])

    def test_readIntoFile(self):
        """
        L{stream.readIntoFile} writes everything and closes the file unless
        told not to.
        """
        f = io.BytesIO()
        f.close = lambda: setattr(f, "wasClosed", True)
        self.successResultOf(stream.readIntoFile(ChunkStream([b"ab", b"c"]), f))
        self.assertEqual(f.getvalue(), b"abc")
        self.assertTrue(f.wasClosed)
        g = io.BytesIO()
        self.successResultOf(stream.readIntoFile(ChunkStream([b"x"]), g, close=False))
        self.assertFalse(g.closed)


class ReadAllTests(SynchronousTestCase):
    """
    L{stream.readAll}.
    """

    def test_readAll(self):
        """
        All the bytes are joined.
        """
        self.assertEqual(
            self.successResultOf(stream.readAll(ChunkStream([b"a", b"bc"], fired=True))),
            b"abc",
        )
        self.assertEqual(self.successResultOf(stream.readAll(stream.MemoryStream(b""))), b"")

    def test_limitExactlyReached(self):
        """
        A stream of exactly C{maxLength} bytes is accepted.
        """
        d = stream.readAll(ChunkStream([b"ab", b"cd"]), maxLength=4)
        self.assertEqual(self.successResultOf(d), b"abcd")

    def test_declaredLengthOverLimit(self):
        """
        A stream that declares more than the limit fails at once, unread,
        and is closed.
        """
        source = ChunkStream([b"abcde"], knownLength=True)
        f = self.failureResultOf(stream.readAll(source, maxLength=4), stream.StreamTooLong)
        self.assertEqual(f.value.maxLength, 4)
        self.assertEqual(source.closeCount, 1)
        self.assertEqual(source.chunks, [b"abcde"])

    def test_unknownLengthOverLimit(self):
        """
        A stream of unknown length fails as soon as it passes the limit,
        without being read further, and is closed.
        """
        source = ChunkStream([b"ab", b"cd", b"e", b"never read"])
        self.failureResultOf(stream.readAll(source, maxLength=4), stream.StreamTooLong)
        self.assertEqual(source.chunks, [b"never read"])
        self.assertEqual(source.closeCount, 1)


class BufferedStreamTests(SynchronousTestCase):
    """
    L{stream.BufferedStream}.
    """

    def lines(self, chunks, **kw):
        s = stream.BufferedStream(ChunkStream(chunks))
        out = []
        while True:
            line = self.successResultOf(s.readline(**kw))
            if not line:
                return out
            out.append(line)

    def test_readlineAcrossChunks(self):
        """
        Lines are found across chunk boundaries, also when the delimiter
        itself is cut; the delimiter is kept; the last line may lack it.
        """
        self.assertEqual(
            self.lines([b"one\r", b"\ntw", b"o\r\nthree\r\n\r\nlast"]),
            [b"one\r\n", b"two\r\n", b"three\r\n", b"\r\n", b"last"],
        )

    def test_otherDelimiter(self):
        """
        Another delimiter can be given.
        """
        self.assertEqual(self.lines([b"a\nb\n"], delimiter=b"\n"), [b"a\n", b"b\n"])

    def test_readlineSize(self):
        """
        A line of exactly C{size} bytes (delimiter included) is accepted;
        one byte more is L{stream.LineTooLong}; a size that falls inside
        the delimiter counts it.
        """
        s = stream.BufferedStream(ChunkStream([b"abc\r\n", b"abcd\r\n"]))
        self.assertEqual(self.successResultOf(s.readline(size=5)), b"abc\r\n")
        f = self.failureResultOf(s.readline(size=5), stream.LineTooLong)
        self.assertEqual(f.value.size, 5)
        s = stream.BufferedStream(ChunkStream([b"abc\r\n"]))
        self.failureResultOf(s.readline(size=4), stream.LineTooLong)

    def test_hostileEndlessLine(self):
        """
        A line that never ends fails as soon as more than C{size} bytes are
        buffered: the stream is not read any further and the buffer holds
        at most C{size} bytes plus one chunk.
        """

        class Endless(stream.SimpleStream):
            reads = 0

            def read(self):
                self.reads += 1
                return b"A" * 100

        source = Endless()
        s = stream.BufferedStream(source)
        self.failureResultOf(s.readline(size=1000), stream.LineTooLong)
        self.assertEqual(source.reads, 11)
        self.assertLessEqual(len(s._buffer), 1100)

    def test_hostileEndlessLineOneByteAtATime(self):
        """
        A never-ending line fed one byte per read also stops at C{size}.
        """
        source = ChunkStream([b"x"] * 100000)
        s = stream.BufferedStream(source)
        self.failureResultOf(s.readline(size=64), stream.LineTooLong)
        self.assertEqual(len(source.chunks), 100000 - 65)

    def test_readlineAtEnd(self):
        """
        At the end, C{readline} fires C{b""}; within the limit a final line
        without delimiter is returned, over it it fails.
        """
        s = stream.BufferedStream(ChunkStream([b"abc"]))
        self.assertEqual(self.successResultOf(s.readline(size=3)), b"abc")
        self.assertEqual(self.successResultOf(s.readline()), b"")
        s = stream.BufferedStream(ChunkStream([b"abcd"]))
        self.failureResultOf(s.readline(size=3), stream.LineTooLong)

    def test_readlineDeferred(self):
        """
        A line whose bytes arrive later is completed when they arrive.
        """
        source = ManualStream()
        s = stream.BufferedStream(source)
        d = s.readline()
        source.deliver(b"ab")
        self.assertNoResult(d)
        source.deliver(b"\r\ncd")
        self.assertEqual(self.successResultOf(d), b"ab\r\n")
        self.assertEqual(s.read(), b"cd")

    def test_concurrentReadRefused(self):
        """
        A second read while one is pending is an error.
        """
        source = ManualStream()
        s = stream.BufferedStream(source)
        s.readline()
        self.failureResultOf(s.readline(), RuntimeError)
        self.failureResultOf(s.readExactly(1), RuntimeError)
        self.assertRaises(RuntimeError, s.read)

    def test_readExactly(self):
        """
        C{readExactly} gives exactly C{size} bytes, fewer only at the end;
        without a size, everything.
        """
        s = stream.BufferedStream(ChunkStream([b"abc", b"defg", b"h"]))
        self.assertEqual(self.successResultOf(s.readExactly(2)), b"ab")
        self.assertEqual(self.successResultOf(s.readExactly(3)), b"cde")
        self.assertEqual(self.successResultOf(s.readExactly(0)), b"")
        self.assertEqual(self.successResultOf(s.readExactly(10)), b"fgh")
        self.assertEqual(self.successResultOf(s.readExactly(10)), b"")
        s = stream.BufferedStream(ChunkStream([b"abc", b"def"]))
        self.assertEqual(self.successResultOf(s.readExactly()), b"abcdef")

    def test_pushbackAndRead(self):
        """
        Pushed-back bytes come first, also for C{readline}; C{length}
        counts them.
        """
        s = stream.BufferedStream(stream.MemoryStream(b"world\r\n"))
        s.pushback(b"hello ")
        self.assertEqual(s.length, 13)
        self.assertEqual(self.successResultOf(s.readline()), b"hello world\r\n")
        s = stream.BufferedStream(stream.MemoryStream(b"cd"))
        s.pushback(b"b")
        s.pushback(b"a")
        self.assertEqual(drain(s), [b"ab", b"cd"])

    def test_length(self):
        """
        The length is the buffered bytes plus the wrapped stream's, or
        C{None}.
        """
        s = stream.BufferedStream(stream.MemoryStream(b"abc\r\ndef"))
        self.successResultOf(s.readline())
        self.assertEqual(s.length, 3)
        self.assertIsNone(stream.BufferedStream(ChunkStream([])).length)

    def test_split(self):
        """
        Splitting counts the buffered bytes.
        """
        s = stream.BufferedStream(stream.MemoryStream(b"ab\r\ncdef"))
        self.successResultOf(s.readExactly(1))
        a, b = s.split(4)
        self.assertEqual(b"".join(drain(a)), b"b\r\nc")
        self.assertEqual(b"".join(drain(b)), b"def")
        s = stream.BufferedStream(stream.MemoryStream(b"abc"))
        a, b = s.split(1)
        self.assertEqual((drain(a), drain(b)), ([b"a"], [b"bc"]))

    def test_close(self):
        """
        Closing drops the buffer and closes the wrapped stream.
        """
        source = ChunkStream([b"ab\r\ncd"])
        s = stream.BufferedStream(source)
        self.successResultOf(s.readline())
        s.close()
        self.assertEqual(source.closeCount, 1)
        self.assertIsNone(s.read())
        self.assertEqual(s.length, 0)


class HashingStreamTests(SynchronousTestCase):
    """
    L{stream.HashingStream}.
    """

    def test_digest(self):
        """
        The digest of the bytes read through is available at the end.
        """
        s = stream.HashingStream(ChunkStream([b"abc", b"def"], fired=True))
        self.assertEqual(self.successResultOf(stream.readAll(s)), b"abcdef")
        self.assertEqual(s.hexdigest(), hashlib.md5(b"abcdef").hexdigest())
        self.assertEqual(s.digest(), hashlib.md5(b"abcdef").digest())

    def test_otherHash(self):
        """
        Another hash can be named.
        """
        s = stream.HashingStream(stream.MemoryStream(b"x"), "sha256")
        drain(s)
        self.assertEqual(s.hexdigest(), hashlib.sha256(b"x").hexdigest())

    def test_digestBeforeEnd(self):
        """
        Asking for the digest before the end (or after an early close) is
        an error rather than a digest of part of the data.
        """
        s = stream.HashingStream(ChunkStream([b"a", b"b"]))
        s.read()
        self.assertRaises(RuntimeError, s.hexdigest)
        s.close()
        self.assertRaises(RuntimeError, s.digest)

    def test_lengthAndClose(self):
        """
        The length is the wrapped stream's; closing closes it.
        """
        source = ChunkStream([b"ab"], knownLength=True)
        s = stream.HashingStream(source)
        self.assertEqual(s.length, 2)
        s.close()
        self.assertEqual((s.length, source.closeCount), (0, 1))
