# -*- test-case-name: test_wire_response -*-
"""
L{ResponseReader}: the client side of an HTTP/1.1 connection, bytes in,
events out.  The mirror of L{web2._wire._reader.RequestReader}, for
L{web2.client} and the reverse proxy.

The rules of this module:

  1. One exchange at a time.  The caller says which request it sent with
     L{ResponseReader.start}; only then are bytes read as its response.
     Bytes that arrive while no request is outstanding are the server's
     mistake (an idle kept-alive connection must be silent): a
     L{ProtocolError}.
  2. The same strictness as the request side: every head line ends in
     CRLF, no bare CR or LF, no obs-fold, no NUL or other CTL in a value,
     field names are tokens; the status line is C{HTTP/1.x NNN reason}.
  3. Bounded buffering.  A status line longer than C{max_request_line} or a
     header section longer than C{max_header_bytes} is refused as soon as
     that many bytes are held; more than C{max_header_count} fields is
     refused; the same holds for every interim (1xx) head, and at most
     L{MAX_INTERIM} of them are accepted per exchange.
  4. Framing (RFC 9112 section 6.3), strictly: no body for a HEAD request,
     a 1xx, 204 or 304; C{Transfer-Encoding} must end in a single
     C{chunked} and may not come with C{Content-Length}; several
     C{Content-Length} values must agree; without either, the body runs
     to the end of the connection (and the connection cannot be reused).
  5. Interim responses: a C{100 Continue} (or 102, 103) gives an
     L{InterimResponse} and the final head is read next.  A C{101} is
     refused unless the exchange was started with C{upgrade=True}; then it
     is the last head of the connection (framing C{"switch"}), and what
     follows it is another protocol's, taken with
     L{ResponseReader.take_buffered}.
  6. End of input in the middle of a head or a framed body is an error;
     at the end of a close-delimited body it is the end of the response.
  7. Errors are final, and always carry status 502 (what a gateway answers
     for a broken upstream), whichever body reader noticed the fault.
"""

import re

from ._abnf import BARE_LINE_END, FIELD_VALUE_FORBIDDEN
from ._body import ChunkedBody, LengthBody
from ._errors import ProtocolError
from ._events import CLOSED, NEED_DATA, BodyData, _Event
from ._fields import parse_fields
from ._limits import DEFAULT_LIMITS, Limits

#: How many interim (1xx) responses one exchange may have.
MAX_INTERIM = 8

#   status-line = HTTP-version SP status-code SP [ reason-phrase ]
# The space before an empty reason is optional here: many servers leave
# it out.
STATUS_LINE = re.compile(rb"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")

_BODYLESS = frozenset([204, 304])
_MAX_LENGTH_DIGITS = 18
_COMPACT_AT = 65536


class ResponseHead(_Event):
    """
    A final response's status line and header fields, with its framing.

    @ivar status: the status code, an C{int} from 200 to 999.
    @ivar reason: the reason phrase, C{bytes} (may be empty).
    @ivar version: C{(1, 1)} or C{(1, 0)}.
    @ivar headers: C{(name, value)} byte pairs in arrival order; names
        lower-cased.
    @ivar framing: C{"none"}, C{"length"}, C{"chunked"}, C{"close"}, or
        C{"switch"} (a C{101}: the connection leaves HTTP).
    @ivar content_length: the body length for C{"length"}, else C{None}.
    @ivar keep_alive: whether the connection may carry another request
        after this response.
    """

    __slots__ = ("status", "reason", "version", "headers", "framing", "content_length", "keep_alive")

    def __init__(self, status, reason, version, headers, framing, content_length, keep_alive):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.framing = framing
        self.content_length = content_length
        self.keep_alive = keep_alive


class InterimResponse(_Event):
    """
    A 1xx response other than 101 (C{100 Continue}, C{103 Early Hints}...).

    @ivar status: the status code.
    @ivar headers: its fields, as in L{ResponseHead}.
    """

    __slots__ = ("status", "headers")

    def __init__(self, status, headers):
        self.status = status
        self.headers = headers


class EndOfResponse(_Event):
    """
    The end of a response body.

    @ivar trailers: the trailer fields of a chunked body; empty otherwise.
    """

    __slots__ = ("trailers",)

    def __init__(self, trailers):
        self.trailers = trailers


class _CloseDelimited:
    """
    A body that ends when the connection does (RFC 9112 section 6.3 item 8).
    """

    __slots__ = ("_cap",)
    truncated = "unreachable"

    def __init__(self, limits: Limits) -> None:
        self._cap = limits.max_data_event

    def step(self, buf, pos):
        n = len(buf) - pos
        if n <= 0:
            return None, pos
        n = min(n, self._cap)
        return BodyData(bytes(buf[pos : pos + n])), pos + n


def _content_length(values: list[bytes]) -> int:
    lengths = set()
    for value in values:
        for item in value.split(b","):
            item = item.strip(b" \t")
            if not item.isdigit() or len(item) > _MAX_LENGTH_DIGITS:
                raise ProtocolError(502, "invalid Content-Length in response")
            lengths.add(int(item))
    if len(lengths) != 1:
        raise ProtocolError(502, "conflicting Content-Length values in response")
    return lengths.pop()


def parse_response_head(line: bytes, block: bytes, method: str, limits: Limits,
                        upgrade: bool = False):
    """
    Parse one response head.

    @param line: the status line without its CRLF.
    @param block: the field lines, each with its CRLF.
    @param method: the method of the request this answers.
    @param upgrade: the request asked to switch protocols (a C{101} is
        then its final head, with framing C{"switch"}).
    @return: a L{ResponseHead} or an L{InterimResponse}.
    @raise ProtocolError: (502) the head is malformed or over a limit.
    """
    match = STATUS_LINE.fullmatch(line)
    if match is None:
        if b"\r" in line or b"\n" in line:
            raise ProtocolError(502, "bare CR or LF in status line")
        if FIELD_VALUE_FORBIDDEN.search(line):
            raise ProtocolError(502, "control character in status line")
        raise ProtocolError(502, "malformed status line")
    major, minor, code, reason = match.groups()
    if major != b"1":
        raise ProtocolError(502, f"HTTP version {major.decode()}.x in response")
    version = (1, 0) if minor == b"0" else (1, 1)
    status = int(code)
    if status < 100:
        raise ProtocolError(502, "status code below 100")
    headers = parse_fields(block, limits.max_header_count) if block else []
    if status < 200:
        if status == 101:
            if upgrade:
                return ResponseHead(101, reason or b"", version, headers, "switch", None, False)
            raise ProtocolError(502, "101 Switching Protocols without an upgrade request")
        return InterimResponse(status, headers)
    lengths = []
    codings = []
    connection = set()
    for name, value in headers:
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings.append(value)
        elif name == b"connection":
            connection.update(t.strip(b" \t").lower() for t in value.split(b","))
    if version == (1, 1):
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection and b"close" not in connection
    length = None
    if method == "HEAD" or status in _BODYLESS:
        # The framing fields describe the body a GET would have had (or,
        # for 304, the selected representation): nothing follows.
        framing = "none"
    elif codings:
        if lengths:
            raise ProtocolError(502, "both Transfer-Encoding and Content-Length in response")
        items = [i.strip(b" \t").lower() for v in codings for i in v.split(b",") if i.strip(b" \t")]
        if items != [b"chunked"]:
            raise ProtocolError(502, "response transfer-coding other than chunked")
        framing = "chunked"
    elif lengths:
        length = _content_length(lengths)
        framing = "length"
    else:
        framing = "close"
        keep_alive = False
    if (
        limits.max_body_size is not None
        and length is not None
        and length > limits.max_body_size
    ):
        raise ProtocolError(502, "response Content-Length over the body size limit")
    return ResponseHead(status, reason or b"", version, headers, framing, length, keep_alive)


_IDLE, _HEAD, _BODY, _CLOSED, _ERROR, _SWITCHED = range(6)


class ResponseReader:
    """
    Parse the responses arriving on one client connection, one exchange at
    a time (see the rules at the top of this module).

    @ivar buffered: how many bytes were received and not yet consumed.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        """
        @param limits: the limits to enforce; L{Limits}() by default.
            C{max_request_line} bounds the status line; C{max_body_size}
            bounds a response body.
        """
        self._limits = DEFAULT_LIMITS if limits is None else limits
        self._buf = bytearray()
        self._pos = 0
        self._scan = 0
        self._state = _IDLE
        self._method = None
        self._body = None
        self._eof = False
        self._error = None
        self._keep_alive = True
        self._interim = 0
        self._upgrade = False

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    @property
    def idle(self) -> bool:
        """
        Whether no exchange is under way and the connection may carry
        another request.
        """
        return self._state == _IDLE and not self._eof

    def start(self, method: str, upgrade: bool = False) -> None:
        """
        A request with C{method} was (or is being) sent: read its response.

        @param upgrade: the request asked to switch protocols (C{Upgrade});
            a C{101} answer is then accepted.

        @raise RuntimeError: an exchange is already under way, or the
            connection is done.
        """
        if self._state != _IDLE:
            raise RuntimeError("the previous response is not finished")
        self._method = method
        self._upgrade = upgrade
        self._interim = 0
        self._state = _HEAD
        self._scan = self._pos

    def receive(self, data: bytes) -> None:
        """
        Add bytes received from the server.
        """
        if not data or self._state in (_CLOSED, _ERROR) or self._eof:
            return
        buf = self._buf
        pos = self._pos
        if pos and pos > _COMPACT_AT and pos * 2 > len(buf):
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
            self._pos = 0
        elif pos >= len(buf):
            buf.clear()
            self._pos = self._scan = 0
        buf += data

    def take_buffered(self) -> bytes:
        """
        After a C{101} head: the bytes received after it, which belong to
        the new protocol; the reader then holds nothing.
        """
        rest = bytes(self._buf[self._pos :])
        self._buf = bytearray()
        self._pos = self._scan = 0
        return rest

    def receive_eof(self) -> None:
        """
        The server will send nothing more.
        """
        self._eof = True

    def next_event(self):
        """
        Return the next event: an L{InterimResponse}, a L{ResponseHead},
        L{BodyData}, L{EndOfResponse}, or L{NEED_DATA} or L{CLOSED}.

        L{NEED_DATA} while idle means the connection is usable and quiet.

        @raise ProtocolError: (status 502) the response is invalid.
        """
        try:
            state = self._state
            if state == _HEAD:
                return self._read_head()
            if state == _BODY:
                return self._read_body()
            if state == _IDLE:
                if self._pos < len(self._buf):
                    raise ProtocolError(502, "data from the server before any request")
                if self._eof:
                    self._close()
                    return CLOSED
                return NEED_DATA
            if state == _CLOSED or state == _SWITCHED:
                return CLOSED
            raise self._error.with_traceback(None)
        except ProtocolError as error:
            if error.status != 502:
                error = ProtocolError(502, error.reason)
            self._state = _ERROR
            self._error = error
            self._buf = bytearray()
            self._pos = self._scan = 0
            raise error from None

    def _close(self) -> None:
        self._state = _CLOSED
        self._buf = bytearray()
        self._pos = self._scan = 0

    def _read_head(self):
        buf = self._buf
        pos = self._pos
        limits = self._limits
        end = buf.find(b"\r\n\r\n", self._scan)
        eol = buf.find(b"\r\n", pos, pos + limits.max_request_line + 2)
        if end < 0:
            if self._eof:
                if pos >= len(buf):
                    raise ProtocolError(502, "connection closed before a response")
                raise ProtocolError(502, "connection closed in the middle of a response head")
            if eol < 0:
                if len(buf) - pos > limits.max_request_line + 1:
                    raise ProtocolError(502, "status line too long")
            elif len(buf) - eol - 2 > limits.max_header_bytes + 1:
                raise ProtocolError(502, "response header section too large")
            if BARE_LINE_END.search(buf, max(pos, self._scan - 1)):
                raise ProtocolError(502, "bare CR or LF in response head")
            if eol >= 0 and not STATUS_LINE.match(bytes(buf[pos:eol])):
                # Garbage is refused before its head ends.
                parse_response_head(bytes(buf[pos:eol]), b"", self._method, limits)
            self._scan = max(pos, len(buf) - 3)
            return NEED_DATA
        if eol < 0 or eol > end:
            raise ProtocolError(502, "status line too long")
        block = bytes(buf[eol + 2 : end + 2])
        if len(block) > limits.max_header_bytes:
            raise ProtocolError(502, "response header section too large")
        head = parse_response_head(bytes(buf[pos:eol]), block, self._method, limits,
                                   self._upgrade)
        self._pos = self._scan = end + 4
        if type(head) is InterimResponse:
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise ProtocolError(502, "too many interim responses")
            return head
        self._keep_alive = head.keep_alive
        framing = head.framing
        if framing == "switch":
            self._state = _SWITCHED
            return head
        if framing == "chunked":
            self._body = ChunkedBody(limits, None)
        elif framing == "length":
            self._body = LengthBody(limits, head.content_length)
        elif framing == "close":
            self._body = _CloseDelimited(limits)
        else:
            self._body = LengthBody(limits, 0)
        self._state = _BODY
        return head

    def _read_body(self):
        body = self._body
        event, self._pos = body.step(self._buf, self._pos)
        if event is None:
            if self._eof:
                if type(body) is _CloseDelimited:
                    event = EndOfResponse([])
                    self._body = None
                    self._close()
                    return event
                raise ProtocolError(502, body.truncated)
            return NEED_DATA
        if type(event) is BodyData:
            return event
        self._body = None
        if self._keep_alive:
            self._state = _IDLE
        else:
            self._close()
        return EndOfResponse(event.trailers)
