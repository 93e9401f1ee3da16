"""
Where web2's request reader and h11 differ on purpose: L{KNOWN_DIFFERENCES},
the table the differential fuzzer (C{_wire_differential}) checks against.

Each L{Rule} names a class of input with a predicate over a L{View} of one
request, says which I{kind} of difference that class makes, and says why,
citing RFC 9112 / RFC 9110 or the limit it comes from.  A rule is a claim
checked both ways: it explains a difference of its kind at a request it
matches, and a request it matches must not be accepted alike by both
parsers.  So each predicate describes exactly what web2 documents that it
refuses (or accepts), no more.

A L{View} is one request split by L{dissect} as a lenient reader would
split it (a bare LF ends a line, obs-fold continues one, anything after a
";" is a chunk extension), so that a predicate can look at exactly the part
the rule is about: the request line, field lines, chunk-size lines, trailer
lines.  It is written from the RFC grammar, not from either parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# --------------------------------------------------------------------------
# A lenient view of one request
# --------------------------------------------------------------------------

_BLANK = re.compile(rb"\n\r?\n")
HEX = re.compile(rb"[0-9A-Fa-f]*")


def _lines(block: bytes) -> list[tuple[bytes, bytes]]:
    """
    C{block} as C{(content, ending)} pairs, the ending C{b"\\r\\n"}, a bare
    C{b"\\n"}, or C{b""} for a last line cut short.
    """
    lines = block.split(b"\n")
    out = []
    for line in lines[:-1]:
        if line.endswith(b"\r"):
            out.append((line[:-1], b"\r\n"))
        else:
            out.append((line, b"\n"))
    if lines[-1]:
        out.append((lines[-1], b""))
    return out


def _unfold(lines) -> list[tuple[bytes, bytes]]:
    """
    Field lines as C{(lower-cased name, value)}, a continuation line joined
    to the line before with a space, values stripped of SP and HTAB.
    """
    joined: list[bytes] = []
    for content, _ in lines:
        if content[:1] in (b" ", b"\t") and joined:
            joined[-1] += b" " + content.strip(b" \t")
        else:
            joined.append(content)
    fields = []
    for line in joined:
        name, _, value = line.partition(b":")
        fields.append((name.lower(), value.strip(b" \t")))
    return fields


@dataclass
class View:
    """
    One request as L{dissect} splits it: what every predicate reads.

    @ivar leading: the empty lines before the request line.
    @ivar requestLine: the request line and C{requestEnding} its line end,
        or C{None}.
    @ivar method: the first of the request line's three words, and
        C{target} and C{version} the others; C{None} unless there are three.
    @ivar lines: the field lines as C{(content, ending)}, and the blank line
        that ends the head last (an empty line without ending if the head
        is cut short).
    @ivar fields: the fields, unfolded (L{_unfold}).
    @ivar chunkLines: the chunk-size lines of a chunked body, without CRLF.
    @ivar trailerLines: the trailer lines, like C{lines}.
    @ivar trailers: the trailer fields, unfolded.
    @ivar end: the offset after the request, or C{None} if it could not be
        delimited.
    """

    leading: bytes = b""
    requestLine: bytes | None = None
    requestEnding: bytes | None = None
    method: bytes | None = None
    target: bytes | None = None
    version: bytes | None = None
    lines: list = field(default_factory=list)
    fields: list = field(default_factory=list)
    chunkLines: list = field(default_factory=list)
    trailerLines: list = field(default_factory=list)
    trailers: list = field(default_factory=list)
    end: int | None = None

    def values(self, name: bytes) -> list[bytes]:
        """
        The values of the C{name} fields, in order.
        """
        return [v for n, v in self.fields if n == name]

    def items(self, name: bytes) -> list[bytes]:
        """
        The comma-separated elements of every C{name} field, stripped and
        lower-cased, empty ones included.
        """
        return [
            item.strip(b" \t").lower()
            for value in self.values(name)
            for item in value.split(b",")
        ]


def _section(data: bytes, pos: int) -> tuple[list, int | None]:
    """
    The lines from C{pos} to the first blank line (included) and the
    offset after it, or all the lines left and C{None}.
    """
    match = _BLANK.search(data, pos)
    if match is None:
        return _lines(data[pos:]) + [(b"", b"")], None
    return _lines(data[pos : match.end()]), match.end()


def dissect(data: bytes, pos: int) -> View:
    """
    Split the request that starts at C{pos} of C{data}.
    """
    view = View()
    start = pos
    while data.startswith(b"\r\n", pos) or data.startswith(b"\n", pos):
        pos += 2 if data[pos] == 13 else 1
    view.leading = data[start:pos]
    if pos >= len(data):
        return view
    lines, pos = _section(data, pos)
    view.requestLine, view.requestEnding = lines[0]
    view.lines = lines[1:]
    view.fields = _unfold(view.lines[:-1])
    words = view.requestLine.split(b" ")
    if len(words) == 3:
        view.method, view.target, view.version = words
    if pos is None:
        return view
    if view.values(b"transfer-encoding"):
        return _dissectChunked(data, pos, view)
    lengths = view.items(b"content-length")
    if all(x.isdigit() for x in lengths):
        end = pos + (int(lengths[0]) if lengths else 0)
        view.end = end if end <= len(data) else None
    return view


def _dissectChunked(data: bytes, pos: int, view: View) -> View:
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return view
        line = data[pos:eol]
        view.chunkLines.append(line)
        digits = HEX.match(line).group()
        if not digits:
            return view
        size = int(digits, 16)
        pos = eol + 2
        if size == 0:
            break
        pos += size + 2
        if pos > len(data):
            return view
    if data.startswith(b"\r\n", pos) or data.startswith(b"\n", pos):
        end = data.index(b"\n", pos) + 1
        view.trailerLines = _lines(data[pos:end])
    else:
        view.trailerLines, end = _section(data, pos)
        view.trailers = _unfold(view.trailerLines[:-1])
    view.end = end
    return view


# --------------------------------------------------------------------------
# The classes of input
# --------------------------------------------------------------------------

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
#: chunk-ext without BWS (RFC 9112 section 7.1.1).
_CHUNK_EXT = re.compile(
    rb"(?:;" + _TOKEN + rb"(?:=(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?)*"
)
#: CTL other than HTAB (RFC 5234 appendix B.1).
_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
#: The characters of uri-host and port (RFC 3986 section 3.2), as a set:
#: what web2 allows in a Host value and an absolute-form authority.
_HOST = re.compile(rb"[-A-Za-z0-9._~%!$&'()*+,;=:\[\]]*")
#: authority-form: uri-host ":" port (RFC 9112 section 3.2.3).
_HOST_PORT = re.compile(rb"[-A-Za-z0-9._~%!$&'()*+,;=\[\]:]+:[0-9]+")
#: absolute-form with an authority: scheme "://" authority ...
_SCHEME_AUTHORITY = re.compile(rb"[A-Za-z][-A-Za-z0-9+.]*://([^/?#]*)")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")


def _fieldLines(view: View):
    """
    The field lines of the head and the trailer section, without the
    blank lines that end them.
    """
    return view.lines[:-1] + view.trailerLines[:-1]


def _version(view: View) -> tuple[bytes, bytes] | None:
    match = view.version and _VERSION.fullmatch(view.version)
    return match.groups() if match else None


def bareLineFeed(view: View) -> bool:
    """
    A line of the head or of the trailer section ends in a bare LF.
    """
    ends = [view.requestEnding] + [e for _, e in view.lines + view.trailerLines]
    return b"\n" in ends


def obsFold(view: View) -> bool:
    """
    A field line (header or trailer) starts with SP or HTAB.
    """
    return any(content[:1] in (b" ", b"\t") for content, _ in _fieldLines(view))


def controlInField(view: View) -> bool:
    """
    A field value (header or trailer) holds a CTL other than HTAB.
    """
    for content, _ in _fieldLines(view):
        value = content if content[:1] in (b" ", b"\t") else content.partition(b":")[2]
        if _CTL.search(value):
            return True
    return False


def badTargetForm(view: View) -> bool:
    """
    The target is in none of the forms allowed for its method: origin-form
    (any method but CONNECT), asterisk-form (OPTIONS only), authority-form
    (CONNECT only, C{host:port} without userinfo), or absolute-form with a
    C{scheme://} authority that is not empty, has no userinfo and only
    authority characters.
    """
    method, target = view.method, view.target
    if method is None or not target:
        return False
    if method == b"CONNECT":
        return not (_HOST_PORT.fullmatch(target) and b"@" not in target)
    if target[:1] == b"/":
        return False
    if target == b"*":
        return method != b"OPTIONS"
    match = _SCHEME_AUTHORITY.match(target)
    if match is None:
        return True
    authority = match.group(1)
    return not authority or b"@" in authority or not _HOST.fullmatch(authority)


def badHost(view: View) -> bool:
    """
    A Host value has a character that uri-host and port do not allow.
    """
    return any(not _HOST.fullmatch(value) for value in view.values(b"host"))


def lengthAndCoding(view: View) -> bool:
    """
    Both Content-Length and Transfer-Encoding are present.
    """
    return bool(view.values(b"transfer-encoding") and view.values(b"content-length"))


def codingInHttp10(view: View) -> bool:
    """
    An HTTP/1.0 request has Transfer-Encoding.
    """
    return view.version == b"HTTP/1.0" and bool(view.values(b"transfer-encoding"))


def majorVersionNotOne(view: View) -> bool:
    """
    The version is HTTP/M.m with M other than 1.
    """
    version = _version(view)
    return version is not None and version[0] != b"1"


def laterMinorWithoutHost(view: View) -> bool:
    """
    The version is HTTP/1.m with m > 1, and there is no Host.
    """
    version = _version(view)
    return (
        version is not None
        and version[0] == b"1"
        and version[1] > b"1"
        and not view.values(b"host")
    )


def unknownExpectation(view: View) -> bool:
    """
    An HTTP/1.1 (or later 1.x) request expects something other than
    100-continue.
    """
    version = _version(view)
    if version is None or version < (b"1", b"1"):
        return False
    return any(item not in (b"", b"100-continue") for item in view.items(b"expect"))


def _extension(line: bytes) -> bytes:
    return line[len(HEX.match(line).group()) :]


def chunkExtension(view: View) -> bool:
    """
    A chunk-size line has an extension outside the chunk-ext grammar
    without BWS (whitespace at the end of the line aside).
    """
    return any(
        not _CHUNK_EXT.fullmatch(_extension(line).rstrip(b" \t"))
        for line in view.chunkLines
    )


def chunkSizeTooLong(view: View) -> bool:
    """
    A chunk size has more than 16 hex digits, leading zeros included.
    """
    return any(len(HEX.match(line).group()) > 16 for line in view.chunkLines)


def chunkLineTrailingSpace(view: View) -> bool:
    """
    A chunk-size line ends in SP or HTAB.
    """
    return any(line[-1:] in (b" ", b"\t") for line in view.chunkLines)


def framingTrailer(view: View) -> bool:
    """
    A trailer field is Content-Length, Transfer-Encoding or Host.
    """
    forbidden = (b"content-length", b"transfer-encoding", b"host")
    return any(name in forbidden for name, _ in view.trailers)


def lengthTooLong(view: View) -> bool:
    """
    A Content-Length element has more than 18 digits.
    """
    return any(len(item) > 18 for item in view.items(b"content-length"))


def emptyLinesFirst(view: View) -> bool:
    """
    One to four CRLFs come before the request line (or before the end of
    input, after the last request).
    """
    n = len(view.leading) // 2
    return 1 <= n <= 4 and view.leading == b"\r\n" * n


def codingListWithEmptyElements(view: View) -> bool:
    """
    The Transfer-Encoding fields, taken as one list without its empty
    elements, are C{chunked}; but they are not one field of exactly that.
    """
    values = view.values(b"transfer-encoding")
    items = [item for item in view.items(b"transfer-encoding") if item]
    return items == [b"chunked"] and not (
        len(values) == 1 and values[0].lower() == b"chunked"
    )


def equalLengthsWrittenDifferently(view: View) -> bool:
    """
    The Content-Length elements are all the same number, not all written
    the same way (C{5, 05}).
    """
    items = view.items(b"content-length")
    return (
        len(set(items)) > 1
        and all(item.isdigit() for item in items)
        and len({int(item) for item in items}) == 1
    )


def http10KeepAlive(view: View) -> bool:
    """
    An HTTP/1.0 request has the keep-alive connection option and not close.
    """
    tokens = view.items(b"connection")
    return (
        view.version == b"HTTP/1.0"
        and b"keep-alive" in tokens
        and b"close" not in tokens
    )


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

#: The kinds of difference.  REFUSES: web2 refuses the request, h11 accepts
#: it.  ACCEPTS: web2 accepts it (or, with no request left, ends cleanly)
#: where h11 fails.  PERSISTS: both accept it alike, but web2 keeps the
#: connection for the next request and h11 closes it.
REFUSES, ACCEPTS, PERSISTS = "web2 refuses", "web2 accepts", "web2 persists"


@dataclass(frozen=True)
class Rule:
    """
    One known difference.

    @ivar name: what reports call it.
    @ivar kind: L{REFUSES}, L{ACCEPTS} or L{PERSISTS}.
    @ivar predicate: recognises the class of input, given a L{View}.
    @ivar why: the RFC rule or the reason it is deliberate.
    """

    name: str
    kind: str
    predicate: Callable[[View], bool]
    why: str


KNOWN_DIFFERENCES = (
    # -- web2 is stricter than h11 --------------------------------------
    Rule(
        "bare LF line end",
        REFUSES,
        bareLineFeed,
        "RFC 9112 2.2: a recipient MAY take a single LF as a line end.  web2 "
        "does not (its reader's rule 1): parsers that disagree about line ends "
        "disagree about where a message ends.  h11 takes LF in heads and "
        "trailers.",
    ),
    Rule(
        "obs-fold",
        REFUSES,
        obsFold,
        "RFC 9112 5.2: a server MUST either reject obs-fold with 400 or "
        "replace it with SP.  web2 rejects (rule 2); h11 replaces.",
    ),
    Rule(
        "control character in a field value",
        REFUSES,
        controlInField,
        "RFC 9110 5.5: field-vchar is VCHAR or obs-text, and other CTLs are "
        "invalid.  h11 keeps CTLs other than NUL and whitespace on purpose "
        "(h11 issue 57).",
    ),
    Rule(
        "request-target form",
        REFUSES,
        badTargetForm,
        "RFC 9112 3.2: origin-form, absolute-form, authority-form (CONNECT "
        "only, 3.2.3) or asterisk-form (OPTIONS only, 3.2.4); RFC 9110 4.2.1 "
        "and 4.2.4: an http(s) URI has a host, and userinfo is an error.  "
        "web2 takes absolute-form with a scheme://authority only.  h11 checks "
        "only that the target is 1*VCHAR.",
    ),
    Rule(
        "invalid Host value",
        REFUSES,
        badHost,
        "RFC 9112 3.2: a server MUST answer 400 to a request whose Host "
        "value is invalid.  web2 checks its characters; h11 does not.",
    ),
    Rule(
        "Content-Length with Transfer-Encoding",
        REFUSES,
        lengthAndCoding,
        "RFC 9112 6.1: a server MAY reject a request with both, or read it by "
        "Transfer-Encoding and then MUST close the connection.  web2 rejects "
        "(the classic smuggling vector); h11 reads by Transfer-Encoding and "
        "keeps the connection.",
    ),
    Rule(
        "Transfer-Encoding in HTTP/1.0",
        REFUSES,
        codingInHttp10,
        "RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding MUST be "
        "treated as having faulty framing.  h11 reads it as chunked.",
    ),
    Rule(
        "HTTP major version other than 1",
        REFUSES,
        majorVersionNotOne,
        "RFC 9110 15.6.6: 505 for an unsupported major version.  h11 "
        "accepts any DIGIT.DIGIT.",
    ),
    Rule(
        "HTTP/1.x (x > 1) without Host",
        REFUSES,
        laterMinorWithoutHost,
        "RFC 9110 2.5: a later minor version is processed as the highest "
        "implemented, 1.1, which RFC 9112 3.2 requires to have Host.  h11 "
        "requires Host only for exactly 1.1.",
    ),
    Rule(
        "unsupported expectation",
        REFUSES,
        unknownExpectation,
        "RFC 9110 10.1.1: a server MAY answer 417 to an expectation other "
        "than 100-continue; web2 does (an HTTP/1.0 Expect is ignored).  h11 "
        "ignores unknown expectations.",
    ),
    Rule(
        "chunk extension outside the grammar",
        REFUSES,
        chunkExtension,
        'RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS '
        "value ] ), a value being a token or a quoted-string.  web2 checks "
        "that grammar without BWS, as web2._wire._abnf documents (a deliberate "
        "departure from the RFC 9110 5.6.3 rule that a recipient removes BWS: "
        "whitespace there is what chunk-extension smuggling plays on).  h11 "
        'takes anything after ";" up to the CRLF, a bare CR included.',
    ),
    Rule(
        "chunk size over 16 hex digits",
        REFUSES,
        chunkSizeTooLong,
        "RFC 9112 7.1: recipients MUST guard against overflow in large "
        "sizes.  web2 takes at most 16 digits (64 bits), leading zeros "
        "included; h11 takes 20.",
    ),
    Rule(
        "whitespace at the end of a chunk-size line",
        REFUSES,
        chunkLineTrailingSpace,
        "RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF, no whitespace "
        "before the CRLF.  h11 accepts it on purpose (servers send it).",
    ),
    Rule(
        "framing or routing field as a trailer",
        REFUSES,
        framingTrailer,
        "RFC 9110 6.5.1: fields needed before the content (framing, routing) "
        "cannot be processed as trailers and a sender MUST NOT send them so.  "
        "web2 refuses Content-Length, Transfer-Encoding and Host trailers; "
        "h11 accepts them.",
    ),
    Rule(
        "Content-Length over 18 digits",
        REFUSES,
        lengthTooLong,
        "A limit: web2 refuses more than 18 digits (10**18 bytes), leading "
        "zeros included; h11 allows 20.",
    ),
    # -- web2 is more lenient than h11 ----------------------------------
    Rule(
        "empty lines before a request line",
        ACCEPTS,
        emptyLinesFirst,
        "RFC 9112 2.2: a server SHOULD ignore at least one empty line before "
        "the request-line.  web2 ignores up to four (rule 3), and an end of "
        "input after them is a clean close; h11 refuses any.",
    ),
    Rule(
        "empty elements in the Transfer-Encoding list",
        ACCEPTS,
        codingListWithEmptyElements,
        "RFC 9110 5.6.1.2: a recipient MUST parse and ignore a reasonable "
        "number of empty list elements, and 5.3: several field lines are one "
        "list.  h11 wants one Transfer-Encoding field of exactly chunked.",
    ),
    Rule(
        "equal Content-Length values written differently",
        ACCEPTS,
        equalLengthsWrittenDifferently,
        "RFC 9110 8.6 and RFC 9112 6.3: a list of the same decimal value MAY "
        "be taken as that value.  web2 compares the numbers (5 and 05 frame "
        "the same body); h11 compares the strings.",
    ),
    Rule(
        "HTTP/1.0 keep-alive",
        PERSISTS,
        http10KeepAlive,
        "RFC 9112 9.3 and appendix C.2.2: an HTTP/1.0 connection persists "
        "when the keep-alive option is present.  web2 honours it; h11 does "
        "not support HTTP/1.0 keep-alive (documented).",
    ),
)
