# -*- test-case-name: test_cgi_scgi -*-
"""
The SCGI request head without I/O: a netstring (C{LENGTH ":" BYTES ","})
whose bytes are NUL-terminated names and values.

The rules (SCGI, Schemenauer 2008): C{CONTENT_LENGTH} comes first (even
when it is C{0}), no name appears twice, and C{SCGI}, when present, must
be C{1}.  The specification says every head carries C{SCGI}, but nginx
sends only the C{scgi_param}s its configuration names (Debian's
C{scgi_params} file adds C{SCGI 1}; a site's own minimal list usually
does not), and flup and the other SCGI servers accept a head without it;
so a missing C{SCGI} is read as C{1} and only another value is refused
(it would be a protocol version this reader does not speak).  The length
prefix may arrive in any number of pieces (the original assumed it came in
the first packet); it may not have leading zeros, nor more digits than the
largest head accepted, so nothing unbounded is ever buffered.
"""

from __future__ import annotations


class SCGIProtocolError(ValueError):
    """
    The bytes are not an SCGI request head.
    """


class SCGIHeadReader:
    """
    Collects the head of one SCGI request.
    """

    def __init__(self, maxHeadBytes: int = 65536):
        """
        @param maxHeadBytes: the longest netstring accepted.
        """
        self.maxHeadBytes = maxHeadBytes
        self._maxDigits = len(str(maxHeadBytes))
        self._buffer = bytearray()
        self._length = None
        self._start = 0

    def feed(self, data: bytes):
        """
        @return: C{(variables, rest)} once the head is complete: a C{dict}
            of C{str} (latin-1) names to values, and the bytes after the
            head (the start of the body); else C{None}.
        @raise SCGIProtocolError: the bytes are not a valid head.
        """
        buf = self._buffer
        buf += data
        if self._length is None:
            colon = buf.find(b":", 0, self._maxDigits + 1)
            if colon < 0:
                if len(buf) > self._maxDigits or not bytes(buf).isdigit() and buf:
                    raise SCGIProtocolError("bad netstring length prefix")
                return None
            digits = bytes(buf[:colon])
            if not digits.isdigit() or (len(digits) > 1 and digits[:1] == b"0"):
                raise SCGIProtocolError(f"bad netstring length {digits[:20]!r}")
            length = int(digits)
            if length > self.maxHeadBytes:
                raise SCGIProtocolError(
                    f"head of {length} bytes, over the limit of {self.maxHeadBytes}")
            self._length = length
            self._start = colon + 1
        end = self._start + self._length
        if len(buf) <= end:
            return None
        if buf[end] != ord(","):
            raise SCGIProtocolError("netstring not terminated by ','")
        variables = parseHead(bytes(buf[self._start:end]))
        rest = bytes(buf[end + 1:])
        self._buffer = bytearray()
        return variables, rest


def parseHead(block: bytes) -> dict[str, str]:
    """
    Parse the NUL-separated names and values of an SCGI head.

    @raise SCGIProtocolError: the block breaks a rule.
    """
    if not block.endswith(b"\0"):
        raise SCGIProtocolError("head does not end with NUL")
    parts = block[:-1].split(b"\0")
    if len(parts) % 2:
        raise SCGIProtocolError("a name without a value")
    variables: dict[str, str] = {}
    for index in range(0, len(parts), 2):
        name = parts[index].decode("latin-1")
        if not name:
            raise SCGIProtocolError("an empty name")
        if name in variables:
            raise SCGIProtocolError(f"{name[:40]!r} appears twice")
        if index == 0 and name != "CONTENT_LENGTH":
            raise SCGIProtocolError("CONTENT_LENGTH is not the first header")
        variables[name] = parts[index + 1].decode("latin-1")
    length = variables["CONTENT_LENGTH"]
    if not length.isdigit() or len(length) > 18:
        raise SCGIProtocolError(f"bad CONTENT_LENGTH {length[:40]!r}")
    if variables.get("SCGI", "1") != "1":
        raise SCGIProtocolError("SCGI is not 1")
    return variables
