# -*- test-case-name: test_wire_reader -*-
"""
Turn a complete request head into a L{RequestHead}: the request line, the
header fields, and the facts derived from the framing fields (RFC 9112
sections 3, 5, 6 and 9.3; RFC 9110 sections 7.2 and 10.1.1).

Choices, each a refusal where the RFC allows either:
  - Transfer-Encoding together with Content-Length is refused (400), not
    resolved in favour of Transfer-Encoding: it is the classic smuggling
    vector and no honest client sends both.
  - Transfer-Encoding in an HTTP/1.0 request is refused (400).
  - Only C{chunked} is implemented; other codings before it give 501.
  - An HTTP/1.x version with a minor version above 1 is treated as 1.1
    (RFC 9110 section 2.5); a major version other than 1 gives 505.
"""

from ._abnf import (
    ABSOLUTE_FORM,
    AUTHORITY_FORM,
    HOST,
    HTTP_VERSION,
    REQUEST_LINE,
    TARGET_CHARS,
    TOKEN,
)
from ._errors import ProtocolError
from ._events import RequestHead
from ._fields import parse_fields
from ._limits import Limits

# Fields that change framing or connection handling; all others pass
# through untouched.
_SPECIAL = frozenset(
    [
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"expect",
        b"upgrade",
    ]
)

_EMPTY: frozenset[bytes] = frozenset()

_VERSIONS = {("1", "0"): (1, 0), ("1", "1"): (1, 1)}

# A Content-Length of more than this many digits is refused outright
# (10**18 bytes is far past any real body).
_MAX_LENGTH_DIGITS = 18


def parse_head(line: str, block: bytes, limits: Limits) -> RequestHead:
    """
    Parse one request head.

    @param line: the request line without its CRLF, decoded as latin-1.
    @param block: the header field lines, each with its CRLF (empty when
        there are none).
    @param limits: the limits in force.
    @raise ProtocolError: the request is malformed or over a limit.
    """
    parsed = _lines.get(line)
    if parsed is None:
        parsed = _parse_request_line(line)
    method, target, version, target_host = parsed

    if block:
        section = _sections.get(block)
        if section is None:
            section = _parse_section(block, limits)
        elif len(section.pairs) > limits.max_header_count:
            raise ProtocolError(431, "too many header fields")
    else:
        section = _NO_SECTION

    host = section.host
    if host is not None:
        # The common heads: one valid Host, no framing field, and at most
        # one Connection field of one token; the same result as
        # _interpret(), without its walk.
        token = section.token
        if token is None:
            keep_alive = version == (1, 1)
        elif version == (1, 1):
            keep_alive = token != b"close"
        else:
            keep_alive = token == b"keep-alive"
        return RequestHead(
            method,
            target,
            version,
            list(section.pairs),
            0,
            False,
            keep_alive,
            False,
            host if target_host is None else target_host,
            section.connection,
            None,
        )
    if not section.found:
        if version == (1, 1):
            raise ProtocolError(400, "missing Host header")
        return RequestHead(
            method,
            target,
            version,
            list(section.pairs),
            0,
            False,
            False,
            False,
            target_host,
            _EMPTY,
            None,
        )
    return _interpret(
        method, target, version, list(section.pairs), section.found, target_host, limits
    )


class _Section:
    """
    What a header section says whatever request line it follows: its
    fields, the framing and connection fields among them, and for the
    common heads (see L{parse_head}) their Host and Connection token.
    Shared by every request that sends the same section: read only.

    @ivar pairs: the fields, a C{tuple} of C{(name, value)} pairs.
    @ivar found: the values of each L{_SPECIAL} field present, by name.
    @ivar host: the Host of a common head, else C{None}.
    @ivar token: the lower-cased Connection token of a common head that
        has one, else C{None}.
    @ivar connection: the C{frozenset} of that token, or empty.
    """

    __slots__ = ("pairs", "found", "host", "token", "connection")

    def __init__(self, pairs: tuple, found: dict) -> None:
        self.pairs = pairs
        self.found = found
        self.host = None
        self.token = None
        self.connection = _EMPTY
        hosts = found.get(b"host")
        if hosts is None or len(hosts) != 1 or len(found) > 2:
            return
        if len(found) == 2:
            values = found.get(b"connection")
            if values is None or len(values) != 1 or b"," in values[0]:
                return
            self.token = values[0].lower()
            self.connection = frozenset((self.token,))
        if not HOST.fullmatch(hosts[0]):
            # As _interpret() would say: one Host, and not a valid one.
            raise ProtocolError(400, "invalid Host header")
        self.host = hosts[0]


_NO_SECTION = _Section((), {})

# Header sections already parsed, and what they gave.  The clients of a
# server send the same few sections again and again (one browser's requests
# for a page's images, an API client's calls, a health check, a load
# generator), whatever their request lines; for those bytes the parse is a
# dictionary lookup.  The result depends on the limits only through the
# field count, which is checked on every hit.  A section is kept the second
# time it is seen (the first, only its bytes go into _seen): keeping every
# parse alive costs more in allocation and garbage collection, for traffic
# that never repeats, than parsing.  Both are bounded like the request-line
# cache: a client sending endless new sections costs a re-parse, never
# memory.
_SECTION_CACHE_SIZE = 256
_MAX_CACHED_SECTION = 2048
_sections: dict[bytes, _Section] = {}
_seen: dict[bytes, None] = {}


def _parse_section(block: bytes, limits: Limits) -> _Section:
    """
    Parse a header section into a L{_Section}, and remember it.

    @raise ProtocolError: a field line is malformed, there are too many, or
        the one Host field of a common head is invalid.
    """
    pairs = parse_fields(block, limits.max_header_count)
    found: dict[bytes, list[bytes]] = {}
    for name, value in pairs:
        if name in _SPECIAL:
            if name in found:
                found[name].append(value)
            else:
                found[name] = [value]
    section = _Section(tuple(pairs), found)
    if len(block) <= _MAX_CACHED_SECTION:
        if block in _seen:
            if len(_sections) >= _SECTION_CACHE_SIZE:
                _sections.clear()
            _sections[block] = section
        else:
            if len(_seen) >= _SECTION_CACHE_SIZE:
                _seen.clear()
            _seen[block] = None
    return section


# Request lines already parsed, and what they gave: a server sees the same
# few again and again.  Bounded: emptied when full, so that a client sending
# endless new ones costs a re-parse, never memory.
_LINE_CACHE_SIZE = 1024
_lines: dict[str, tuple] = {}


def _parse_request_line(line: str) -> tuple:
    """
    Parse a request line into C{(method, target, version, target_host)},
    and remember the result.

    @raise ProtocolError: the line is malformed.
    """
    match = REQUEST_LINE.fullmatch(line)
    if match is None:
        diagnose_request_line(line)
    method, target, major, minor = match.groups()
    version = _VERSIONS.get((major, minor))
    if version is None:
        version = _other_version(major)
    if target[0] == "/" and method != "CONNECT":
        target_host = None
    else:
        target_host = _target_authority(method, target)
    parsed = (method, target, version, target_host)
    if len(line) <= 512:
        if len(_lines) >= _LINE_CACHE_SIZE:
            _lines.clear()
        _lines[line] = parsed
    return parsed


def check_request_line(line: str) -> None:
    """
    Check a request line on its own, so that garbage is refused before its
    header section is complete.

    @raise ProtocolError: as L{parse_head} would for this line.
    """
    match = REQUEST_LINE.fullmatch(line)
    if match is None:
        diagnose_request_line(line)
    method, target, major, minor = match.groups()
    if (major, minor) not in _VERSIONS:
        _other_version(major)
    if target[0] != "/" or method == "CONNECT":
        _target_authority(method, target)


def diagnose_request_line(line: str) -> None:
    """
    Raise the right error for a request line that failed L{REQUEST_LINE}.
    """
    parts = line.split(" ")
    if len(parts) == 2 and parts[0] and parts[1]:
        raise ProtocolError(400, "request line without an HTTP version")
    if len(parts) != 3 or not all(parts):
        raise ProtocolError(400, "malformed request line")
    method, target, version = parts
    if not HTTP_VERSION.fullmatch(version):
        raise ProtocolError(400, "malformed HTTP version")
    if not TOKEN.fullmatch(method.encode("latin-1")):
        raise ProtocolError(400, "method is not a token")
    if not TARGET_CHARS.fullmatch(target):
        raise ProtocolError(400, "invalid character in request target")
    raise ProtocolError(400, "malformed request line")  # pragma: no cover


def _other_version(major: str) -> tuple[int, int]:
    if major == "1":
        return (1, 1)
    raise ProtocolError(505, f"HTTP version {major}.x not supported")


def _target_authority(method: str, target: str) -> bytes | None:
    """
    Check a target that is not in origin-form and return the host it
    names, if any (RFC 9112 section 3.2).
    """
    if target == "*":
        if method == "OPTIONS":
            return None
        raise ProtocolError(400, "asterisk-form target is only for OPTIONS")
    if method == "CONNECT":
        if AUTHORITY_FORM.fullmatch(target) and "@" not in target:
            return target.encode("ascii")
        raise ProtocolError(400, "CONNECT needs an authority-form target")
    match = ABSOLUTE_FORM.match(target)
    if match is None:
        raise ProtocolError(400, "invalid request target form")
    authority = match.group(1).encode("ascii")
    if not authority or b"@" in authority or not HOST.fullmatch(authority):
        raise ProtocolError(400, "invalid authority in absolute-form target")
    return authority


def _content_length(values: list[bytes], limits: Limits) -> int:
    """
    The body length from the Content-Length fields: 1*DIGIT only; a list of
    identical values (in one field or several) collapses to one.
    """
    if len(values) == 1:
        value = values[0]
        if value.isdigit() and len(value) <= _MAX_LENGTH_DIGITS:
            return int(value)
    lengths = set()
    for value in values:
        for item in value.split(b","):
            item = item.strip(b" \t")
            if not item.isdigit():
                raise ProtocolError(400, "invalid Content-Length")
            if len(item) > _MAX_LENGTH_DIGITS:
                raise ProtocolError(400, "Content-Length too long")
            lengths.add(int(item))
    if len(lengths) != 1:
        raise ProtocolError(400, "conflicting Content-Length values")
    return lengths.pop()


def _check_transfer_encoding(values: list[bytes]) -> None:
    """
    Accept a Transfer-Encoding list only if it ends in a single C{chunked}.
    """
    codings = [
        item.strip(b" \t").lower()
        for value in values
        for item in value.split(b",")
        if item.strip(b" \t")
    ]
    if not codings or codings[-1] != b"chunked":
        raise ProtocolError(400, "Transfer-Encoding does not end in chunked")
    for coding in codings[:-1]:
        if coding == b"chunked":
            raise ProtocolError(400, "chunked applied more than once")
    for coding in codings[:-1]:
        name = coding.split(b";", 1)[0].strip(b" \t")
        if not TOKEN.fullmatch(name):
            raise ProtocolError(400, "invalid transfer-coding")
    if len(codings) > 1:
        raise ProtocolError(501, "transfer-coding not implemented")


def _interpret(method, target, version, headers, found, target_host, limits):
    """
    Build the L{RequestHead} of a request that has framing or connection
    fields.
    """
    is11 = version == (1, 1)

    hosts = found.get(b"host")
    if hosts is None:
        if is11:
            raise ProtocolError(400, "missing Host header")
        host = None
    elif len(hosts) > 1:
        raise ProtocolError(400, "more than one Host header")
    else:
        host = hosts[0]
        if not HOST.fullmatch(host):
            raise ProtocolError(400, "invalid Host header")
    if target_host is not None:
        host = target_host

    lengths = found.get(b"content-length")
    codings = found.get(b"transfer-encoding")
    chunked = False
    if codings is not None:
        if lengths is not None:
            raise ProtocolError(400, "both Transfer-Encoding and Content-Length")
        if not is11:
            raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request")
        _check_transfer_encoding(codings)
        chunked = True
        length = None
    elif lengths is not None:
        length = _content_length(lengths, limits)
        if limits.max_body_size is not None and length > limits.max_body_size:
            raise ProtocolError(413, "Content-Length over the body size limit")
    else:
        length = 0

    conn_values = found.get(b"connection")
    if conn_values is None:
        connection = _EMPTY
    elif len(conn_values) == 1 and b"," not in conn_values[0]:
        connection = frozenset((conn_values[0].lower(),))
    else:
        connection = frozenset(
            item.strip(b" \t").lower()
            for value in conn_values
            for item in value.split(b",")
            if item.strip(b" \t")
        )
    if is11:
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection and b"close" not in connection

    expect_continue = False
    expects = found.get(b"expect")
    if expects is not None and is11:
        for value in expects:
            for item in value.split(b","):
                item = item.strip(b" \t").lower()
                if item == b"100-continue":
                    expect_continue = True
                elif item:
                    raise ProtocolError(417, "unsupported expectation")

    upgrades = found.get(b"upgrade")
    upgrade = None if upgrades is None else b", ".join(upgrades)

    return RequestHead(
        method,
        target,
        version,
        headers,
        length,
        chunked,
        keep_alive,
        expect_continue,
        host,
        connection,
        upgrade,
    )
