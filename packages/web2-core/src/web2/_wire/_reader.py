# -*- test-case-name: test_wire_reader -*-
"""
L{RequestReader}: the server side of an HTTP/1.1 connection, bytes in,
events out.

The rules of this module:

  1. Strict line endings.  Every line of a head, a chunk-size line and
     every trailer line ends in CRLF.  A bare LF or a bare CR anywhere in
     them is a 400, never a line end: tolerating them is how a front end and
     a back end come to disagree about where a message ends.
  2. No obs-fold.  A header line starting with SP or HTAB is a 400 (RFC 9112
     section 5.2 allows a server to reject it).
  3. Up to L{MAX_EMPTY_LINES} empty lines before a request line are skipped
     (RFC 9112 section 2.2); more is a 400.
  4. Bounded buffering.  While a head is incomplete, a request line longer
     than C{max_request_line} is a 414 and a header section longer than
     C{max_header_bytes} a 431 as soon as that many bytes are held, without
     waiting for the CRLF.
  5. One event per call.  A head, each piece of body, then exactly one
     L{EndOfRequest} (at once for a request without a body).  After it the
     next request in the buffer is read (pipelining), or L{CLOSED} is
     returned for good if the request did not allow keep-alive; bytes
     received after that are dropped.
  6. End of input at a message boundary gives L{CLOSED}; in the middle of
     a head or body it is a 400.
  7. Errors are final.  After a L{ProtocolError} every call to
     L{RequestReader.next_event} raises the same error again.

States: C{HEAD} (waiting for or parsing a head) -> C{BODY} (a body reader
from L{BODY_READERS} runs until it gives L{EndOfRequest}) -> C{HEAD}, or
C{CLOSED}; any state -> C{ERROR}.

Speed: a head already in the buffer costs one C{find} for the CRLFCRLF, one
regular expression for the request line and one C{findall} for all the
header lines, and the last two are remembered: a request line or header
section seen before costs a dictionary lookup (L{web2._wire._head}).
Consumed bytes are skipped with an offset, never re-scanned; the buffer is a
C{bytes} object while it is consumed whole (so a received chunk is passed on
as body data without a copy) and becomes a C{bytearray}, compacted now and
then, only when bytes are left over.
"""

from ._abnf import BARE_LINE_END
from ._body import BODY_READERS, NoBody
from ._errors import ProtocolError
from ._events import CLOSED, NEED_DATA, BodyData, RequestHead
from ._head import check_request_line, parse_head
from ._limits import DEFAULT_LIMITS, Limits

#: How many empty lines before a request line are tolerated.
MAX_EMPTY_LINES = 4

# A bytearray buffer is compacted when more than this many consumed bytes
# sit at its front and they are more than half of it.
_COMPACT_AT = 65536

_HEAD, _BODY, _CLOSED, _ERROR = range(4)

_NO_BODY = NoBody(DEFAULT_LIMITS, 0)


class RequestReader:
    """
    Parse the requests arriving on one connection.

    @ivar buffered: how many bytes were received and not yet consumed.
    """

    __slots__ = (
        "_limits",
        "_buf",
        "_pos",
        "_scan",
        "_state",
        "_body",
        "_eof",
        "_error",
        "_discard",
        "_keep_alive",
        "_empty_lines",
        "_line_checked",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        """
        @param limits: the limits to enforce; L{Limits}() by default.
        """
        self._limits = DEFAULT_LIMITS if limits is None else limits
        self._buf: bytes | bytearray = b""
        self._pos = 0  # offset of the first unconsumed byte
        self._scan = 0  # offset to resume the search for a head's end
        self._state = _HEAD
        self._body = None
        self._eof = False
        self._error: ProtocolError | None = None
        self._discard = False
        self._keep_alive = True
        self._empty_lines = 0
        self._line_checked = False

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def receive(self, data: bytes) -> None:
        """
        Add bytes received from the peer.  Ignored once the reader is closed,
        failed, or has seen the end of input.
        """
        if not data or self._state >= _CLOSED or self._eof:
            return
        if type(data) is not bytes:
            data = bytes(data)
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            self._buf = data
            self._pos = self._scan = 0
        elif type(buf) is bytes:
            grown = bytearray(memoryview(buf)[pos:])
            grown += data
            self._buf = grown
            self._scan = max(0, self._scan - pos)
            self._pos = 0
        else:
            if pos > _COMPACT_AT and pos * 2 > len(buf):
                del buf[:pos]
                self._scan = max(0, self._scan - pos)
                self._pos = 0
            buf += data

    def receive_eof(self) -> None:
        """
        The peer will send nothing more (it half-closed or closed).
        """
        self._eof = True

    def discard_body(self) -> None:
        """
        Skip the rest of the current request's body: it is still framed and
        validated, but no more L{BodyData} is returned for it, only its
        L{EndOfRequest}.  For a response sent before the body was read.
        """
        if self._state == _BODY:
            self._discard = True

    def end_empty_body(self) -> None:
        """
        Consume the L{EndOfRequest} of a request without a body (the head
        said neither Content-Length nor chunked, or C{Content-Length: 0}):
        what L{next_event} would give next, taken without its dispatch or
        an event to build.  A shortcut for the common bodiless request,
        whose end carries nothing (no trailers).

        @raise ValueError: the current request has a body (or none is
            under way).
        """
        if self._state != _BODY or self._body is not _NO_BODY:
            raise ValueError("the current request has a body")
        self._body = None
        if self._keep_alive:
            self._state = _HEAD
            self._scan = self._pos
        else:
            self._close()

    def take_buffered(self) -> bytes:
        """
        Hand over the bytes received and not yet consumed, and close the
        reader: the connection leaves HTTP (a C{101 Switching Protocols}),
        and what the client sent after the request that switched belongs
        to the new protocol.
        """
        rest = bytes(memoryview(self._buf)[self._pos:])
        self._close()
        return rest

    def next_event(self):
        """
        Return the next event: a L{RequestHead}, L{BodyData},
        L{EndOfRequest}, or L{NEED_DATA} or L{CLOSED}.

        @raise ProtocolError: the input is invalid; the reader is dead.
        """
        try:
            state = self._state
            if state == _HEAD:
                return self._read_head()
            if state == _BODY:
                return self._read_body()
            if state == _CLOSED:
                return CLOSED
            raise self._error.with_traceback(None)
        except ProtocolError as error:
            self._state = _ERROR
            self._error = error
            self._buf = b""
            self._pos = self._scan = 0
            raise

    def _close(self) -> None:
        self._state = _CLOSED
        self._buf = b""
        self._pos = self._scan = 0

    def _read_head(self) -> RequestHead:
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            # Nothing buffered (between requests on a kept-alive
            # connection): what _incomplete_head() would say, at once,
            # and the consumed bytes are let go while the connection idles.
            if self._eof:
                self._close()
                return CLOSED
            if buf:
                self._buf = b""
                self._pos = self._scan = 0
            return NEED_DATA
        if buf.startswith(b"\r\n", pos):
            pos = self._skip_empty_lines(buf, pos)
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0:
            return self._incomplete_head(buf, pos)
        limits = self._limits
        eol = buf.find(b"\r\n", pos)
        if eol - pos > limits.max_request_line:
            raise ProtocolError(414, "request line too long")
        block = buf[eol + 2 : end + 2]
        if len(block) > limits.max_header_bytes:
            raise ProtocolError(431, "header section too large")
        if type(block) is not bytes:
            block = bytes(block)
        head = parse_head(buf[pos:eol].decode("latin-1"), block, limits)
        self._pos = self._scan = end + 4
        self._empty_lines = 0
        self._line_checked = False
        self._discard = False
        self._keep_alive = head.keep_alive
        if head.chunked:
            self._body = BODY_READERS["chunked"](limits, None)
        elif head.content_length:
            self._body = BODY_READERS["length"](limits, head.content_length)
        else:
            self._body = _NO_BODY
        self._state = _BODY
        return head

    def _skip_empty_lines(self, buf, pos: int) -> int:
        while buf.startswith(b"\r\n", pos):
            self._empty_lines += 1
            if self._empty_lines > MAX_EMPTY_LINES:
                raise ProtocolError(400, "too many empty lines before request")
            pos += 2
        self._pos = pos
        if self._scan < pos:
            self._scan = pos
        return pos

    def _incomplete_head(self, buf, pos: int):
        """
        The head is not complete yet: enforce the limits on what is held so
        far, refuse a bad request line or a bare CR/LF early, and wait.
        """
        if self._eof:
            if pos >= len(buf):
                self._close()
                return CLOSED
            raise ProtocolError(400, "connection closed in the middle of a head")
        limits = self._limits
        eol = buf.find(b"\r\n", pos, pos + limits.max_request_line + 2)
        if eol < 0:
            if len(buf) - pos > limits.max_request_line + 1:
                raise ProtocolError(414, "request line too long")
        else:
            if not self._line_checked:
                check_request_line(buf[pos:eol].decode("latin-1"))
                self._line_checked = True
            if len(buf) - eol - 2 > limits.max_header_bytes + 1:
                raise ProtocolError(431, "header section too large")
        if BARE_LINE_END.search(buf, max(pos, self._scan - 1)):
            raise ProtocolError(400, "bare CR or LF in request head")
        self._scan = max(pos, len(buf) - 3)
        return NEED_DATA

    def _read_body(self):
        body = self._body
        while True:
            event, self._pos = body.step(self._buf, self._pos)
            if event is None:
                if self._eof:
                    raise ProtocolError(400, body.truncated)
                return NEED_DATA
            if type(event) is BodyData:
                if self._discard:
                    continue
                return event
            self._body = None
            if self._keep_alive:
                self._state = _HEAD
                self._scan = self._pos
            else:
                self._close()
            return event
