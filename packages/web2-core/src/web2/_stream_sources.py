# -*- test-case-name: test_stream -*-
"""
Streams that produce bytes from something else: memory, a file, other
streams in sequence, a Python iterator or an async iterator.
"""

import os

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from web2._stream_base import (
    FileStreamTruncated,
    SimpleStream,
    checkSplitPoint,
    fallbackSplit,
    readInto,
    whenReady,
)
from web2.iweb import IByteStream

_pread = getattr(os, "pread", None)
_newObject = object.__new__


def _toBytes(data):
    """
    Return C{data} as C{bytes}, copying only if it is another bytes-like.

    @raise TypeError: for C{str} or anything else that is not bytes-like.
    """
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"a byte stream needs bytes, not {type(data).__name__}")


class MemoryStream(SimpleStream):
    """
    A stream of bytes held in memory.  One C{read()} returns everything that
    is left.  Splitting shares the buffer: no bytes are copied until read.

    @ivar mem: the buffer (the object given, or a memoryview of it).
    @ivar start: the offset of the next byte in C{mem}.
    """

    def __init__(self, mem, start=0, length=None):
        """
        @param mem: C{bytes}, C{bytearray} or C{memoryview}.
        @param start: where in C{mem} the stream begins.
        @param length: how many bytes it holds (default: up to the end).
        @raise TypeError: for C{str} or other non-bytes.
        @raise ValueError: if C{start} and C{length} do not fit in C{mem}.
        """
        if isinstance(mem, memoryview):
            mem = mem.cast("B") if mem.format != "B" or mem.ndim != 1 else mem
        elif not isinstance(mem, (bytes, bytearray)):
            raise TypeError(f"MemoryStream needs bytes, not {type(mem).__name__}")
        size = len(mem)
        if length is None:
            length = size - start
        if start < 0 or length < 0 or start + length > size:
            raise ValueError(
                f"start={start}, length={length} do not fit in {size} bytes"
            )
        self.mem = mem
        self.start = start
        self.length = length

    @classmethod
    def _ofBytes(cls, data: bytes) -> "MemoryStream":
        """
        A stream of all of C{data}, which the caller knows to be C{bytes}:
        the constructor without its checks, for web2's own hot path.
        """
        self = _newObject(cls)
        self.mem = data
        self.start = 0
        self.length = len(data)
        return self

    def read(self):
        """
        @return: all the remaining bytes, or C{None}.
        """
        if self.closed or not self.length:
            self.length = 0
            return None
        mem, start, length = self.mem, self.start, self.length
        self.start += length
        self.length = 0
        if type(mem) is bytes and start == 0 and length == len(mem):
            return mem
        return bytes(memoryview(mem)[start : start + length])

    def split(self, point):
        """
        Split without copying: both halves share C{mem}.

        @raise ValueError: for a negative point or one past the end.
        """
        checkSplitPoint(point, self.length)
        after = MemoryStream(self.mem, self.start + point, self.length - point)
        self.length = point
        return self, after


class _SharedFile:
    """
    The file behind one L{FileStream} and the streams split from it: the
    file is closed (if the streams own it) when the last of them is done.
    """

    def __init__(self, f, owned):
        self.f = f
        self.owned = owned
        self.users = 1

    def release(self):
        self.users -= 1
        if self.users == 0 and self.owned:
            self.f.close()


class FileStream(SimpleStream):
    """
    A stream of a region of a seekable binary file, read in chunks with
    C{os.pread} (so that streams split from one file share no seek
    position); the whole file is never read at once.

    B{The sendfile hook}: a channel that can copy a file to the socket in
    the kernel recognises a C{FileStream} and uses these attributes
    instead of calling C{read()}:
      - C{f}: the file object (C{f.fileno()} is the descriptor);
      - C{start}: the offset of the next byte in the file;
      - C{length}: the number of bytes to send.
    It then calls C{close()} on the stream when it is done.

    If the file turns out shorter than promised (it was truncated while
    being served), C{read()} raises L{FileStreamTruncated}.
    """

    def __init__(self, f, start=0, length=None, chunkSize=65536, closeFile=False):
        """
        @param f: a seekable binary file object.
        @param start: the offset of the first byte to stream.
        @param length: how many bytes to stream; by default, up to the
            current end of the file.
        @param chunkSize: the most bytes one C{read()} returns.
        @param closeFile: whether the stream owns C{f}: if so, C{f} is
            closed when this stream and every stream split from it have
            reached their end or been closed.
        """
        if start < 0 or (length is not None and length < 0):
            raise ValueError(f"bad region: start={start}, length={length}")
        if chunkSize <= 0:
            raise ValueError(f"chunkSize must be positive, not {chunkSize}")
        if length is None:
            length = max(0, self._size(f) - start)
        self.f = f
        self.start = start
        self.length = length
        self.chunkSize = chunkSize
        self._shared = _SharedFile(f, closeFile)
        self._released = False

    @staticmethod
    def _size(f):
        try:
            return os.fstat(f.fileno()).st_size
        except (AttributeError, OSError, ValueError):
            here = f.tell()
            try:
                return f.seek(0, os.SEEK_END)
            finally:
                f.seek(here)

    def _readAt(self, size, offset):
        if _pread is not None:
            try:
                fd = self.f.fileno()
            except (AttributeError, OSError, ValueError):
                pass
            else:
                return _pread(fd, size, offset)
        self.f.seek(offset)
        return self.f.read(size)

    def read(self):
        """
        @return: up to C{chunkSize} bytes, or C{None} at the end.
        @raise FileStreamTruncated: if the file ended too early.
        """
        if self.closed or not self.length:
            self._release()
            return None
        size = min(self.chunkSize, self.length)
        data = self._readAt(size, self.start)
        if not data:
            missing = self.length
            self.close()
            raise FileStreamTruncated(
                f"{getattr(self.f, 'name', self.f)!r} ended {missing} bytes "
                f"early"
            )
        self.start += len(data)
        self.length -= len(data)
        return data

    def split(self, point):
        """
        Split into two streams of the same file.

        @raise ValueError: for a negative point or one past the end.
        """
        checkSplitPoint(point, self.length)
        after = FileStream.__new__(FileStream)
        after.__dict__.update(self.__dict__)
        after.start = self.start + point
        after.length = self.length - point
        after._released = self._released
        if not self._released:
            self._shared.users += 1
        self.length = point
        return self, after

    def close(self):
        """
        Stop early; the file is closed if the stream owns it and no other
        stream split from it still needs it.
        """
        SimpleStream.close(self)
        self._release()

    def _release(self):
        if not self._released:
            self._released = True
            self._shared.release()


class CompoundStream(SimpleStream):
    """
    Several streams read one after the other.

    @ivar buckets: the streams not yet exhausted.
    """

    def __init__(self, buckets=()):
        """
        @param buckets: an iterable of streams, or of anything that adapts
            to L{IByteStream} (such as C{bytes}).
        """
        self.buckets = []
        self._pending = False
        for bucket in buckets:
            self.addStream(bucket)

    @property
    def length(self):
        """
        The sum of the parts' lengths, or C{None} if one is unknown.
        """
        total = 0
        for bucket in self.buckets:
            if bucket.length is None:
                return None
            total += bucket.length
        return total

    def addStream(self, bucket):
        """
        Append a stream (or something that adapts to L{IByteStream}).
        """
        self.buckets.append(IByteStream(bucket))

    def read(self):
        """
        Read from the current part, moving to the next one at its end.

        An error in any part closes every part before it is passed on.
        """
        if self._pending:
            raise RuntimeError("read() called while a read is pending")
        while self.buckets:
            try:
                data = self.buckets[0].read()
            except BaseException:
                self.close()
                raise
            if isinstance(data, Deferred):
                ready, data = whenReady(data, self._later)
                if not ready:
                    self._pending = True
                    self._waiting = Deferred()
                    return self._waiting
                if isinstance(data, Failure):
                    self.close()
                    data.raiseException()
            if data is not None:
                return data
            self.buckets.pop(0)
        return None

    def _later(self, result):
        self._pending = False
        waiting, self._waiting = self._waiting, None
        if isinstance(result, Failure):
            self.close()
            waiting.errback(result)
            return
        if result is not None:
            waiting.callback(result)
            return
        if self.buckets:
            self.buckets.pop(0)
        readInto(self, waiting)

    def split(self, point):
        """
        Split at C{point}: inside the part where the point falls when the
        lengths of the parts before it are known, else with
        L{fallbackSplit}.

        @raise ValueError: for a negative point or one past a known end.
        """
        checkSplitPoint(point, self.length)
        if self._pending:
            raise RuntimeError("split() called while a read is pending")
        offset = 0
        for index, bucket in enumerate(self.buckets):
            if offset == point:
                before, after = self.buckets[:index], self.buckets[index:]
                break
            if bucket.length is None:
                return fallbackSplit(self, point)
            if offset + bucket.length >= point:
                before = self.buckets[:index]
                after = self.buckets[index + 1 :]
                within = point - offset
                if within == bucket.length:
                    before.append(bucket)
                else:
                    head, tail = bucket.split(within)
                    before.append(head)
                    after.insert(0, tail)
                break
            offset += bucket.length
        else:
            before, after = self.buckets, []
        self.buckets = before
        return self, CompoundStream(after)

    def close(self):
        """
        Close every part.
        """
        buckets, self.buckets = self.buckets, []
        self.closed = True
        for bucket in buckets:
            bucket.close()


class IterableStream(SimpleStream):
    """
    A stream of the chunks of a synchronous iterable of bytes, such as the
    body a WSGI application returns.  Empty chunks are skipped.  The
    iterable's C{close()} method, if it has one, is called exactly once:
    at the end, on an error, or when the stream is closed.
    """

    def __init__(self, iterable, length=None):
        """
        @param iterable: an iterable of C{bytes} (or other bytes-like).
        @param length: the total number of bytes, if known.
        """
        self._iterable = iterable
        self._iterator = iter(iterable)
        self.length = length

    def read(self):
        if self.closed:
            return None
        while True:
            try:
                chunk = next(self._iterator)
            except StopIteration:
                self.close()
                return None
            except BaseException:
                self.close()
                raise
            if chunk:
                try:
                    chunk = _toBytes(chunk)
                except TypeError:
                    self.close()
                    raise
                if self.length is not None:
                    self.length -= len(chunk)
                return chunk

    def close(self):
        if self.closed:
            return
        SimpleStream.close(self)
        closer = getattr(self._iterable, "close", None)
        if closer is None:
            closer = getattr(self._iterator, "close", None)
        if closer is not None:
            closer()


class AsyncIteratorStream(SimpleStream):
    """
    A stream of the chunks of an async iterator of bytes (for example an
    C{async def} generator that awaits Deferreds).  Each C{read()} returns
    a Deferred driven with L{Deferred.fromCoroutine}, so the iterator may
    await anything Twisted's coroutine support accepts.  Empty chunks are
    skipped; C{close()} calls the iterator's C{aclose()} if it has one.
    """

    def __init__(self, aiter, length=None):
        """
        @param aiter: an async iterator or async iterable of bytes.
        @param length: the total number of bytes, if known.
        """
        if not hasattr(aiter, "__anext__") and hasattr(aiter, "__aiter__"):
            aiter = aiter.__aiter__()
        self._iterator = aiter
        self.length = length
        self._pending = False
        self._closeWhenIdle = False

    async def _next(self):
        while True:
            try:
                chunk = await self._iterator.__anext__()
            except StopAsyncIteration:
                return None
            if chunk:
                return _toBytes(chunk)

    def read(self):
        if self.closed:
            return None
        if self._pending:
            raise RuntimeError("read() called while a read is pending")
        self._pending = True
        return Deferred.fromCoroutine(self._next()).addBoth(self._got)

    def _got(self, result):
        self._pending = False
        if self.closed:
            if self._closeWhenIdle:
                self._aclose()
            return None
        if isinstance(result, Failure) or result is None:
            self.close()
            return result
        if self.length is not None:
            self.length -= len(result)
        return result

    def close(self):
        if self.closed:
            return
        SimpleStream.close(self)
        if self._pending:
            self._closeWhenIdle = True
        else:
            self._aclose()

    def _aclose(self):
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:

            async def closing():
                await aclose()

            Deferred.fromCoroutine(closing()).addErrback(lambda _: None)
