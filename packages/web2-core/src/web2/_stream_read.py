# -*- test-case-name: test_stream_read -*-
"""
Reading streams: the consuming utilities (L{readStream}, L{readAll}, ...),
L{BufferedStream} for line- and size-oriented reads, and L{HashingStream}.
"""

import hashlib

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from web2._stream_base import (
    Finish,
    LineTooLong,
    ReadLoop,
    SimpleStream,
    StreamTooLong,
    fallbackSplit,
)
from web2._stream_sources import CompoundStream, MemoryStream


def readStream(stream, callback):
    """
    Call C{callback} with each chunk of C{stream} until its end.

    Chunks that are available synchronously are handled in a loop, in the
    same reactor turn, without recursion.  If C{callback} returns a
    Deferred, the next read waits for it.

    @return: a Deferred firing C{None} at the end, or failing with the
        stream's or the callback's error (the stream is then closed).
    """

    def handler(data):
        if data is not None:
            return callback(data)
        return None

    return ReadLoop(stream, handler).start()


def readAndDiscard(stream):
    """
    Read C{stream} to its end, dropping the data.

    @return: a Deferred firing C{None} at the end.
    """
    return readStream(stream, lambda data: None)


def readIntoFile(stream, fileobj, close=True):
    """
    Write C{stream} into C{fileobj}.

    @param close: whether to close C{fileobj} at the end (also on error).
    @return: a Deferred firing C{None} when everything is written.
    """
    d = readStream(stream, fileobj.write)
    if close:

        def closeFile(result):
            fileobj.close()
            return result

        d.addBoth(closeFile)
    return d


def readAll(stream, maxLength=None):
    """
    Read C{stream} into one C{bytes}.

    @param maxLength: the most bytes accepted, or C{None} for no limit.  A
        stream that declares or turns out to be longer is closed and the
        result fails with L{StreamTooLong}, without buffering more than
        C{maxLength} bytes plus one chunk.
    @return: a Deferred firing the bytes.
    """
    if maxLength is not None and stream.length is not None and stream.length > maxLength:
        stream.close()
        return fail(StreamTooLong(maxLength))
    chunks = []
    total = [0]

    def handler(data):
        if data is None:
            return Finish(b"".join(chunks))
        total[0] += len(data)
        if maxLength is not None and total[0] > maxLength:
            raise StreamTooLong(maxLength)
        chunks.append(data)
        return None

    return ReadLoop(stream, handler).start()


class BufferedStream(SimpleStream):
    """
    A stream wrapper that can read lines and exact sizes, and take bytes
    back.

    @ivar stream: the wrapped stream.
    """

    def __init__(self, stream):
        self.stream = stream
        self._buffer = bytearray()
        self._eof = False
        self._busy = False

    @property
    def length(self):
        if self.closed:
            return 0
        if self.stream.length is None:
            return None
        return len(self._buffer) + self.stream.length

    def _fill(self, isDone):
        """
        Read into the buffer until C{isDone()} returns a result that is not
        C{None}, or the end; give that result.

        @return: a Deferred.
        """
        if self._busy:
            return fail(RuntimeError("a read is already pending"))
        try:
            result = isDone()
        except BaseException:
            return fail(Failure())
        if result is not None:
            return succeed(result)

        def handler(data):
            if data is None:
                self._eof = True
            else:
                self._buffer += data
            result = isDone()
            if result is not None:
                return Finish(result)
            return None

        def unbusy(result):
            self._busy = False
            return result

        self._busy = True
        return ReadLoop(_Unclosable(self.stream), handler).start().addBoth(unbusy)

    def _take(self, size):
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readline(self, delimiter=b"\r\n", size=None):
        """
        Read one line, delimiter included.

        @param size: the longest line (delimiter included) accepted.  A
            line longer than that fails with L{LineTooLong} as soon as
            more than C{size} bytes are buffered (so at most C{size} bytes
            plus one chunk are ever buffered); the bytes stay buffered.
            C{None} means no bound: never use that on untrusted input.
        @return: a Deferred firing the line; at the end of the stream, what
            is left without a delimiter (C{b""} if nothing).
        """
        if size is not None and size < 0:
            return fail(ValueError(f"negative line size {size}"))
        searched = [0]

        def isDone():
            buf = self._buffer
            start = max(0, searched[0] - len(delimiter) + 1)
            index = buf.find(delimiter, start)
            searched[0] = len(buf)
            if index >= 0:
                end = index + len(delimiter)
                if size is not None and end > size:
                    raise LineTooLong(size)
                return self._take(end)
            if self._eof:
                if size is not None and len(buf) > size:
                    raise LineTooLong(size)
                return self._take(len(buf))
            if size is not None and len(buf) > size:
                # Whatever follows, this line is too long: fail now rather
                # than buffer a line that never ends.
                raise LineTooLong(size)
            return None

        return self._fill(isDone)

    def readExactly(self, size=None):
        """
        Read C{size} bytes (fewer only at the end of the stream).

        @param size: how many bytes; C{None} reads everything, without a
            bound (prefer L{readAll} with a limit for untrusted input).
        @return: a Deferred firing the bytes.
        """

        def isDone():
            if size is not None and len(self._buffer) >= size:
                return self._take(size)
            if self._eof:
                return self._take(len(self._buffer))
            return None

        return self._fill(isDone)

    def pushback(self, data):
        """
        Put C{data} back in front of the stream.
        """
        self._buffer[:0] = data

    def read(self):
        if self.closed:
            return None
        if self._busy:
            raise RuntimeError("read() called while a read is pending")
        if self._buffer:
            return self._take(len(self._buffer))
        if self._eof:
            return None
        return self.stream.read()

    def split(self, point):
        """
        Split, counting the bytes buffered or pushed back.
        """
        if self._buffer:
            parts = CompoundStream([MemoryStream(self._take(len(self._buffer))), self.stream])
            return parts.split(point)
        return self.stream.split(point)

    def close(self):
        self.closed = True
        self._buffer.clear()
        self.stream.close()


class _Unclosable:
    """
    A view of a stream whose C{close()} does nothing: the read loops of
    L{BufferedStream} must not close the stream they serve.
    """

    def __init__(self, stream):
        self._stream = stream

    def read(self):
        return self._stream.read()

    def close(self):
        pass


class HashingStream(SimpleStream):
    """
    A pass-through stream that computes a digest of the bytes read through
    it, for example to check or record a Content-MD5 or a checksum.

    The digest is available once the stream has been read to its end.
    """

    def __init__(self, stream, hashName="md5"):
        """
        @param hashName: a name accepted by L{hashlib.new}.
        """
        self.stream = stream
        self._hash = hashlib.new(hashName, usedforsecurity=False)
        self._complete = False

    @property
    def length(self):
        if self.closed:
            return 0
        return self.stream.length

    def read(self):
        if self.closed or self._complete:
            return None
        result = self.stream.read()
        if isinstance(result, Deferred):
            return result.addCallback(self._update)
        return self._update(result)

    def _update(self, data):
        if data is None:
            self._complete = True
        else:
            self._hash.update(data)
        return data

    def _finalHash(self):
        if not self._complete:
            raise RuntimeError("the digest is known only at the end of the stream")
        return self._hash

    def digest(self):
        """
        @return: the digest, C{bytes}.
        @raise RuntimeError: before the end of the stream.
        """
        return self._finalHash().digest()

    def hexdigest(self):
        """
        @return: the digest in hexadecimal, C{str}.
        @raise RuntimeError: before the end of the stream.
        """
        return self._finalHash().hexdigest()

    def split(self, point):
        return fallbackSplit(self, point)

    def close(self):
        self.closed = True
        self.stream.close()

