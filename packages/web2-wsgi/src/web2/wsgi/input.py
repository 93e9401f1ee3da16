# -*- test-case-name: test_wsgi_input -*-
"""
C{wsgi.input}: the request body, read by the application in a worker thread
from the body stream that lives in the reactor thread.

The two halves share a small buffer guarded by a condition variable:

  - the B{pump} (reactor thread) reads the request's L{IByteStream} into the
    buffer until it holds C{bufferSize} bytes, then stops; it starts only
    when the application first reads, so a body nobody reads is never
    asked for (and a C{100 Continue} is never sent for it);
  - L{InputStream} (worker thread) takes chunks from the buffer, waiting
    when it is empty, and restarts the pump with one hand-off
    when it has emptied a full buffer.

So at most about C{bufferSize} bytes wait here, the body stream's own
backpressure pauses the socket beyond that, and no read blocks forever: the
end of the body ends every read with C{b""}, a lost connection makes every
read raise L{ClientDisconnected}, and L{InputStream.abort} (server shutdown)
does the same.
"""

from __future__ import annotations

import threading
from collections import deque

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from web2.stream import MemoryStream

__all__ = ["ClientDisconnected", "InputStream"]


class _NoLock:
    """
    The lock of an input whose body was whole before the application ran:
    nothing is shared, so nothing is locked.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def notify_all(self):
        pass


_NO_LOCK = _NoLock()


class ClientDisconnected(OSError):
    """
    The request body cannot be read to its end: the client went away (or
    sent a malformed body), or the server is stopping.
    """


class InputStream:
    """
    The file-like C{wsgi.input} of one request: C{read(size=-1)},
    C{readline(size=-1)}, C{readlines(hint=-1)} and iteration over lines,
    as PEP 3333 asks, plus C{readable()} and a no-op C{close()}.

    Reads never go past the end of the body: there they return C{b""}.
    """

    def __init__(self, stream, post, bufferSize: int = 65536):
        """
        Made in the reactor thread, before the application runs: what of the
        body is already in memory is taken at once (see L{_prefill}).

        @param stream: the request body, an L{IByteStream}, read only in the
            reactor thread.
        @param post: C{post(call)} calls C{call()} soon in the reactor
            thread, from any thread.
        @param bufferSize: how many bytes the pump reads ahead before it
            waits for the application.
        """
        self._stream = stream
        self._post = post
        self.bufferSize = bufferSize
        self._cond = _NO_LOCK
        # Shared state, guarded by _cond.
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._error: BaseException | None = None
        self._pumping = False
        # Worker-side state.
        self._local = bytearray()
        self._prefill()
        if not self._eof and self._error is None:
            # Only a body still arriving is shared between the threads.
            self._cond = threading.Condition(threading.Lock())

    # -- reactor side -----------------------------------------------------

    def _prefill(self) -> None:
        """
        Take the part of the body that is already in memory, and the end of
        the body if it has already arrived, so that a small request costs no
        thread hop.  Never starts reading what has not arrived (nor sends a
        C{100 Continue}).
        """
        stream = self._stream
        if stream.length == 0:
            self._eof = True
        elif isinstance(stream, MemoryStream) or (
            getattr(stream, "finished", False)
            and not getattr(stream, "continueOwed", False)
        ):
            self._pumpLoop()

    def _pump(self) -> None:
        """
        Read into the buffer until it is full, the body ends, or a read is
        pending (then the pump goes on when it completes).
        """
        try:
            self._pumpLoop()
        except BaseException as e:  # pragma: no cover - defensive
            self._ended(error=e)

    def _pumpLoop(self) -> None:
        stream = self._stream
        cond = self._cond
        while True:
            with cond:
                if self._eof or self._error is not None:
                    self._pumping = False
                    return
                if self._buffered >= self.bufferSize:
                    self._pumping = False
                    return
            try:
                data = stream.read()
            except Exception as e:
                self._ended(error=e)
                return
            if isinstance(data, Deferred):
                data.addCallbacks(self._later, self._failed)
                return
            if data is None:
                self._ended()
                return
            self._add(data)

    def _later(self, data) -> None:
        if data is None:
            self._ended()
            return
        self._add(data)
        self._pumpLoop()

    def _failed(self, failure: Failure) -> None:
        self._ended(error=failure.value)

    def _add(self, data: bytes) -> None:
        with self._cond:
            self._chunks.append(data)
            self._buffered += len(data)
            self._cond.notify_all()

    def _ended(self, error: BaseException | None = None) -> None:
        with self._cond:
            if error is not None and self._error is None and not self._eof:
                self._error = error
            self._eof = self._eof or error is None
            self._pumping = False
            self._cond.notify_all()

    def abort(self, reason: str = "the server is stopping") -> None:
        """
        From any thread: make reads that would wait raise
        L{ClientDisconnected} at once.
        """
        self._ended(error=ClientDisconnected(reason))

    # -- worker side ------------------------------------------------------

    def _pull(self) -> bool:
        """
        Move what the pump buffered into the local buffer, waiting for some
        if there is none.

        @return: C{False} at the end of the body.
        @raise ClientDisconnected: the body cannot be read to its end.
        """
        cond = self._cond
        while True:
            with cond:
                if self._chunks:
                    full = self._buffered >= self.bufferSize
                    self._local.extend(b"".join(self._chunks))
                    self._chunks.clear()
                    self._buffered = 0
                    # The pump stopped on a full buffer: restart it now, so
                    # that the body flows while the application works.
                    restart = (full and not self._eof and not self._pumping
                               and self._error is None)
                    if restart:
                        self._pumping = True
                    break
                if self._error is not None:
                    raise ClientDisconnected(
                        f"the request body ended early: {self._error}")
                if self._eof:
                    return False
                if self._pumping:
                    cond.wait()
                    continue
                self._pumping = True
            self._post(self._pump)
        if restart:
            self._post(self._pump)
        return True

    def _take(self, size: int) -> bytes:
        local = self._local
        data = bytes(local[:size])
        del local[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        """
        Read up to C{size} bytes; all the rest of the body when C{size} is
        negative or C{None}.  Returns fewer only at the end of the body.
        """
        local = self._local
        if size is None or size < 0:
            while self._pull():
                pass
            return self._take(len(local))
        while len(local) < size and self._pull():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        """
        Read one line, including its C{b"\\n"}; at most C{size} bytes when
        C{size} is not negative.
        """
        local = self._local
        searched = 0
        limited = size is not None and size >= 0
        while True:
            index = local.find(b"\n", searched)
            if index >= 0:
                end = index + 1
                return self._take(min(end, size) if limited else end)
            if limited and len(local) >= size:
                return self._take(size)
            searched = len(local)
            if not self._pull():
                return self._take(len(local))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """
        Read lines to the end of the body, or until they hold at least
        C{hint} bytes when C{hint} is positive.
        """
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """
        Nothing to do: the server owns the body (PEP 3333 forbids the
        application to close C{wsgi.input}, but some do).
        """
