# -*- test-case-name: test_cgi_scriptoutput -*-
"""
The reader of a CGI script's output head (RFC 3875 section 6), without
I/O: bytes go in, a L{ScriptHead} comes out once the header block is
complete, or L{ScriptOutputError} says why the output is unusable.

What is accepted, and why:

  - lines end in LF or CR LF; the head ends with the first empty line;
  - a header line is C{name ":" value}, the name an RFC 9110 token and the
    value free of control characters other than HTAB (a value with CR or
    NUL could split the response we build from it); a continuation line
    (obs-fold) is refused;
  - C{Status: NNN [reason]} with a final code (200-599) sets the status;
  - C{Location} without a Status is a local redirect when it is a path
    (C{/...}), otherwise a client redirect answered with 302;
  - hop-by-hop fields (Connection, Transfer-Encoding, ...) are dropped:
    framing is the server's business; a C{Content-Length} must be digits
    and is handed back as the body's length;
  - an "nph" script's head starts with an HTTP status line instead, and
    its Status and Location headers mean nothing special;
  - a head longer than C{maxHeadBytes} is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ScriptHead", "ScriptOutputError", "ScriptOutputParser"]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(rb"([1-9][0-9][0-9])(?:[ \t]+([^\x00-\x08\x0a-\x1f\x7f]*))?")
_STATUS_LINE = re.compile(
    rb"HTTP/[0-9]\.[0-9] ([1-9][0-9][0-9])(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?"
)
_HOP_BY_HOP = frozenset((
    b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer",
    b"upgrade", b"proxy-connection",
))


class ScriptOutputError(ValueError):
    """
    The script's output is not a valid CGI response; the message says why
    (it goes to the log, never to the client).
    """


@dataclass
class ScriptHead:
    """
    The parsed head of a script's response.

    @ivar code: the status code to answer with.
    @ivar reason: the reason phrase the script gave, or C{None}.
    @ivar headers: C{(name, value)} C{str} pairs (latin-1), in order,
        without Status, the hop-by-hop fields and Content-Length.
    @ivar contentLength: the body length the script declared, or C{None}.
    @ivar localRedirect: the path of a local redirect, or C{None}.
    @ivar body: the bytes of the body that came with the head.
    """

    code: int = 200
    reason: str | None = None
    headers: list = field(default_factory=list)
    contentLength: int | None = None
    localRedirect: str | None = None
    body: bytes = b""


class ScriptOutputParser:
    """
    Collects a script's output until its head is complete.
    """

    def __init__(self, maxHeadBytes: int = 32768, nph: bool = False):
        """
        @param maxHeadBytes: the longest head accepted, in bytes.
        @param nph: parse an HTTP status line first (a non-parsed-header
            script).
        """
        self.maxHeadBytes = maxHeadBytes
        self.nph = nph
        self._buffer = bytearray()
        self._searched = 0
        self.head = None

    def feed(self, data: bytes):
        """
        Take more output.

        @return: the L{ScriptHead} once the head is complete (its C{body}
            holds what followed it), else C{None}.  Do not feed more after
            a head was returned.
        @raise ScriptOutputError: the output is invalid.
        """
        buf = self._buffer
        buf += data
        end, sepLength = self._findEnd()
        if end < 0:
            if len(buf) > self.maxHeadBytes:
                raise ScriptOutputError(
                    f"no end of the header block within {self.maxHeadBytes} bytes")
            return None
        if end > self.maxHeadBytes:
            raise ScriptOutputError(f"header block longer than {self.maxHeadBytes} bytes")
        head = self._parse(bytes(buf[:end]))
        head.body = bytes(buf[end + sepLength:])
        self._buffer = bytearray()
        self.head = head
        return head

    def eof(self):
        """
        The output ended before a complete head.

        @raise ScriptOutputError: always, with the reason.
        """
        if not self._buffer:
            raise ScriptOutputError("the script wrote nothing")
        raise ScriptOutputError("the output ended inside the header block")

    def _findEnd(self):
        """
        The offset of the empty line that ends the head, and the length of
        the line ending before it plus its own; C{(-1, 0)} if not yet.
        """
        buf = self._buffer
        start = max(0, self._searched - 3)
        if start == 0 and buf[:1] == b"\n":
            return 0, 1
        if start == 0 and buf[:2] == b"\r\n":
            return 0, 2
        index = buf.find(b"\n", start)
        while index >= 0:
            nxt = index + 1
            if buf[nxt:nxt + 1] == b"\n":
                return nxt, 1
            if buf[nxt:nxt + 2] == b"\r\n":
                return nxt, 2
            if nxt + 2 > len(buf):
                break
            index = buf.find(b"\n", nxt)
        self._searched = len(buf)
        return -1, 0

    def _parse(self, block: bytes) -> ScriptHead:
        lines = [line[:-1] if line.endswith(b"\r") else line
                 for line in block.split(b"\n")]
        if lines and lines[-1] == b"":
            lines.pop()
        head = ScriptHead()
        if self.nph:
            if not lines:
                raise ScriptOutputError("an nph script wrote no status line")
            match = _STATUS_LINE.fullmatch(lines[0])
            if match is None:
                raise ScriptOutputError(f"bad nph status line {lines[0][:80]!r}")
            head.code = int(match.group(1))
            head.reason = (match.group(2) or b"").decode("latin-1").strip() or None
            lines = lines[1:]
        elif not lines:
            raise ScriptOutputError("the script wrote no header")
        status = location = None
        for line in lines:
            name, sep, value = line.partition(b":")
            if not sep or _TOKEN.fullmatch(name) is None:
                raise ScriptOutputError(f"malformed header line {line[:80]!r}")
            value = value.strip(b" \t")
            if _BAD_VALUE.search(value):
                raise ScriptOutputError(f"control character in the {name[:40]!r} header")
            lower = name.lower()
            if lower in _HOP_BY_HOP:
                continue
            if lower == b"content-length":
                if not value.isdigit() or len(value) > 18:
                    raise ScriptOutputError(f"bad Content-Length {value[:40]!r}")
                length = int(value)
                if head.contentLength not in (None, length):
                    raise ScriptOutputError("two different Content-Length values")
                head.contentLength = length
                continue
            if lower == b"status" and not self.nph:
                if status is not None:
                    raise ScriptOutputError("two Status headers")
                status = value
                continue
            if lower == b"location" and not self.nph:
                location = value
            head.headers.append((name.decode("latin-1"), value.decode("latin-1")))
        if status is not None:
            match = _STATUS.fullmatch(status)
            if match is None:
                raise ScriptOutputError(f"bad Status {status[:40]!r}")
            head.code = int(match.group(1))
            if not 200 <= head.code <= 599:
                raise ScriptOutputError(f"Status {head.code} is not a final status")
            head.reason = (match.group(2) or b"").decode("latin-1").strip() or None
        elif location is not None:
            text = location.decode("latin-1")
            if text.startswith("/") and not text.startswith("//"):
                head.localRedirect = text
            else:
                head.code = 302
        elif self.nph and not 200 <= head.code <= 599:
            raise ScriptOutputError(f"nph status {head.code} is not a final status")
        return head
