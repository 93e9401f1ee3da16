# -*- test-case-name: test_http_headers_standard -*-
"""
Parsers and generators for the header fields of RFC 9110 (semantics),
RFC 9111 (caching) and RFC 9112 (HTTP/1.1), plus a few obsolete but still
seen ones (Pragma, Warning, Content-MD5) and Prefer (RFC 7240).

A parser takes the list of raw field lines (C{str}) and returns the parsed
value or raises C{ValueError}; a generator takes the parsed value and
returns the list of field lines.  L{PARSERS} and L{GENERATORS} map the
canonical header names to them.
"""

import base64
import re
import time
from urllib.parse import quote

from web2._headers_tokens import (
    Scanner,
    canonicalNameCaps,
    checkText,
    generateParams,
    isToken,
    parseKeyValue,
    parseList,
    parseParams,
    quoteIfNeeded,
    quoteString,
    single,
)
from web2._headers_values import (
    ETag,
    MimeType,
    generateDateTime,
    parseDateTime,
    parseETag,
)

# ---------------------------------------------------------------------------
# Numbers

_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 18  # ~10**18: beyond any real length, still cheap to convert
_DELTA_CAP = 2**31  # RFC 9111 1.2.2


def _integer(text: str) -> int:
    """
    A non-negative decimal integer: ASCII digits only (no sign, no
    underscores, no non-ASCII digits that C{int()} would accept).
    """
    if _DIGITS.fullmatch(text) is None:
        raise ValueError(f"not a non-negative integer: {text[:20]!r}")
    if len(text) > _MAX_DIGITS:
        raise ValueError("integer too large")
    return int(text)


def _deltaSeconds(text: str) -> int:
    """
    RFC 9111 1.2.2 delta-seconds, capped at 2**31 as the RFC asks.
    """
    if _DIGITS.fullmatch(text) is None:
        raise ValueError(f"not delta-seconds: {text[:20]!r}")
    if len(text) > 10:
        return _DELTA_CAP
    return min(int(text), _DELTA_CAP)


def _parseInt(raw):
    return _integer(single(raw))


def _parseDelta(raw):
    return _deltaSeconds(single(raw))


def _generateInt(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a non-negative integer: {value!r}")
    return [str(value)]


def _parseContentLength(raw):
    """
    RFC 9110 8.6: a list of identical lengths (C{42, 42}) counts as one;
    differing lengths are refused.
    """
    values = set(parseList(raw, lambda sc: _integer(sc.token())))
    if len(values) != 1:
        raise ValueError("conflicting or missing Content-Length values")
    return values.pop()


# ---------------------------------------------------------------------------
# Strings, URIs and token lists


def _parseStr(raw):
    return single(raw)


def _generateStr(value):
    return [value]


def _generateURI(value):
    """
    Percent-encode (UTF-8) anything outside printable ASCII: this maps an
    IRI to a URI and also defuses CR/LF smuggled into a redirect target.
    """
    return [re.sub(r"[^\x21-\x7e]+", lambda m: quote(m.group(), safe=""), value)]


_HOST = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]"
    r"|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?\Z"
)


def _parseHost(raw):
    """
    RFC 9110 7.2: C{uri-host [":" port]}; anything else (spaces, C{@},
    C{/}, several differing lines) is refused, since virtual hosting and
    URL reconstruction trust this value.
    """
    host = single(raw)
    if _HOST.match(host) is None:
        raise ValueError(f"invalid host {host[:40]!r}")
    return host


def _generateHost(value):
    if _HOST.match(value) is None:
        raise ValueError(f"invalid host {value!r}")
    return [value]


def _tokenList(lower: bool):
    def parse(raw):
        items = parseList(raw, Scanner.token)
        return [t.lower() for t in items] if lower else items

    return parse


def _generateList(values):
    return [", ".join(values)]


def _generateFieldNames(values):
    return [", ".join(v if v == "*" else canonicalNameCaps(v) for v in values)]


def _upgradeItem(sc):
    protocol = sc.token()
    if sc.accept("/"):
        protocol += "/" + sc.token()
    return protocol


def _parseUpgrade(raw):
    return parseList(raw, _upgradeItem)


def _parseMD5(raw):
    return base64.b64decode(single(raw), validate=True)


def _generateMD5(value):
    return [base64.b64encode(value).decode("ascii")]


# ---------------------------------------------------------------------------
# Content negotiation (RFC 9110 12.5)

_QVALUE = re.compile(r"(?:[01](?:\.[0-9]{0,6})?|\.[0-9]{1,6})\Z")


def _qvalue(text) -> float:
    if text is None or _QVALUE.match(text) is None:
        raise ValueError(f"bad qvalue {text!r}")
    q = float(text)
    if q > 1.0:
        raise ValueError(f"qvalue above 1: {text!r}")
    return q


def _formatQ(q) -> str:
    if q >= 1.0:
        return ""
    return ";q=" + (f"{q:.3f}".rstrip("0").rstrip(".") or "0")


def _acceptItem(sc):
    """
    C{media-range [weight]}: parameters before C{q} belong to the media
    range, those after it are accept-extensions and are dropped.
    """
    mediaType = sc.token()
    if sc.accept("/"):
        mediaSubtype = sc.token()
    elif mediaType == "*":  # a bare "*" sent by some old clients
        mediaSubtype = "*"
    else:
        raise ValueError(f"expected '/' at offset {sc.pos}")
    params, q = {}, 1.0
    for name, value in parseParams(sc, valueRequired=False):
        if name == "q":
            q = _qvalue(value)
            break
        params[name] = value
    return MimeType(mediaType, mediaSubtype, params), q


def _parseAccept(raw):
    return dict(parseList(raw, _acceptItem))


def _generateAccept(value):
    return [", ".join(str(mime) + _formatQ(q) for mime, q in value.items())]


def _qualityItem(sc):
    name = sc.token().lower()
    q = 1.0
    for param, value in parseParams(sc, valueRequired=False):
        if param == "q":
            q = _qvalue(value)
    return name, q


def _parseQualityDict(raw):
    return dict(parseList(raw, _qualityItem))


def _generateQualityDict(value):
    return [", ".join(name + _formatQ(q) for name, q in value.items())]


# ---------------------------------------------------------------------------
# Directives: Cache-Control (RFC 9111 5.2), Pragma, Expect, Prefer

_DELTA_DIRECTIVES = frozenset(
    ("max-age", "s-maxage", "min-fresh", "max-stale",
     "stale-while-revalidate", "stale-if-error")
)  # fmt: skip
_FIELD_LIST_DIRECTIVES = frozenset(("no-cache", "private"))


def _parseDirectives(raw):
    """
    A C{dict} of directive name to value (C{None} when bare).  A repeated
    directive keeps its first value (RFC 9111 4.2.1 allows that choice).
    """
    out = {}
    for name, value in parseList(raw, parseKeyValue):
        out.setdefault(name, value)
    return out


def _parseCacheControl(raw):
    out = _parseDirectives(raw)
    for name, value in out.items():
        if name in _DELTA_DIRECTIVES:
            if value is not None:
                out[name] = _deltaSeconds(value)
            elif name != "max-stale":
                raise ValueError(f"{name} needs a value")
        elif name in _FIELD_LIST_DIRECTIVES and value is not None:
            out[name] = [f.strip(" \t").lower() for f in value.split(",") if f.strip()]
    return out


def _generateCacheControl(value):
    parts = []
    for name, arg in value.items():
        if arg is None or arg is True:
            parts.append(name)
        elif isinstance(arg, (list, tuple)):
            names = ", ".join(canonicalNameCaps(f) for f in arg)
            parts.append(f"{name}={quoteString(names)}")
        elif isinstance(arg, int):
            parts.append(f"{name}={_generateInt(arg)[0]}")
        else:
            parts.append(f"{name}={quoteIfNeeded(arg)}")
    return [", ".join(parts)]


def _expectItem(sc):
    name, value = parseKeyValue(sc)
    parseParams(sc, valueRequired=False)
    return name, value


def _parseExpect(raw):
    return dict(parseList(raw, _expectItem))


def _generateDirectives(value):
    return [
        ", ".join(
            name if arg is None else f"{name}={quoteIfNeeded(str(arg))}"
            for name, arg in value.items()
        )
    ]


def _preferItem(sc):
    name, value = parseKeyValue(sc)
    return name, value, dict(parseParams(sc, valueRequired=False))


def _parsePrefer(raw):
    return parseList(raw, _preferItem)


def _generatePrefer(value):
    parts = []
    for name, arg, params in value:
        head = name if arg is None else f"{name}={quoteIfNeeded(arg)}"
        parts.append(head + generateParams(params or {}, separator="; "))
    return [", ".join(parts)]


# ---------------------------------------------------------------------------
# Dates and validators (RFC 9110 8.8, 13)


def _parseDate(raw):
    return parseDateTime(single(raw))


def _generateDate(value):
    return [generateDateTime(value)]


def _parseIfModifiedSince(raw):
    # Old MSIE appends "; length=NNN".
    return parseDateTime(single(raw).split(";", 1)[0])


def _parseExpires(raw):
    """
    RFC 9111 5.3: an invalid date, notably C{0}, means "already expired";
    that is returned as C{0} (the epoch) rather than as an error.  Of
    several lines the first is used.
    """
    try:
        return parseDateTime(checkText(raw[0]))
    except ValueError:
        return 0


def _parseRetryAfter(raw):
    """
    RFC 9110 10.2.3: delay-seconds or an HTTP-date, both returned as the
    delay in seconds from now (a date in the past gives 0).
    """
    text = single(raw)
    if _DIGITS.fullmatch(text):
        return _deltaSeconds(text)
    return max(0, parseDateTime(text) - int(time.time()))


def _etagOrStar(sc):
    if sc.accept("*"):
        return "*"
    return parseETag(sc)


def _parseETagList(raw):
    tags = parseList(raw, _etagOrStar)
    if not tags:
        raise ValueError("empty entity-tag list")
    if len(tags) > 1 and any(isinstance(t, str) for t in tags):
        raise ValueError("'*' mixed with entity tags")
    return tags


def _generateETagList(value):
    return [", ".join(t if isinstance(t, str) else t.generate() for t in value)]


def _parseETagHeader(raw):
    return ETag.fromString(single(raw))


def _generateETag(value):
    return [value.generate()]


def _parseIfRange(raw):
    text = single(raw)
    if text.startswith(('"', "W/")):
        return ETag.fromString(text)
    return parseDateTime(text)


def _generateIfRange(value):
    if isinstance(value, ETag):
        return [value.generate()]
    return [generateDateTime(value)]


# ---------------------------------------------------------------------------
# Ranges (RFC 9110 14)

_RANGE_SPEC = re.compile(r"([0-9]*)[ \t]*-[ \t]*([0-9]*)")
_CONTENT_RANGE = re.compile(
    r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) +(?:([0-9]+)-([0-9]+)|\*)/([0-9]+|\*)\Z"
)


def _rangeItem(sc):
    m = sc.match(_RANGE_SPEC)
    if m is None:
        raise ValueError(f"bad range at offset {sc.pos}")
    first, last = m.groups()
    if not first:
        if not last:
            raise ValueError("range with neither start nor end")
        return None, _integer(last)
    start = _integer(first)
    if not last:
        return start, None
    end = _integer(last)
    if start > end:
        raise ValueError(f"range {start}-{end} ends before it starts")
    return start, end


def _parseRange(raw):
    """
    C{bytes=...} to C{('bytes', [(start|None, end|None), ...])}.  Only the
    C{bytes} unit is understood: any other raises C{ValueError}, and RFC
    9110 14.2 then asks the server to ignore the Range header, which is
    what the range filter does with a L{HeaderParseError}.
    """
    unit, eq, spec = single(raw).partition("=")
    unit = unit.strip(" \t").lower()
    if not eq or not isToken(unit):
        raise ValueError("expected unit=ranges")
    if unit != "bytes":
        raise ValueError(f"unsupported range unit {unit!r}")
    ranges = parseList([spec], _rangeItem)
    if not ranges:
        raise ValueError("empty range set")
    return unit, ranges


def _generateRange(value):
    unit, ranges = value
    specs = []
    for start, end in ranges:
        if start is None and end is None:
            raise ValueError("range with neither start nor end")
        specs.append(
            ("" if start is None else str(int(start)))
            + "-"
            + ("" if end is None else str(int(end)))
        )
    return [f"{unit}=" + ",".join(specs)]


def _parseContentRange(raw):
    """
    C{bytes 0-499/1234} to C{('bytes', 0, 499, 1234)}, C{bytes 0-499/*}
    to C{('bytes', 0, 499, None)}, C{bytes */1234} to
    C{('bytes', None, None, 1234)}.  Other units are refused.
    """
    m = _CONTENT_RANGE.match(single(raw))
    if m is None:
        raise ValueError("malformed Content-Range")
    unit, first, last, complete = m.groups()
    if unit.lower() != "bytes":
        raise ValueError(f"unsupported range unit {unit!r}")
    total = None if complete == "*" else _integer(complete)
    if first is None:
        if total is None:
            raise ValueError("'*/*' is not a valid Content-Range")
        return "bytes", None, None, total
    start, end = _integer(first), _integer(last)
    if start > end or (total is not None and end >= total):
        raise ValueError("Content-Range positions are inconsistent")
    return "bytes", start, end, total


def _generateContentRange(value):
    unit, start, end, total = value
    size = "*" if total is None else str(int(total))
    if start is None:
        return [f"{unit} */{size}"]
    return [f"{unit} {int(start)}-{int(end)}/{size}"]


# ---------------------------------------------------------------------------
# Via (RFC 9110 7.6.3) and Warning (RFC 7234 5.5, obsoleted by RFC 9111)

_RWS = re.compile(r"[ \t]+")
_VIA_BY = re.compile(r"[^ \t,()]+")
_CTEXT = re.compile(r"[^()\\]+")


def parseComment(sc) -> str:
    """
    Consume an RFC 9110 5.6.5 comment (nesting allowed) and return its
    text with the outer parentheses and the quoting backslashes removed.
    Iterative, so deep nesting costs no stack.
    """
    sc.expect("(")
    text, parts, depth = sc.text, [], 1
    while True:
        m = sc.match(_CTEXT)
        if m is not None:
            parts.append(m.group())
            continue
        c = sc.peek()
        if c == "":
            raise ValueError("unterminated comment")
        if c == "\\":
            if sc.pos + 1 >= sc.end:
                raise ValueError("unterminated comment")
            parts.append(text[sc.pos + 1])
            sc.pos += 2
            continue
        sc.pos += 1
        depth += 1 if c == "(" else -1
        if depth == 0:
            return "".join(parts)
        parts.append(c)


def _viaItem(sc):
    protocol = _upgradeItem(sc)
    if sc.match(_RWS) is None:
        raise ValueError(f"expected whitespace at offset {sc.pos}")
    by = sc.match(_VIA_BY)
    if by is None:
        raise ValueError(f"expected received-by at offset {sc.pos}")
    save = sc.pos
    sc.ows()
    if sc.peek() == "(":
        return protocol, by.group(), parseComment(sc)
    sc.pos = save
    return protocol, by.group(), None


def _generateVia(value):
    parts = []
    for protocol, by, comment in value:
        part = f"{protocol} {by}"
        if comment is not None:
            escaped = re.sub(r"([()\\])", r"\\\1", checkText(comment))
            part += f" ({escaped})"
        parts.append(part)
    return [", ".join(parts)]


_WARN_HEAD = re.compile(r"([0-9]{3})[ \t]+([^ \t,\"]+)[ \t]+")


def _warningItem(sc):
    m = sc.match(_WARN_HEAD)
    if m is None:
        raise ValueError(f"malformed warning at offset {sc.pos}")
    text = sc.quoted()
    date, save = None, sc.pos
    sc.ows()
    if sc.peek() == '"':
        date = parseDateTime(sc.quoted())
    else:
        sc.pos = save
    return int(m.group(1)), m.group(2), text, date


def _generateWarning(value):
    parts = []
    for code, agent, text, date in value:
        part = f"{int(code):03d} {agent} {quoteString(text)}"
        if date is not None:
            part += f' "{generateDateTime(date)}"'
        parts.append(part)
    return [", ".join(parts)]


# ---------------------------------------------------------------------------
# Content-Type


def _parseContentType(raw):
    return MimeType.fromString(single(raw))


def _generateContentType(value):
    return [str(value)]


# ---------------------------------------------------------------------------
# The tables

_lowerTokens = _tokenList(lower=True)
_caseTokens = _tokenList(lower=False)

# name: (parser, generator)
_TABLE = {
    "Accept": (_parseAccept, _generateAccept),
    "Accept-Charset": (_parseQualityDict, _generateQualityDict),
    "Accept-Encoding": (_parseQualityDict, _generateQualityDict),
    "Accept-Language": (_parseQualityDict, _generateQualityDict),
    "Accept-Ranges": (_lowerTokens, _generateList),
    "Age": (_parseDelta, _generateInt),
    "Allow": (_caseTokens, _generateList),
    "Cache-Control": (_parseCacheControl, _generateCacheControl),
    "Connection": (_lowerTokens, _generateList),
    "Content-Encoding": (_lowerTokens, _generateList),
    "Content-Language": (_lowerTokens, _generateList),
    "Content-Length": (_parseContentLength, _generateInt),
    "Content-Location": (_parseStr, _generateURI),
    "Content-MD5": (_parseMD5, _generateMD5),
    "Content-Range": (_parseContentRange, _generateContentRange),
    "Content-Type": (_parseContentType, _generateContentType),
    "Date": (_parseDate, _generateDate),
    "ETag": (_parseETagHeader, _generateETag),
    "Expect": (_parseExpect, _generateDirectives),
    "Expires": (_parseExpires, _generateDate),
    "From": (_parseStr, _generateStr),
    "Host": (_parseHost, _generateHost),
    "If-Match": (_parseETagList, _generateETagList),
    "If-Modified-Since": (_parseIfModifiedSince, _generateDate),
    "If-None-Match": (_parseETagList, _generateETagList),
    "If-Range": (_parseIfRange, _generateIfRange),
    "If-Unmodified-Since": (_parseDate, _generateDate),
    "Last-Modified": (_parseDate, _generateDate),
    "Location": (_parseStr, _generateURI),
    "Max-Forwards": (_parseInt, _generateInt),
    "Pragma": (_parseDirectives, _generateDirectives),
    "Prefer": (_parsePrefer, _generatePrefer),
    "Range": (_parseRange, _generateRange),
    "Referer": (_parseStr, _generateURI),
    "Retry-After": (_parseRetryAfter, _generateInt),
    "Server": (_parseStr, _generateStr),
    "TE": (_parseQualityDict, _generateQualityDict),
    "Trailer": (_lowerTokens, _generateFieldNames),
    "Transfer-Encoding": (_lowerTokens, _generateList),
    "Upgrade": (_parseUpgrade, _generateList),
    "User-Agent": (_parseStr, _generateStr),
    "Vary": (_lowerTokens, _generateFieldNames),
    "Via": (lambda raw: parseList(raw, _viaItem), _generateVia),
    "Warning": (lambda raw: parseList(raw, _warningItem), _generateWarning),
}

PARSERS = {name: pair[0] for name, pair in _TABLE.items()}
GENERATORS = {name: pair[1] for name, pair in _TABLE.items()}
