# -*- test-case-name: test_fileupload_multipart -*-
"""
A sans-I/O, incremental parser of C{multipart/form-data} bodies (RFC 7578
on the syntax of RFC 2046 section 5.1), and the tolerant parser of a
part's C{Content-Disposition}.

L{MultipartParser} is fed bytes in chunks of any size and returns events
(L{PartHead}, L{PartData}, L{PartEnd}); it never holds more than a window
of about one boundary (or one header line) besides the chunk it was just
given, and scans every byte a bounded number of times, so parsing is
O(n) whatever the chunking.  It knows no Twisted and no limits beyond the
framing ones (header line length and count); the form-level limits are
L{web2.fileupload}'s.

Framing details:
  - The body is parsed as if it began with CRLF, so that the first
    delimiter (C{--boundary} at the very start, or C{CRLF--boundary} after
    a preamble) and every later one are the same byte string.
  - After a delimiter comes C{--} (the close delimiter; the epilogue after
    it is ignored) or optional transport padding (spaces and tabs) and
    CRLF.  Anything else means the boundary occurs inside a part, which RFC
    2046 forbids: the body is rejected ("bad delimiter").
  - Lines end with CRLF only.  A header line starting with a space or tab
    continues the previous one (RFC 5322 folding).
"""

from __future__ import annotations

import re

__all__ = [
    "FormError",
    "MultipartParser",
    "PartData",
    "PartEnd",
    "PartHead",
    "parseFormDisposition",
]

_CRLF = b"\r\n"
_PADDING = b" \t"
# Transport padding after a delimiter is meant to be empty; allow a little.
_MAX_PADDING = 64
# A header field name: an RFC 9110 token.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 2046 bchars plus a generous length: real clients stay within 70.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,200}")


class FormError(ValueError):
    """
    A form body that cannot be accepted.

    @ivar status: the HTTP status to answer with: 400 (malformed), 413 (a
        limit exceeded) or 415 (not a form).
    @ivar message: a short explanation for the client.
    """

    def __init__(self, status: int, message: str):
        ValueError.__init__(self, message)
        self.status = status
        self.message = message


def _malformed(message: str) -> FormError:
    return FormError(400, "Malformed multipart body: " + message)


class PartHead:
    """
    The header block of a part has been read.

    @ivar headers: a C{list} of C{(name, value)}: names lower-cased, values
        stripped, both C{str} decoded as latin-1 (so the original bytes
        can be recovered with C{.encode("latin-1")}).
    """

    __slots__ = ("headers",)

    def __init__(self, headers):
        self.headers = headers

    def get(self, name: str):
        """
        The value of the first header C{name} (lower-case), or C{None}.
        """
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def __repr__(self) -> str:
        return f"PartHead({self.headers!r})"


class PartData:
    """
    Some bytes of the current part's content.

    @ivar data: C{bytes}, never empty.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __repr__(self) -> str:
        return f"PartData({len(self.data)} bytes)"


class PartEnd:
    """
    The current part is complete.

    @ivar last: whether this was the last part (the close delimiter
        followed).
    """

    __slots__ = ("last",)

    def __init__(self, last: bool):
        self.last = last

    def __repr__(self) -> str:
        return f"PartEnd(last={self.last})"


def checkBoundary(boundary: str) -> bytes:
    """
    Validate a C{boundary} parameter (RFC 2046 section 5.1.1, up to 200
    characters instead of 70, and no trailing space).

    @return: the boundary as C{bytes}.
    @raise FormError: 400 if it is unusable.
    """
    if not _BOUNDARY.fullmatch(boundary) or boundary.endswith(" "):
        raise FormError(400, "Invalid multipart boundary parameter")
    return boundary.encode("ascii")


class MultipartParser:
    """
    Parse one C{multipart/form-data} body incrementally: L{feed} each
    chunk, then L{feedEOF}.

    @ivar maxHeaderLine: the longest part header line accepted, in bytes
        without its CRLF (continuation lines included).
    @ivar maxHeaderCount: the most header lines in one part.
    """

    def __init__(self, boundary: bytes, maxHeaderLine: int = 8192,
                 maxHeaderCount: int = 32):
        """
        @param boundary: the boundary, C{bytes} (see L{checkBoundary}).
        @param maxHeaderLine: see L{maxHeaderLine}; default 8 KiB, room for
            a long UTF-8 file name.
        @param maxHeaderCount: see L{maxHeaderCount}; default 32.
        """
        self._delimiter = _CRLF + b"--" + boundary
        self.maxHeaderLine = maxHeaderLine
        self.maxHeaderCount = maxHeaderCount
        # The virtual CRLF before the body (see the module docstring).
        self._buffer = _CRLF
        self._state = self._preamble
        self._headers = []
        self._inPart = False
        self.done = False

    def feed(self, data: bytes) -> list:
        """
        Parse the next chunk of the body.

        @return: the events it completes, in order.
        @raise FormError: the body is malformed; the parser is then dead.
        """
        buffer = self._buffer + data if self._buffer else data
        events = []
        pos = 0
        # Each state consumes from pos and returns the new position, or
        # None when it needs more bytes (having consumed what it could).
        while True:
            state = self._state
            result = state(buffer, pos, events)
            if result is None:
                break
            pos = result
        self._buffer = buffer[self._keep:]
        return events

    def feedEOF(self) -> list:
        """
        The body has ended.

        @return: the last events (none: everything was reported by
            L{feed}).
        @raise FormError: the body ended before the close delimiter.
        """
        if not self.done:
            where = "in a part's headers" if self._state == self._headerLines else (
                "inside a part" if self._inPart else "before the first boundary"
            )
            raise _malformed(f"the body ended {where}, without a closing boundary")
        return []

    # States.  Each gets (buffer, pos, events); on needing more data it
    # sets self._keep (where the unconsumed tail starts) and returns None.

    def _scan(self, buffer, pos, events, emit):
        """
        Look for the next delimiter from C{pos}; the content before it is
        emitted (as L{PartData} when C{emit}), all but a possible partial
        delimiter at the end when there is none.
        """
        delimiter = self._delimiter
        found = buffer.find(delimiter, pos)
        if found < 0:
            safe = max(pos, len(buffer) - len(delimiter) + 1)
            if emit and safe > pos:
                events.append(PartData(buffer[pos:safe]))
            self._keep = safe
            return None
        if emit and found > pos:
            events.append(PartData(buffer[pos:found]))
        self._state = self._afterDelimiter
        return found + len(delimiter)

    def _preamble(self, buffer, pos, events):
        return self._scan(buffer, pos, events, False)

    def _body(self, buffer, pos, events):
        return self._scan(buffer, pos, events, True)

    def _afterDelimiter(self, buffer, pos, events):
        if len(buffer) - pos < 2:
            self._keep = pos
            return None
        last = buffer.startswith(b"--", pos)
        if not last:
            end = pos
            while end < len(buffer) and buffer[end] in _PADDING:
                end += 1
            if end - pos > _MAX_PADDING:
                raise _malformed("too much padding after a boundary")
            if len(buffer) - end < 2:
                self._keep = pos
                return None
            if not buffer.startswith(_CRLF, end):
                raise _malformed("bad delimiter: the boundary is followed by "
                                 "something other than CRLF or '--'")
            pos = end + 2
        if self._inPart:
            events.append(PartEnd(last))
        if last:
            self.done = True
            self._state = self._epilogue
            return pos + 2
        self._inPart = True
        self._headers = []
        self._state = self._headerLines
        return pos

    def _headerLines(self, buffer, pos, events):
        end = buffer.find(_CRLF, pos)
        if end < 0:
            if len(buffer) - pos > self.maxHeaderLine:
                raise _malformed("a part header line is too long")
            self._keep = pos
            return None
        line = buffer[pos:end]
        headers = self._headers
        if not line:
            events.append(PartHead(headers))
            self._headers = []
            self._state = self._body
            return end + 2
        if line[0] in _PADDING:
            if not headers:
                raise _malformed("a part header block starts with a "
                                 "continuation line")
            name, value = headers[-1]
            value = (value + " " + line.strip().decode("latin-1")).strip()
            if len(value) > self.maxHeaderLine:
                raise _malformed("a part header line is too long")
            headers[-1] = (name, value)
            return end + 2
        if len(line) > self.maxHeaderLine:
            raise _malformed("a part header line is too long")
        if len(headers) >= self.maxHeaderCount:
            raise _malformed("a part has too many header lines")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise _malformed("a part header line is not 'Name: value'")
        headers.append(
            (name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1"))
        )
        return end + 2

    def _epilogue(self, buffer, pos, events):
        self._keep = len(buffer)
        return None


def _quotedValue(text: str, pos: int):
    """
    Read a quoted parameter value starting after its opening quote, the
    way browsers write them: C{\\"} and C{\\\\} are escapes, any other
    backslash is literal (a Windows path), and a quote not followed by
    C{;} or the end is taken as part of the value.

    @return: C{(value, position after the closing quote)}.
    """
    out = []
    n = len(text)
    while pos < n:
        char = text[pos]
        if char == "\\" and pos + 1 < n and text[pos + 1] in '"\\':
            out.append(text[pos + 1])
            pos += 2
            continue
        if char == '"':
            after = pos + 1
            while after < n and text[after] in " \t":
                after += 1
            if after == n or text[after] == ";":
                return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise _malformed("unterminated quoted string in Content-Disposition")


def parseFormDisposition(text: str):
    """
    Parse a part's C{Content-Disposition}, tolerating what browsers send
    (unescaped backslashes, stray quotes) rather than insisting on RFC
    6266.  Parameter names are lower-cased; the first of duplicates wins.

    @return: C{(dispositionType, params)}: the lower-cased type and a
        C{dict} of C{str} to C{str}.
    @raise FormError: 400 if it cannot be read.
    """
    pos = text.find(";")
    dispositionType = (text if pos < 0 else text[:pos]).strip().lower()
    params = {}
    if pos < 0:
        return dispositionType, params
    n = len(text)
    while pos < n:
        # At a ';'.
        pos += 1
        equals = text.find("=", pos)
        semi = text.find(";", pos)
        if equals < 0 or (0 <= semi < equals):
            # A parameter with no value (or an empty one): skip it.
            if text[pos:semi if semi >= 0 else n].strip():
                raise _malformed("a Content-Disposition parameter has no value")
            if semi < 0:
                break
            pos = semi
            continue
        name = text[pos:equals].strip().lower()
        pos = equals + 1
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos < n and text[pos] == '"':
            value, pos = _quotedValue(text, pos + 1)
            while pos < n and text[pos] in " \t":
                pos += 1
            if pos < n and text[pos] != ";":
                raise _malformed("junk after a quoted Content-Disposition value")
        else:
            semi = text.find(";", pos)
            end = n if semi < 0 else semi
            value = text[pos:end].strip()
            pos = end
        if not name:
            raise _malformed("a Content-Disposition parameter has no name")
        params.setdefault(name, value)
    return dispositionType, params
