# -*- test-case-name: test_testing -*-
"""
The strict HTTP/1.1 response parser of L{web2.testing}: what a server wrote
on a connection, as L{ParsedResponse}s, or L{MalformedResponse} for
anything that is not well-formed and well-framed (RFC 9112), so that a
framing bug cannot pass a test by being read some way or other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["MalformedResponse", "ParsedResponse", "parseResponses"]


class MalformedResponse(ValueError):
    """
    The bytes are not a sequence of well-formed, well-framed HTTP/1.1
    responses.
    """


@dataclass(repr=False)
class ParsedResponse:
    """
    One response read by L{parseResponses}.

    @ivar version: C{"HTTP/1.1"}.
    @ivar status: the status code, an C{int}.
    @ivar reason: the reason phrase.
    @ivar headers: C{(name, value)} C{str} pairs (latin-1), in order, names
        as written, values without surrounding whitespace.
    @ivar body: the body with its framing removed.
    @ivar framing: how the body was delimited: C{"length"}, C{"chunked"},
        C{"close"} (by the end of the connection) or C{"none"} (no body:
        1xx, 204, 304 or the answer to HEAD).
    @ivar complete: whether the whole body arrived; C{False} only for the
        last response, cut short.
    @ivar trailers: the trailer fields of a chunked body.
    """

    version: str
    status: int
    reason: str
    headers: list = field(default_factory=list)
    body: bytes = b""
    framing: str = "none"
    complete: bool = True
    trailers: list = field(default_factory=list)

    def headerValues(self, name: str) -> list:
        """
        The values of every field called C{name} (in any case), in order.
        """
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def header(self, name: str, default=None):
        """
        The value of the last field called C{name}, or C{default}.
        """
        values = self.headerValues(name)
        return values[-1] if values else default

    def __repr__(self):
        state = "" if self.complete else " INCOMPLETE"
        return (f"<ParsedResponse {self.status} {self.headers!r} "
                f"{self.body[:80]!r}{state}>")


_STATUS_LINE = re.compile(r"(HTTP/\d\.\d) ([1-9]\d\d) ([\t !-~\x80-\xff]*)")
_FIELD_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_FIELD_VALUE = re.compile(r"[\t !-~\x80-\xff]*")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(;[^\r\n]*)?")

#: Status codes whose responses never have a body, whatever they say.
_NO_BODY_STATUS = frozenset({204, 304}) | frozenset(range(100, 200))
#: ... and of those, the ones that must not carry framing fields at all
#: (RFC 9110 section 8.6, RFC 9112 section 6.1).
_NO_FRAMING_STATUS = frozenset({204}) | frozenset(range(100, 200))


def _fields(lines):
    """
    Parse field lines into C{(name, value)} pairs.

    @raise MalformedResponse: for obs-fold, a space before the colon, a
        name that is not a token, or a control character in a value.
    """
    pairs = []
    for line in lines:
        text = line.decode("latin-1")
        match = _FIELD_LINE.fullmatch(text)
        if match is None or not _FIELD_VALUE.fullmatch(match.group(2)):
            raise MalformedResponse(f"bad field line {line!r}")
        pairs.append((match.group(1), match.group(2)))
    return pairs


def _contentLength(values):
    """
    The one length that every C{Content-Length} value states.
    """
    items = {v.strip() for value in values for v in value.split(",")}
    if len(items) != 1 or not next(iter(items)).isdigit():
        raise MalformedResponse(f"bad Content-Length {values!r}")
    return int(items.pop())


def _framing(response, isHead):
    """
    How the body of C{response} is delimited (RFC 9112 section 6.3).

    @return: C{("none", None)}, C{("length", n)}, C{("chunked", None)} or
        C{("close", None)}.
    """
    transferCodings = [c.strip().lower() for v in response.headerValues("transfer-encoding")
                       for c in v.split(",")]
    lengths = response.headerValues("content-length")
    if response.status in _NO_FRAMING_STATUS and (transferCodings or lengths):
        raise MalformedResponse(f"framing fields on a {response.status} response")
    if isHead or response.status in _NO_BODY_STATUS:
        if lengths:
            _contentLength(lengths)
        return "none", None
    if transferCodings:
        if lengths:
            raise MalformedResponse("both Transfer-Encoding and Content-Length")
        if "chunked" in transferCodings[:-1] or "" in transferCodings:
            raise MalformedResponse(f"bad Transfer-Encoding {transferCodings!r}")
        return ("chunked" if transferCodings[-1] == "chunked" else "close"), None
    if lengths:
        return "length", _contentLength(lengths)
    return "close", None


def _chunkedBody(data, start):
    """
    Decode a chunked body from C{data[start:]}.

    @return: C{(body, trailers, end)} where C{end} is the offset after the
        body, or C{None} if the data stops before it does.
    @raise MalformedResponse: for a bad chunk size line or chunk data not
        followed by CRLF.
    """
    body = []
    pos = start
    while True:
        lineEnd = data.find(b"\r\n", pos)
        if lineEnd < 0:
            return b"".join(body), [], None
        match = _CHUNK_SIZE.fullmatch(data, pos, lineEnd)
        if match is None:
            raise MalformedResponse(f"bad chunk size line {data[pos:lineEnd][:40]!r}")
        size = int(match.group(1), 16)
        pos = lineEnd + 2
        if size == 0:
            break
        if data[pos + size:pos + size + 2] != b"\r\n"[:max(0, len(data) - pos - size)]:
            raise MalformedResponse("chunk data not followed by CRLF")
        body.append(data[pos:pos + size])
        if len(data) < pos + size + 2:
            return b"".join(body), [], None
        pos += size + 2
    if data.startswith(b"\r\n", pos):
        return b"".join(body), [], pos + 2
    trailerEnd = data.find(b"\r\n\r\n", pos)
    if trailerEnd < 0:
        return b"".join(body), [], None
    return b"".join(body), _fields(data[pos:trailerEnd].split(b"\r\n")), trailerEnd + 4


def _readHead(data, pos):
    """
    Parse the response head starting at C{pos}.

    @return: the L{ParsedResponse} without its body, and the offset after
        the head.
    """
    end = data.find(b"\r\n\r\n", pos)
    if end < 0:
        raise MalformedResponse(f"incomplete response head {data[pos:pos + 80]!r}")
    lines = data[pos:end].split(b"\r\n")
    statusLine = _STATUS_LINE.fullmatch(lines[0].decode("latin-1"))
    if statusLine is None:
        raise MalformedResponse(f"bad status line {lines[0][:80]!r}")
    version, status, reason = statusLine.groups()
    response = ParsedResponse(version, int(status), reason, _fields(lines[1:]))
    return response, end + 4


def parseResponses(data: bytes, headRequests=(), eof=True):
    """
    Parse the responses in C{data}, as written on one connection: heads,
    then bodies delimited by C{Content-Length}, chunked coding or the end of
    the connection (RFC 9112 section 6.3).  Interim (1xx) responses are
    included.  Nothing is guessed: anything malformed raises.

    @param headRequests: the indexes, counted in final (non-1xx) responses,
        of the responses to HEAD requests, which have no body whatever
        their fields say.
    @param eof: whether C{data} ends because the connection closed; if not,
        a body delimited by the close is marked incomplete.
    @return: a list of L{ParsedResponse}; only the last may be incomplete
        (a body cut short).
    @raise MalformedResponse: for a bad status or field line, an incomplete
        head, a bad or contradictory C{Content-Length}, both
        C{Content-Length} and C{Transfer-Encoding}, framing fields on 1xx or
        204, or bad chunked coding.
    """
    responses = []
    finals = 0
    pos = 0
    while pos < len(data):
        response, pos = _readHead(data, pos)
        framing, length = _framing(response, finals in headRequests)
        response.framing = framing
        if framing == "length":
            response.body = data[pos:pos + length]
            response.complete = len(response.body) == length
            pos += length
        elif framing == "chunked":
            response.body, response.trailers, end = _chunkedBody(data, pos)
            response.complete = end is not None
            pos = len(data) if end is None else end
        elif framing == "close":
            response.body, response.complete = data[pos:], eof
            pos = len(data)
        responses.append(response)
        if response.status >= 200:
            finals += 1
    return responses
