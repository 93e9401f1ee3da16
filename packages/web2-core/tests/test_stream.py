"""
Tests for L{web2.stream}: the sources (memory, file, compound, iterators),
L{fallbackSplit}, the adapters and the interfaces.
"""

import os
import tempfile

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from web2 import stream
from web2.iweb import IByteStream, IStream


class ManualStream(stream.SimpleStream):
    """
    A stream whose every read returns a Deferred that the test fires by
    hand with L{deliver}; records closes.

    @ivar pending: the Deferred of the read in progress, or C{None}.
    """

    def __init__(self, length=None):
        self.length = length
        self.pending = None
        self.reads = 0
        self.closeCount = 0

    def read(self):
        if self.closed:
            return None
        assert self.pending is None, "read while a read is pending"
        self.reads += 1
        self.pending = Deferred()
        return self.pending

    def deliver(self, data):
        d, self.pending = self.pending, None
        if data is not None and self.length is not None:
            self.length -= len(data)
        d.callback(data)

    def fail(self, exc):
        d, self.pending = self.pending, None
        d.errback(exc)

    def close(self):
        self.closeCount += 1
        stream.SimpleStream.close(self)


class ChunkStream(stream.SimpleStream):
    """
    A stream of given chunks, each returned synchronously (or as an
    already-fired Deferred with C{fired=True}); an exception in the list is
    raised in its turn.  Its length is unknown unless C{knownLength}.
    """

    def __init__(self, chunks, fired=False, knownLength=False):
        self.chunks = list(chunks)
        self.fired = fired
        self.closeCount = 0
        if knownLength:
            self.length = sum(len(c) for c in self.chunks)

    def read(self):
        if self.closed or not self.chunks:
            return None
        item = self.chunks.pop(0)
        if isinstance(item, Exception):
            raise item
        if self.length is not None:
            self.length -= len(item)
        return succeed(item) if self.fired else item

    def close(self):
        self.closeCount += 1
        stream.SimpleStream.close(self)


def drain(s):
    """
    Read a stream whose reads are synchronous (or already-fired Deferreds)
    to its end.

    @return: the list of chunks.
    """
    out = []
    while True:
        data = s.read()
        if isinstance(data, Deferred):
            box = []
            data.addBoth(box.append)
            assert box, "the Deferred did not fire"
            data = box[0]
        if data is None:
            return out
        assert isinstance(data, bytes) and data, repr(data)
        out.append(data)


def readAllNow(testCase, s):
    """
    Read C{s} with L{stream.readAll}, which must complete synchronously.
    """
    return testCase.successResultOf(stream.readAll(s))


class InterfaceTests(SynchronousTestCase):
    """
    Every stream class provides L{IByteStream}; bytes-likes adapt to it.
    """

    def test_verifyObjects(self):
        """
        Instances of every public stream class provide the interface.
        """
        with tempfile.TemporaryFile() as f:
            f.write(b"abc")
            f.flush()

            async def agen():
                yield b"x"

            streams = [
                stream.MemoryStream(b"abc"),
                stream.FileStream(f),
                stream.CompoundStream([b"a"]),
                stream.IterableStream([b"a"]),
                stream.AsyncIteratorStream(agen()),
                stream.ProducerStream(),
                stream.BufferedStream(stream.MemoryStream(b"a")),
                stream.HashingStream(stream.MemoryStream(b"a")),
            ]
            streams.extend(stream.fallbackSplit(ChunkStream([b"ab"]), 1))
            for s in streams:
                self.assertTrue(verifyObject(IByteStream, s), s)
                self.assertTrue(verifyObject(IStream, s), s)
                s.close()

    def test_adaptBytesLikes(self):
        """
        C{bytes}, C{bytearray} and C{memoryview} adapt to a
        L{MemoryStream} of the same bytes.
        """
        for value in (b"hello", bytearray(b"hello"), memoryview(b"hello")):
            s = IByteStream(value)
            self.assertIsInstance(s, stream.MemoryStream)
            self.assertEqual(s.length, 5)
            self.assertEqual(s.read(), b"hello")
            self.assertIsNone(s.read())

    def test_strIsNotAdapted(self):
        """
        A C{str} does not silently become bytes in some encoding.
        """
        self.assertRaises(TypeError, IByteStream, "hello")
        self.assertRaises(TypeError, stream.MemoryStream, "hello")

    def test_streamAdaptsToItself(self):
        """
        Adapting a stream gives the same stream.
        """
        s = stream.MemoryStream(b"x")
        self.assertIs(IByteStream(s), s)

    def test_reExports(self):
        """
        The interfaces are reachable from L{web2.stream}.
        """
        self.assertIs(stream.IByteStream, IByteStream)
        self.assertIs(stream.IStream, IStream)


class MemoryStreamTests(SynchronousTestCase):
    """
    L{stream.MemoryStream}.
    """

    def test_readAllAtOnce(self):
        """
        One read returns all the bytes, as C{bytes}; then C{None}.
        """
        data = b"x" * 100000
        s = stream.MemoryStream(data)
        self.assertEqual(s.length, 100000)
        out = s.read()
        self.assertIs(out, data)
        self.assertEqual(s.length, 0)
        self.assertIsNone(s.read())

    def test_bytearrayReadIsBytes(self):
        """
        A C{bytearray} buffer is read as C{bytes}.
        """
        out = stream.MemoryStream(bytearray(b"abc")).read()
        self.assertEqual(type(out), bytes)
        self.assertEqual(out, b"abc")

    def test_startAndLength(self):
        """
        C{start} and C{length} pick a region of the buffer.
        """
        self.assertEqual(stream.MemoryStream(b"0123456789", 2, 3).read(), b"234")
        self.assertEqual(stream.MemoryStream(b"0123456789", 7).read(), b"789")

    def test_badRegion(self):
        """
        A region that does not fit the buffer is refused.
        """
        self.assertRaises(ValueError, stream.MemoryStream, b"abc", 2, 5)
        self.assertRaises(ValueError, stream.MemoryStream, b"abc", -1)
        self.assertRaises(ValueError, stream.MemoryStream, b"abc", 4)

    def test_emptyReadsNone(self):
        """
        An empty stream never returns C{b""}: its first read is C{None}.
        """
        self.assertIsNone(stream.MemoryStream(b"").read())

    def test_splitMiddle(self):
        """
        Splitting in the middle gives the two parts, sharing the buffer.
        """
        data = bytearray(b"abcdef")
        a, b = stream.MemoryStream(data).split(2)
        self.assertEqual((a.length, b.length), (2, 4))
        self.assertIs(a.mem, b.mem)
        self.assertEqual(b.read(), b"cdef")
        self.assertEqual(a.read(), b"ab")

    def test_splitEnds(self):
        """
        Splitting at 0 or at the end gives an empty part.
        """
        a, b = stream.MemoryStream(b"abc").split(0)
        self.assertEqual((drain(a), drain(b)), ([], [b"abc"]))
        a, b = stream.MemoryStream(b"abc").split(3)
        self.assertEqual((drain(a), drain(b)), ([b"abc"], []))

    def test_splitPastEndOrNegative(self):
        """
        A split point past the end or negative is a C{ValueError}.
        """
        self.assertRaises(ValueError, stream.MemoryStream(b"abc").split, 4)
        self.assertRaises(ValueError, stream.MemoryStream(b"abc").split, -1)

    def test_splitOfSplit(self):
        """
        Halves can be split again.
        """
        a, b = stream.MemoryStream(b"0123456789").split(6)
        a1, a2 = a.split(2)
        b1, b2 = b.split(1)
        self.assertEqual(
            [drain(x) for x in (a1, a2, b1, b2)],
            [[b"01"], [b"2345"], [b"6"], [b"789"]],
        )

    def test_close(self):
        """
        After C{close()}, reads return C{None} and the length is 0; closing
        one half leaves the other intact.
        """
        a, b = stream.MemoryStream(b"abcd").split(2)
        b.close()
        self.assertEqual(b.length, 0)
        self.assertIsNone(b.read())
        self.assertEqual(a.read(), b"ab")


class FileStreamTests(SynchronousTestCase):
    """
    L{stream.FileStream} on real temporary files.
    """

    def makeFile(self, data):
        fd, path = tempfile.mkstemp()
        os.write(fd, data)
        os.close(fd)
        self.addCleanup(os.unlink, path)
        f = open(path, "rb")
        self.addCleanup(f.close)
        return path, f

    def test_readInChunks(self):
        """
        The file is read in chunks of at most C{chunkSize}, then C{None}.
        """
        data = os.urandom(250000)
        _, f = self.makeFile(data)
        s = stream.FileStream(f, chunkSize=65536)
        self.assertEqual(s.length, 250000)
        chunks = drain(s)
        self.assertEqual([len(c) for c in chunks], [65536] * 3 + [250000 - 3 * 65536])
        self.assertEqual(b"".join(chunks), data)
        self.assertEqual(s.length, 0)

    def test_region(self):
        """
        C{start} and C{length} pick a region.
        """
        _, f = self.makeFile(b"0123456789")
        self.assertEqual(drain(stream.FileStream(f, 3, 4)), [b"3456"])
        self.assertEqual(drain(stream.FileStream(f, 8)), [b"89"])
        self.assertEqual(drain(stream.FileStream(f, 20)), [])

    def test_noSharedSeekPosition(self):
        """
        Interleaved reads of two streams of one file do not disturb each
        other, nor the file's own position.
        """
        _, f = self.makeFile(b"a" * 10 + b"b" * 10)
        f.seek(5)
        a = stream.FileStream(f, 0, 10, chunkSize=3)
        b = stream.FileStream(f, 10, 10, chunkSize=4)
        out = {id(a): [], id(b): []}
        for _ in range(4):
            for s in (a, b):
                data = s.read()
                if data:
                    out[id(s)].append(data)
        self.assertEqual(b"".join(out[id(a)]) + b"".join(drain(a)), b"a" * 10)
        self.assertEqual(b"".join(out[id(b)]) + b"".join(drain(b)), b"b" * 10)
        self.assertEqual(f.tell(), 5)

    def test_split(self):
        """
        Splits at 0, in the middle and at the end read the right bytes;
        past the end is a C{ValueError}.
        """
        _, f = self.makeFile(b"0123456789")
        for point in (0, 4, 10):
            a, b = stream.FileStream(f, chunkSize=3).split(point)
            self.assertEqual(a.length, point)
            self.assertEqual(b.length, 10 - point)
            self.assertEqual(b"".join(drain(b)), b"0123456789"[point:])
            self.assertEqual(b"".join(drain(a)), b"0123456789"[:point])
        self.assertRaises(ValueError, stream.FileStream(f).split, 11)

    def test_sendfileHook(self):
        """
        C{f}, C{start} and C{length} describe exactly the bytes that are
        still to be sent, also after a split and a read.
        """
        _, f = self.makeFile(b"0123456789")
        a, b = stream.FileStream(f, 1, chunkSize=2).split(3)
        a.read()
        self.assertEqual((a.f, a.start, a.length), (f, 3, 1))
        self.assertEqual((b.f, b.start, b.length), (f, 4, 6))
        self.assertEqual(os.pread(b.f.fileno(), b.length, b.start), b"456789")

    def test_truncatedWhileStreaming(self):
        """
        A file truncated while it is streamed makes the next read fail with
        L{stream.FileStreamTruncated} (an C{OSError}), not return a short or
        empty body.
        """
        path, f = self.makeFile(b"x" * 200000)
        s = stream.FileStream(f, chunkSize=65536)
        self.assertEqual(len(s.read()), 65536)
        os.truncate(path, 70000)
        self.assertEqual(len(s.read()), 70000 - 65536)
        exc = self.assertRaises(stream.FileStreamTruncated, s.read)
        self.assertIsInstance(exc, OSError)
        self.assertIsNone(s.read())

    def test_truncatedThroughReadAll(self):
        """
        The truncation reaches a consumer as a failure.
        """
        path, f = self.makeFile(b"x" * 1000)
        s = stream.FileStream(f, chunkSize=100)
        os.truncate(path, 0)
        self.failureResultOf(stream.readAll(s), stream.FileStreamTruncated)

    def test_fileWithoutDescriptor(self):
        """
        A seekable file object without a descriptor (C{BytesIO}) works by
        seek and read.
        """
        import io

        s = stream.FileStream(io.BytesIO(b"0123456789"), 2, chunkSize=5)
        self.assertEqual(drain(s), [b"23456", b"789"])

    def test_closeFileWhenAllPartsDone(self):
        """
        With C{closeFile=True}, the file is closed once every stream split
        from it has ended or been closed, not before.
        """
        _, f = self.makeFile(b"0123456789")
        a, b = stream.FileStream(f, closeFile=True).split(5)
        a1, a2 = a.split(2)
        a1.close()
        drain(b)
        self.assertFalse(f.closed)
        self.assertEqual(drain(a2), [b"234"])
        self.assertTrue(f.closed)

    def test_notOwnedFileStaysOpen(self):
        """
        By default the stream does not close the file it was given.
        """
        _, f = self.makeFile(b"abc")
        s = stream.FileStream(f)
        drain(s)
        s.close()
        self.assertFalse(f.closed)


class CompoundStreamTests(SynchronousTestCase):
    """
    L{stream.CompoundStream}.
    """

    def test_readsInOrder(self):
        """
        The parts are read one after another; adapted bytes are accepted.
        """
        s = stream.CompoundStream([b"ab", stream.MemoryStream(b"cd")])
        s.addStream(ChunkStream([b"e", b"f"], fired=True))
        self.assertIsNone(s.length)
        self.assertEqual(b"".join(drain(s)), b"abcdef")

    def test_length(self):
        """
        The length is the sum of the parts' lengths, and follows reads.
        """
        s = stream.CompoundStream([b"ab", b"cde"])
        self.assertEqual(s.length, 5)
        s.read()
        self.assertEqual(s.length, 3)
        self.assertEqual(stream.CompoundStream().length, 0)

    def test_emptyPartsAndManyParts(self):
        """
        Empty parts are skipped; thousands of parts that end synchronously
        are crossed without recursion.
        """
        s = stream.CompoundStream([ChunkStream([]) for _ in range(20000)] + [b"z"])
        self.assertEqual(drain(s), [b"z"])

    def test_deferredPart(self):
        """
        A part whose read is pending makes the compound's read pending;
        reading again meanwhile is an error; the end of that part moves on
        to the next.
        """
        slow = ManualStream()
        s = stream.CompoundStream([slow, b"tail"])
        d = s.read()
        self.assertNoResult(d)
        self.assertRaises(RuntimeError, s.read)
        slow.deliver(b"one")
        self.assertEqual(self.successResultOf(d), b"one")
        d = s.read()
        slow.deliver(None)
        self.assertEqual(self.successResultOf(d), b"tail")
        self.assertIsNone(s.read())

    def test_errorClosesAllParts(self):
        """
        An error in one part closes every part and reaches the reader.
        """
        first = ChunkStream([b"a", ValueError("boom")])
        second = ChunkStream([b"b"])
        s = stream.CompoundStream([first, second])
        self.assertEqual(s.read(), b"a")
        self.assertRaises(ValueError, s.read)
        self.assertEqual((first.closeCount, second.closeCount), (1, 1))

    def test_deferredErrorClosesAllParts(self):
        """
        A failed Deferred from one part also closes every part.
        """
        slow = ManualStream()
        other = ChunkStream([b"b"])
        s = stream.CompoundStream([slow, other])
        d = s.read()
        slow.fail(ValueError("late"))
        self.failureResultOf(d, ValueError)
        self.assertEqual((slow.closeCount, other.closeCount), (1, 1))

    def test_splitKnownLengths(self):
        """
        With known lengths, splits at 0, at a boundary, inside a part and
        at the end give the right bytes.
        """
        whole = b"abcdefghij"
        for point in range(0, 11):
            s = stream.CompoundStream([b"abc", b"", b"defg", b"hij"])
            a, b = s.split(point)
            self.assertEqual((a.length, b.length), (point, 10 - point))
            self.assertEqual(b"".join(drain(b)), whole[point:])
            self.assertEqual(b"".join(drain(a)), whole[:point])

    def test_splitPastEnd(self):
        """
        A point past a known end is a C{ValueError}.
        """
        self.assertRaises(ValueError, stream.CompoundStream([b"abc"]).split, 4)

    def test_splitUnknownLengthFallsBack(self):
        """
        When a part before the point has an unknown length, the split
        still cuts at the right byte (through L{fallbackSplit}); a point
        within the known prefix splits exactly.
        """
        s = stream.CompoundStream([b"ab", ChunkStream([b"cd", b"ef"])])
        self.assertIsNone(s.length)
        a, b = s.split(3)
        self.assertEqual(b"".join(drain(a)), b"abc")
        self.assertEqual(b"".join(drain(b)), b"def")
        s = stream.CompoundStream([b"ab", ChunkStream([b"cd"])])
        a, b = s.split(1)
        self.assertEqual(a.length, 1)
        self.assertEqual(b"".join(drain(b)), b"bcd")

    def test_close(self):
        """
        Closing closes every part; later reads are C{None}.
        """
        parts = [ChunkStream([b"a"]), ChunkStream([b"b"])]
        s = stream.CompoundStream(parts)
        s.close()
        self.assertEqual([p.closeCount for p in parts], [1, 1])
        self.assertIsNone(s.read())
        self.assertEqual(s.length, 0)


class FallbackSplitTests(SynchronousTestCase):
    """
    L{stream.fallbackSplit} on streams of unknown length.
    """

    def test_splitPoints(self):
        """
        Splits at 0, inside a chunk, on a chunk boundary, at the end and
        past the end all give the right bytes.
        """
        whole = b"abcdefgh"
        for point in (0, 1, 3, 5, 8, 20):
            a, b = stream.fallbackSplit(ChunkStream([b"abc", b"de", b"fgh"]), point)
            self.assertEqual(b"".join(drain(a)), whole[:point])
            self.assertEqual(b"".join(drain(b)), whole[point:])

    def test_lengths(self):
        """
        The halves' lengths are unknown when the stream's is, and exact
        when it is known.
        """
        a, b = stream.fallbackSplit(ChunkStream([b"abc", b"de"]), 2)
        self.assertEqual((a.length, b.length), (None, None))
        a, b = stream.fallbackSplit(ChunkStream([b"abc", b"de"], knownLength=True), 2)
        self.assertEqual((a.length, b.length), (2, 3))
        drain(a)
        self.assertEqual((a.length, b.length), (0, 3))

    def test_secondHalfWaitsForFirst(self):
        """
        Reading the second half first waits until the first half has been
        read up to the point.
        """
        a, b = stream.fallbackSplit(ChunkStream([b"abc", b"def"]), 4)
        d = b.read()
        self.assertNoResult(d)
        self.assertEqual(a.read(), b"abc")
        self.assertNoResult(d)
        self.assertEqual(a.read(), b"d")
        self.assertEqual(self.successResultOf(d), b"ef")
        self.assertIsNone(a.read())
        self.assertIsNone(b.read())

    def test_closeFirstEarly(self):
        """
        Closing the first half early discards its bytes: the second half
        still starts at the point.
        """
        under = ChunkStream([b"ab", b"cd", b"ef"])
        a, b = stream.fallbackSplit(under, 3)
        a.close()
        self.assertEqual(b"".join(drain(b)), b"def")
        self.assertEqual(under.closeCount, 0)

    def test_closeFirstWhileSecondWaits(self):
        """
        A pending read of the second half is answered once the first half
        is closed.
        """
        a, b = stream.fallbackSplit(ChunkStream([b"ab", b"cd"]), 3)
        d = b.read()
        a.close()
        self.assertEqual(self.successResultOf(d), b"d")

    def test_closeSecondThenFirst(self):
        """
        Closing the second half first leaves the first readable; the shared
        stream is closed when the first one ends.
        """
        under = ChunkStream([b"ab", b"cd"])
        a, b = stream.fallbackSplit(under, 3)
        b.close()
        self.assertIsNone(b.read())
        self.assertEqual(under.closeCount, 0)
        self.assertEqual(b"".join(drain(a)), b"abc")
        self.assertEqual(under.closeCount, 1)

    def test_closeBothEitherOrder(self):
        """
        Closing both halves, in either order, closes the shared stream
        exactly once.
        """
        for order in ((0, 1), (1, 0)):
            under = ChunkStream([b"ab", b"cd"])
            halves = stream.fallbackSplit(under, 3)
            for i in order:
                halves[i].close()
            self.assertEqual(under.closeCount, 1, order)
            self.assertEqual([h.read() for h in halves], [None, None])

    def test_closeFirstWhileItsReadIsPending(self):
        """
        Closing the first half while its read is pending does not start a
        second, concurrent read of the shared stream; the bytes are
        accounted for when the read completes.
        """
        under = ManualStream()
        a, b = stream.fallbackSplit(under, 5)
        d = a.read()
        a.close()
        db = b.read()
        under.deliver(b"abc")
        self.assertIsNone(self.successResultOf(d))
        under.deliver(b"defg")
        self.assertEqual(self.successResultOf(db), b"fg")

    def test_errorReachesBothHalves(self):
        """
        An error of the shared stream fails the first half's read and the
        second half's next read.
        """
        a, b = stream.fallbackSplit(ChunkStream([b"a", ValueError("x")]), 3)
        self.assertEqual(a.read(), b"a")
        self.assertRaises(ValueError, a.read)
        self.assertRaises(ValueError, b.read)
        self.assertIsNone(b.read())

    def test_splitOfSplit(self):
        """
        Halves of a fallback split can be split again.
        """
        a, b = stream.fallbackSplit(ChunkStream([b"abcdef", b"ghij"]), 7)
        a1, a2 = a.split(2)
        b1, b2 = b.split(1)
        self.assertEqual(b"".join(drain(a1)), b"ab")
        self.assertEqual(b"".join(drain(a2)), b"cdefg")
        self.assertEqual(b"".join(drain(b1)), b"h")
        self.assertEqual(b"".join(drain(b2)), b"ij")

    def test_negative(self):
        """
        A negative point is a C{ValueError}.
        """
        self.assertRaises(ValueError, stream.fallbackSplit, ChunkStream([]), -1)


class IterableStreamTests(SynchronousTestCase):
    """
    L{stream.IterableStream}.
    """

    def test_chunks(self):
        """
        The chunks come out as bytes; empty ones are skipped.
        """
        s = stream.IterableStream([b"a", b"", bytearray(b"b"), memoryview(b"c")])
        self.assertEqual(drain(s), [b"a", b"b", b"c"])

    def test_closeCalledOnce(self):
        """
        The iterable's C{close()} is called once, at the end, even if the
        stream is closed again.
        """
        calls = []

        class Body:
            def __iter__(self):
                return iter([b"x"])

            def close(self):
                calls.append(1)

        s = stream.IterableStream(Body())
        drain(s)
        s.close()
        self.assertEqual(calls, [1])

    def test_closeEarlyClosesGenerator(self):
        """
        Closing early closes a generator (its C{finally} runs).
        """
        ran = []

        def gen():
            try:
                yield b"a"
                yield b"b"
            finally:
                ran.append(True)

        s = stream.IterableStream(gen())
        s.read()
        s.close()
        self.assertEqual(ran, [True])
        self.assertIsNone(s.read())

    def test_errorAndStrRejected(self):
        """
        An exception of the iterator, or a C{str} chunk, is raised by
        C{read()} and the stream is closed.
        """

        def gen():
            yield b"a"
            raise ZeroDivisionError()

        s = stream.IterableStream(gen())
        s.read()
        self.assertRaises(ZeroDivisionError, s.read)
        self.assertIsNone(s.read())
        s = stream.IterableStream(["text"])
        self.assertRaises(TypeError, s.read)
        self.assertIsNone(s.read())

    def test_length(self):
        """
        A given length is counted down.
        """
        s = stream.IterableStream([b"ab", b"c"], length=3)
        s.read()
        self.assertEqual(s.length, 1)


class AsyncIteratorStreamTests(SynchronousTestCase):
    """
    L{stream.AsyncIteratorStream}.
    """

    def test_awaitingDeferreds(self):
        """
        An async generator that awaits Deferreds is read chunk by chunk.
        """
        gate = Deferred()

        async def body():
            yield b"first"
            yield b""
            yield await gate

        s = stream.AsyncIteratorStream(body())
        self.assertEqual(self.successResultOf(s.read()), b"first")
        d = s.read()
        self.assertNoResult(d)
        gate.callback(b"second")
        self.assertEqual(self.successResultOf(d), b"second")
        self.assertIsNone(self.successResultOf(s.read()))

    def test_asyncIterable(self):
        """
        An async iterable (with C{__aiter__}) is accepted too; a failure of
        the iterator reaches the reader.
        """

        class Body:
            def __aiter__(self):
                return self

            async def __anext__(self):
                raise KeyError("broken")

        self.failureResultOf(stream.AsyncIteratorStream(Body()).read(), KeyError)

    def test_closeRunsFinally(self):
        """
        Closing early closes the async generator.
        """
        ran = []

        async def body():
            try:
                yield b"a"
                yield b"b"
            finally:
                ran.append(True)

        s = stream.AsyncIteratorStream(body())
        self.successResultOf(s.read())
        s.close()
        self.assertEqual(ran, [True])
        self.assertIsNone(s.read())

    def test_readAll(self):
        """
        L{stream.readAll} reads it to the end.
        """

        async def body():
            for i in range(3):
                yield b"%d" % i

        self.assertEqual(readAllNow(self, stream.AsyncIteratorStream(body())), b"012")
