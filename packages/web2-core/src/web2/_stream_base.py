# -*- test-case-name: test_stream -*-
"""
The foundations of L{web2.stream}: the errors, the L{SimpleStream} base
class, the split of a stream of unknown length (L{fallbackSplit}) and the
loop that reads a stream to its end without recursion.

Everything here is private to the stream toolkit; the public names are
re-exported by L{web2.stream}.
"""

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from zope.interface import implementer

from web2.iweb import IByteStream


class StreamTooLong(Exception):
    """
    A stream held more bytes than the reader allowed (see
    L{web2.stream.readAll}).

    @ivar maxLength: the limit that was passed.
    """

    def __init__(self, maxLength):
        Exception.__init__(self, f"stream is longer than {maxLength} bytes")
        self.maxLength = maxLength


class LineTooLong(Exception):
    """
    A line did not end within the allowed size (see
    L{web2.stream.BufferedStream.readline}).

    @ivar size: the limit that was passed.
    """

    def __init__(self, size):
        Exception.__init__(self, f"line is longer than {size} bytes")
        self.size = size


class FileStreamTruncated(OSError):
    """
    A file ended before the bytes a L{web2.stream.FileStream} promised: it
    was truncated while being read.  The response can no longer be framed
    honestly, so the connection should be aborted.
    """


def whenReady(d, later):
    """
    Take the result of C{d} now if it already has one, else arrange for
    C{later} to be called with it.

    This is how every loop of the toolkit consumes a Deferred without
    recursing: a Deferred that fired synchronously is handled by the loop
    that holds it, and only a genuinely pending one costs a callback.

    @param d: a L{Deferred}.
    @param later: called with the result (a value or a L{Failure}) if it
        arrives after this call has returned.
    @return: C{(True, result)} if the result is already there (a
        L{Failure} is returned, not raised, and C{d} is left holding
        C{None}), else C{(False, None)}.
    """
    box = []
    sync = [True]

    def got(result):
        if sync[0]:
            box.append(result)
        else:
            later(result)

    d.addBoth(got)
    sync[0] = False
    if box:
        return True, box[0]
    return False, None


class Finish:
    """
    Returned by a L{ReadLoop} handler to end the loop with C{value}.
    """

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class ReadLoop:
    """
    Read a stream chunk by chunk, handing each to a handler, in a loop that
    runs synchronously for as long as data is available synchronously and
    never recurses, however many chunks there are.

    The handler is called with each C{bytes} chunk and with C{None} at the
    end.  It may return:
      - L{Finish}C{(value)}: stop now; the loop's Deferred fires C{value};
      - a Deferred: wait for it before reading on (a failure ends the
        loop; a L{Finish} result also ends it);
      - anything else: go on (at the end, the loop fires C{None}).

    A failure of the stream or of the handler closes the stream and fails
    the loop's Deferred.
    """

    def __init__(self, stream, handler):
        self.stream = stream
        self.handler = handler
        self.done = Deferred()

    def start(self):
        """
        Start reading.

        @return: the Deferred that fires when the loop ends.
        """
        self._run()
        return self.done

    def _run(self):
        while True:
            try:
                data = self.stream.read()
            except BaseException:
                self._fail(Failure())
                return
            if isinstance(data, Deferred):
                ready, data = whenReady(data, self._resume)
                if not ready:
                    return
            if not self._step(data):
                return

    def _resume(self, data):
        if self._step(data):
            self._run()

    def _step(self, data):
        """
        Handle one result of C{read()}.

        @return: whether the loop should read on synchronously.
        """
        if isinstance(data, Failure):
            self._fail(data)
            return False
        try:
            outcome = self.handler(data)
        except BaseException:
            self._fail(Failure())
            return False
        if isinstance(outcome, Deferred):
            ready, outcome = whenReady(
                outcome, lambda result: self._afterHandler(result, data)
            )
            if not ready:
                return False
        return self._outcome(outcome, data)

    def _afterHandler(self, outcome, data):
        if self._outcome(outcome, data):
            self._run()

    def _outcome(self, outcome, data):
        if isinstance(outcome, Failure):
            self._fail(outcome)
            return False
        if isinstance(outcome, Finish):
            self.done.callback(outcome.value)
            return False
        if data is None:
            self.done.callback(None)
            return False
        return True

    def _fail(self, failure):
        try:
            self.stream.close()
        finally:
            self.done.errback(failure)


@implementer(IByteStream)
class SimpleStream:
    """
    A base class for byte streams.  Subclasses implement C{read()}; this
    class gives them the bookkeeping of C{close()} and a C{split()} that
    works for any stream (L{fallbackSplit}).

    @ivar length: the number of bytes left, or C{None} if unknown.
    @ivar closed: whether L{close} was called.
    """

    length = None
    closed = False

    def read(self):
        """
        Read the next chunk; see L{IByteStream.read}.
        """
        raise NotImplementedError(f"{type(self).__name__}.read")

    def close(self):
        """
        Stop early: later reads return C{None} and the length becomes 0.
        """
        self.closed = True
        self.length = 0

    def split(self, point):
        """
        Split into the first C{point} bytes and the rest.

        @raise ValueError: if C{point} is negative, or past the end of a
            stream whose length is known.
        """
        checkSplitPoint(point, self.length)
        return fallbackSplit(self, point)


def checkSplitPoint(point, length):
    """
    Refuse a split point that is negative or past the known end.

    @raise ValueError: if it is.
    """
    if point < 0:
        raise ValueError(f"cannot split at a negative point ({point})")
    if length is not None and point > length:
        raise ValueError(f"split point {point} is past the end ({length} bytes)")


def fallbackSplit(stream, point):
    """
    Split a stream of any kind, even one whose length is unknown, at
    C{point} bytes.

    The first half reads through C{stream} until C{point} bytes have passed
    (cutting a chunk in two if need be); the second half waits until then
    and reads the rest.  Closing either half, in any order, is safe: if the
    first half is closed early, the second half discards the bytes the first
    would have read; when both are closed, C{stream} is closed.  If
    C{stream} ends before C{point}, the second half is empty.

    Note that reading the second half waits for the first one to be read
    or closed.

    @return: C{(firstHalf, secondHalf)}.
    """
    if point < 0:
        raise ValueError(f"cannot split at a negative point ({point})")
    post = _PostTruncaterStream(stream)
    first = _TruncaterStream(stream, point, post)
    post._truncater = first
    return first, post


class _TruncaterStream(SimpleStream):
    """
    The first half of a L{fallbackSplit}: at most C{point} bytes of the
    shared stream.
    """

    def __init__(self, stream, point, post):
        self._stream = stream
        self._remaining = point
        self._post = post
        self._ended = False
        self._pending = False
        if point == 0:
            self._end(None)

    @property
    def length(self):
        if self._ended or self.closed:
            return 0
        if self._stream.length is None:
            return None
        return min(self._remaining, self._stream.length)

    def read(self):
        if self._ended or self.closed:
            return None
        if self._pending:
            raise RuntimeError("read() called while a read is pending")
        try:
            result = self._stream.read()
        except BaseException:
            self._broken(Failure())
            raise
        if isinstance(result, Deferred):
            self._pending = True
            return result.addCallbacks(self._got, self._failed)
        return self._got(result)

    def _got(self, data):
        self._pending = False
        if data is None:
            self._end(None, eof=True)
            return None
        if len(data) >= self._remaining:
            data, rest = data[: self._remaining], data[self._remaining :]
            self._end(rest or None)
        else:
            self._remaining -= len(data)
            if self.closed:
                # Closed while this read was pending: the second half
                # discards what is left of this half.
                self._ended = True
                self._post._truncaterClosed(self._remaining)
        return None if self.closed else data

    def _failed(self, failure):
        self._pending = False
        self._broken(failure)
        return failure

    def _broken(self, failure):
        self._ended = True
        self._post._truncaterBroken(failure)

    def _end(self, rest, eof=False):
        self._ended = True
        self._post._truncaterDone(rest, eof)

    def close(self):
        self.closed = True
        if not self._ended and not self._pending:
            self._ended = True
            self._post._truncaterClosed(self._remaining)


class _PostTruncaterStream(SimpleStream):
    """
    The second half of a L{fallbackSplit}: what follows the first C{point}
    bytes of the shared stream.
    """

    _truncater = None

    def __init__(self, stream):
        self._stream = stream
        self._ready = False
        self._rest = None
        self._eof = False
        self._failure = None
        self._waiting = None

    @property
    def length(self):
        if self.closed or self._eof:
            return 0
        if self._stream.length is None:
            return None
        if self._ready:
            return len(self._rest or b"") + self._stream.length
        ahead = self._truncater.length
        if ahead is None:
            return None
        return self._stream.length - ahead

    def read(self):
        if self.closed or self._eof:
            return None
        if self._waiting is not None:
            raise RuntimeError("read() called while a read is pending")
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self._eof = True
            failure.raiseException()
        if not self._ready:
            self._waiting = Deferred()
            return self._waiting
        if self._rest is not None:
            data, self._rest = self._rest, None
            return data
        return self._stream.read()

    def _wake(self):
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            return
        readInto(self, waiting)

    def _truncaterDone(self, rest, eof=False):
        """
        The first half has passed its C{point} bytes: C{rest} is what it
        read beyond them (or C{None}); C{eof} says the shared stream ended
        first.
        """
        self._ready = True
        self._rest = rest
        self._eof = eof
        if self.closed:
            self._stream.close()
            return
        self._wake()

    def _truncaterBroken(self, failure):
        self._ready = True
        if self.closed:
            return
        self._failure = failure
        self._wake()

    def _truncaterClosed(self, remaining):
        """
        The first half was closed with C{remaining} of its bytes unread:
        discard them, unless this half is closed too.
        """
        if self.closed:
            self._ready = True
            self._stream.close()
            return
        left = [remaining]

        def discard(data):
            if data is None:
                return Finish(_EOF)
            if len(data) >= left[0]:
                return Finish(data[left[0] :] or None)
            left[0] -= len(data)
            return None

        d = ReadLoop(_NoClose(self._stream), discard).start()
        d.addCallbacks(self._discarded, self._truncaterBroken)

    def _discarded(self, rest):
        if rest is _EOF:
            self._truncaterDone(None, eof=True)
        else:
            self._truncaterDone(rest)

    def close(self):
        self.closed = True
        waiting, self._waiting = self._waiting, None
        if self._ready:
            self._stream.close()
        if waiting is not None:
            waiting.callback(None)


_EOF = object()


class _NoClose:
    """
    A view of a stream that ignores C{close()}, so that a helper loop can
    read it without owning it.
    """

    def __init__(self, stream):
        self._stream = stream

    def read(self):
        return self._stream.read()

    def close(self):
        pass


def readInto(stream, waiting: Deferred) -> None:
    """
    Read C{stream} once more and hand the result, whenever it comes, to the
    reader's C{waiting} Deferred: the step every stream takes when data it
    was waiting for has arrived.
    """
    try:
        result = stream.read()
    except BaseException:
        waiting.errback(Failure())
        return
    if isinstance(result, Deferred):
        result.chainDeferred(waiting)
    else:
        waiting.callback(result)
