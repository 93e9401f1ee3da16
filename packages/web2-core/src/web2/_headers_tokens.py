# -*- test-case-name: test_http_headers_toolkit -*-
"""
The parsing toolkit behind L{web2.http_headers}: a small scanner for the
RFC 9110 section 5.6 field syntax (tokens, quoted-strings, comma lists,
C{;name=value} parameters), the matching generators, and RFC 8187
ext-values.

Every parser here raises C{ValueError} with a short reason on malformed
input; L{web2.http_headers.Headers.getHeader} turns that into a
L{HeaderParseError} naming the header.  All scanning is done with anchored
regular expressions that advance a position, so the cost is linear in the
length of the value whatever the client sends.
"""

import re
from urllib.parse import quote, unquote_to_bytes

__all__ = [
    "HeaderParseError",
    "Scanner",
    "canonicalNameCaps",
    "checkText",
    "decodeExtValue",
    "encodeExtValue",
    "generateParams",
    "isToken",
    "parseKeyValue",
    "parseList",
    "parseParams",
    "quoteIfNeeded",
    "quoteString",
    "single",
    "uniqueParams",
]


class HeaderParseError(ValueError):
    """
    A header field value does not follow its grammar.

    @ivar name: the header name, canonically capitalised.
    @ivar rawValues: the raw field lines (C{list} of C{str}) that failed.
    @ivar reason: what was wrong, for a log line or a 400 body.
    """

    def __init__(self, name, rawValues, reason):
        ValueError.__init__(self, name, rawValues, reason)
        self.name = name
        self.rawValues = rawValues
        self.reason = reason

    def __str__(self) -> str:
        return f"malformed {self.name} header: {self.reason}"


# RFC 9110 5.6.2: tchar.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN_FULL = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_OWS = re.compile(r"[ \t]*")
# RFC 9110 5.6.4: the body of a quoted-string (control characters are
# refused beforehand for the whole value, see checkText).
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
# Control characters other than HTAB are never allowed in a field value.
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def checkText(text: str) -> str:
    """
    Refuse control characters (other than HTAB) in a field value.

    @return: C{text}
    @raise ValueError: a control character is present.
    """
    if _CTL.search(text) is not None:
        raise ValueError("control character in header value")
    return text


def isToken(text: str) -> bool:
    """
    Whether C{text} is a non-empty RFC 9110 token.
    """
    return _TOKEN_FULL.match(text) is not None


class Scanner:
    """
    A cursor over one header value.  Each method consumes what it
    recognises or raises C{ValueError} without consuming anything.

    @ivar text: the value being scanned.
    @ivar pos: the offset of the next character.
    """

    __slots__ = ("text", "pos", "end")

    def __init__(self, text: str):
        self.text = checkText(text)
        self.pos = 0
        self.end = len(text)

    def ows(self) -> None:
        """
        Skip optional whitespace (SP and HTAB).
        """
        self.pos = _OWS.match(self.text, self.pos).end()

    def atEnd(self) -> bool:
        return self.pos >= self.end

    def peek(self) -> str:
        """
        The next character, or C{''} at the end.
        """
        return self.text[self.pos : self.pos + 1]

    def accept(self, literal: str) -> bool:
        """
        Consume C{literal} if it comes next.
        """
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.accept(literal):
            raise ValueError(f"expected {literal!r} at offset {self.pos}")

    def match(self, regex):
        """
        Consume a match of C{regex} at the cursor.

        @return: the match object, or C{None} (nothing consumed).
        """
        m = regex.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
        return m

    def token(self) -> str:
        m = TOKEN.match(self.text, self.pos)
        if m is None:
            raise ValueError(f"expected a token at offset {self.pos}")
        self.pos = m.end()
        return m.group()

    def quoted(self) -> str:
        """
        Consume a quoted-string and return its unescaped contents.
        """
        m = _QUOTED.match(self.text, self.pos)
        if m is None:
            raise ValueError(f"bad quoted-string at offset {self.pos}")
        self.pos = m.end()
        body = m.group(1)
        if "\\" in body:
            body = _QUOTED_PAIR.sub(r"\1", body)
        return body

    def value(self) -> str:
        """
        Consume a token or a quoted-string (RFC 9110 parameter-value).
        """
        if self.text.startswith('"', self.pos):
            return self.quoted()
        return self.token()

    def rest(self) -> str:
        """
        Consume and return everything left.
        """
        text = self.text[self.pos :]
        self.pos = self.end
        return text

    def finish(self) -> None:
        """
        Require that only whitespace is left.
        """
        self.ows()
        if not self.atEnd():
            raise ValueError(f"unexpected {self.peek()!r} at offset {self.pos}")


def parseList(rawValues, item):
    """
    Parse the RFC 9110 5.6.1 list C{#item} spread over one or more field
    lines.  Empty elements are skipped, as the RFC requires of recipients.

    @param rawValues: the field lines (C{list} of C{str}).
    @param item: a callable taking the L{Scanner} positioned at an element
        and returning its parsed form; it must stop before the C{,}.
    @return: a C{list} of parsed elements.
    """
    sc = Scanner(",".join(rawValues))
    out = []
    while True:
        sc.ows()
        while sc.accept(","):
            sc.ows()
        if sc.atEnd():
            return out
        out.append(item(sc))
        sc.ows()
        if not sc.atEnd() and not sc.accept(","):
            raise ValueError(f"expected ',' at offset {sc.pos}")


def parseKeyValue(sc: Scanner, valueRequired: bool = False):
    """
    Parse C{token [BWS "=" BWS (token / quoted-string)]}.

    @return: C{(name.lower(), value)}; C{value} is C{None} when absent.
    """
    name = sc.token().lower()
    save = sc.pos
    sc.ows()
    if sc.accept("="):
        sc.ows()
        return name, sc.value()
    sc.pos = save
    if valueRequired:
        raise ValueError(f"parameter {name!r} has no value")
    return name, None


def parseParams(sc: Scanner, valueRequired: bool = True):
    """
    Parse C{*( OWS ";" OWS [ parameter ] )} following an element.

    @return: a C{list} of C{(name.lower(), value)} in order of appearance.
    """
    params = []
    while True:
        save = sc.pos
        sc.ows()
        if not sc.accept(";"):
            sc.pos = save
            return params
        sc.ows()
        if sc.peek() in ("", ",", ";"):
            continue
        params.append(parseKeyValue(sc, valueRequired))


def uniqueParams(pairs) -> dict:
    """
    Build a C{dict} from parameter pairs, refusing a name given twice (an
    ambiguity that two implementations could resolve differently).
    """
    out = {}
    for name, value in pairs:
        if name in out:
            raise ValueError(f"parameter {name!r} given twice")
        out[name] = value
    return out


def single(rawValues) -> str:
    """
    The value of a singleton header.  Several identical lines count as one;
    differing lines are ambiguous and refused.

    @raise ValueError: conflicting lines, or a control character.
    """
    first = checkText(rawValues[0]).strip(" \t")
    for other in rawValues[1:]:
        if other.strip(" \t") != first:
            raise ValueError("conflicting values on several lines")
    return first


def quoteString(text: str) -> str:
    """
    Make an RFC 9110 quoted-string of C{text}.

    @raise ValueError: C{text} holds a control character.
    """
    checkText(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quoteIfNeeded(text: str) -> str:
    """
    C{text} itself if it is a token, otherwise its quoted-string.
    """
    if _TOKEN_FULL.match(text) is not None:
        return text
    return quoteString(text)


def generateParams(params, quoteAlways=(), separator=";") -> str:
    """
    Generate C{;name=value} parameters from a mapping (a C{None} value
    gives a bare C{;name}).

    @param quoteAlways: names whose values are quoted even when a token.
    @param separator: what precedes each parameter (C{";"} or C{"; "}).
    """
    out = []
    for name, value in params.items():
        if not isToken(name):
            raise ValueError(f"invalid parameter name {name!r}")
        if value is None:
            out.append(f"{separator}{name}")
        elif name in quoteAlways:
            out.append(f"{separator}{name}={quoteString(str(value))}")
        else:
            out.append(f"{separator}{name}={quoteIfNeeded(str(value))}")
    return "".join(out)


# RFC 8187 3.2.1: ext-value = charset "'" [ language ] "'" value-chars
_EXT_VALUE = re.compile(
    r"([A-Za-z0-9!#$%&+\-^_`{}~]+)'([A-Za-z0-9\-]*)'"
    r"((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*)\Z"
)
_EXT_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1"}
_ATTR_SAFE = "!#$&+-.^_`|~"


def decodeExtValue(text: str):
    """
    Decode an RFC 8187 ext-value such as C{UTF-8''%e2%82%ac%20rates}.

    @return: C{(value, language)}; C{language} may be C{''}.
    @raise ValueError: bad syntax, an unsupported charset, or bytes that
        are not valid in the charset.
    """
    m = _EXT_VALUE.match(text)
    if m is None:
        raise ValueError("malformed ext-value")
    charset = _EXT_CHARSETS.get(m.group(1).lower())
    if charset is None:
        raise ValueError(f"unsupported ext-value charset {m.group(1)!r}")
    return unquote_to_bytes(m.group(3)).decode(charset), m.group(2)


def encodeExtValue(text: str, language: str = "") -> str:
    """
    Encode C{text} as an RFC 8187 ext-value in UTF-8.
    """
    return "UTF-8'" + language + "'" + quote(text.encode("utf-8"), safe=_ATTR_SAFE)


# Names whose usual spelling is not Dash-Capitalized.
_SPECIAL_CAPS = {
    name.lower(): name
    for name in (
        "ETag", "WWW-Authenticate", "Content-MD5", "Content-ID", "TE", "DAV",
        "DNT", "P3P", "Status-URI", "X-XSS-Protection", "X-UA-Compatible",
        "Sec-WebSocket-Key", "Sec-WebSocket-Accept", "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Accept-CH",
        "Expect-CT", "SourceMap", "X-Request-ID", "X-Correlation-ID",
        "SLUG", "MIME-Version", "Content-Base",
    )
}  # fmt: skip
_capsCache: dict = {}
_CAPS_CACHE_SIZE = 2048


def canonicalNameCaps(name: str) -> str:
    """
    The conventional spelling of a header name: the well-known irregular
    ones (C{ETag}, C{WWW-Authenticate}, C{TE}, C{DAV}...) as registered,
    anything else Dash-Capitalized (C{x-foo-bar} -> C{X-Foo-Bar}).

    Results are memoised in a bounded table, so hostile clients sending
    endless distinct names cannot grow it without limit.
    """
    lower = name.lower()
    caps = _capsCache.get(lower)
    if caps is None:
        caps = _SPECIAL_CAPS.get(lower)
        if caps is None:
            caps = "-".join(part.capitalize() for part in lower.split("-"))
        if len(_capsCache) < _CAPS_CACHE_SIZE:
            _capsCache[lower] = caps
    return caps
