# -*- test-case-name: test_wire_body -*-
"""
Request body readers, one per framing, chosen from L{BODY_READERS}.

A body reader has one method, C{step(buf, pos)}, which looks at the
received bytes C{buf} from offset C{pos} and returns C{(event, newPos)}:
a L{BodyData} or the final L{EndOfRequest}, or C{(None, pos)} when more
bytes are needed.  It never copies more than the bytes it hands out, and
it never waits for a whole body: data is handed on as it arrives, in
pieces of at most L{Limits.max_data_event} bytes.  C{truncated} is the
reason to give when the connection ends before the body does.
"""

from ._abnf import BARE_LINE_END, CHUNK_LINE, CHUNK_SIZE_DIGITS
from ._errors import ProtocolError
from ._events import BodyData, EndOfRequest
from ._fields import parse_fields
from ._limits import Limits

# Fields that must never arrive as trailers: they would change framing or
# routing after the fact (RFC 9110 section 6.5.1).
_FORBIDDEN_TRAILERS = frozenset([b"content-length", b"transfer-encoding", b"host"])


class NoBody:
    """
    The body of a request without Content-Length or Transfer-Encoding, or
    with C{Content-Length: 0}: it ends at once.
    """

    __slots__ = ()
    truncated = "connection closed"  # never used: the body needs no bytes

    def __init__(self, limits: Limits, length: int | None) -> None:
        pass

    def step(self, buf, pos):
        return EndOfRequest([]), pos


class LengthBody:
    """
    A body of a known number of bytes (RFC 9112 section 6.2).
    """

    __slots__ = ("_remaining", "_cap")
    truncated = "connection closed in the middle of the body"

    def __init__(self, limits: Limits, length: int | None) -> None:
        self._remaining = length
        self._cap = limits.max_data_event

    def step(self, buf, pos):
        remaining = self._remaining
        if not remaining:
            return EndOfRequest([]), pos
        n = len(buf) - pos
        if n <= 0:
            return None, pos
        if n > remaining:
            n = remaining
        if n > self._cap:
            n = self._cap
        data = buf[pos : pos + n]
        if type(data) is not bytes:
            data = bytes(data)
        self._remaining = remaining - n
        return BodyData(data), pos + n


_SIZE, _DATA, _CRLF, _TRAILERS = range(4)


class ChunkedBody:
    """
    A chunked body (RFC 9112 section 7.1), read strictly: the size is
    1*HEXDIG (at most 16 digits) with no whitespace, extensions are checked
    for syntax and dropped, each chunk's data must be followed by exactly
    CRLF, and trailers are parsed like header fields.
    """

    __slots__ = ("_limits", "_state", "_remaining", "_total", "_scanned")
    truncated = "connection closed in the middle of a chunked body"

    def __init__(self, limits: Limits, length: int | None) -> None:
        self._limits = limits
        self._state = _SIZE
        self._remaining = 0
        self._total = 0
        self._scanned = 0

    def step(self, buf, pos):
        while True:
            state = self._state
            if state == _DATA:
                n = len(buf) - pos
                if n <= 0:
                    return None, pos
                remaining = self._remaining
                if n > remaining:
                    n = remaining
                if n > self._limits.max_data_event:
                    n = self._limits.max_data_event
                data = buf[pos : pos + n]
                if type(data) is not bytes:
                    data = bytes(data)
                remaining -= n
                self._remaining = remaining
                if not remaining:
                    self._state = _CRLF
                return BodyData(data), pos + n
            elif state == _SIZE:
                pos = self._size_line(buf, pos)
                if pos < 0:
                    return None, -pos - 1
            elif state == _CRLF:
                if len(buf) - pos < 2:
                    if len(buf) > pos and buf[pos] != 13:
                        raise ProtocolError(400, "chunk data not followed by CRLF")
                    return None, pos
                if buf[pos] != 13 or buf[pos + 1] != 10:
                    raise ProtocolError(400, "chunk data not followed by CRLF")
                pos += 2
                self._state = _SIZE
            else:
                return self._trailers(buf, pos)

    def _size_line(self, buf, pos: int) -> int:
        """
        Read a chunk-size line.

        @return: the offset after it, or C{-pos - 1} when it is incomplete.
        """
        limit = self._limits.max_chunk_line
        end = buf.find(b"\r\n", pos, pos + limit + 2)
        if end < 0:
            if len(buf) - pos > limit + 1:
                raise ProtocolError(400, "chunk-size line too long")
            if BARE_LINE_END.search(buf, pos):
                raise ProtocolError(400, "bare CR or LF in chunk-size line")
            return -pos - 1
        line = buf[pos:end]
        match = CHUNK_LINE.fullmatch(line)
        if match is None:
            _diagnose_size_line(bytes(line))
        size = int(match.group(1), 16)
        if size:
            total = self._total + size
            maximum = self._limits.max_body_size
            if maximum is not None and total > maximum:
                raise ProtocolError(413, "chunked body over the body size limit")
            self._total = total
            self._remaining = size
            self._state = _DATA
        else:
            self._state = _TRAILERS
        return end + 2

    def _trailers(self, buf, pos):
        """
        Read the trailer section and the empty line that ends the body.
        """
        if buf.startswith(b"\r\n", pos):
            return EndOfRequest([]), pos + 2
        limit = self._limits.max_trailer_bytes
        start = pos + self._scanned
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buf) - pos > limit + 1:
                raise ProtocolError(431, "trailer section too large")
            if BARE_LINE_END.search(buf, start):
                raise ProtocolError(400, "trailer: bare CR or LF")
            self._scanned = max(0, len(buf) - pos - 3)
            return None, pos
        block = buf[pos : end + 2]
        if len(block) > limit:
            raise ProtocolError(431, "trailer section too large")
        if type(block) is not bytes:
            block = bytes(block)
        trailers = parse_fields(block, self._limits.max_header_count, "trailer")
        for name, _ in trailers:
            if name in _FORBIDDEN_TRAILERS:
                raise ProtocolError(400, "trailer: framing field not allowed")
        return EndOfRequest(trailers), end + 4


def _diagnose_size_line(line: bytes) -> None:
    """
    Raise the right error for a chunk-size line that failed L{CHUNK_LINE}.
    """
    digits = CHUNK_SIZE_DIGITS.match(line)
    if digits is not None and len(digits.group()) > 16:
        raise ProtocolError(400, "chunk size too long")
    if b"\n" in line or b"\r" in line:
        raise ProtocolError(400, "bare CR or LF in chunk-size line")
    if digits is None:
        raise ProtocolError(400, "invalid chunk size")
    raise ProtocolError(400, "invalid chunk extension")


#: Body readers by framing.
BODY_READERS = {"none": NoBody, "length": LengthBody, "chunked": ChunkedBody}
