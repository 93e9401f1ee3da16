# -*- test-case-name: test_http_headers_ext -*-
"""
Header fields defined outside the core HTTP RFCs: cookies (RFC 6265),
Content-Disposition (RFC 6266), Forwarded (RFC 7239) and X-Forwarded-For,
and Link (RFC 8288).
"""

import re
from dataclasses import dataclass

from web2._headers_tokens import (
    Scanner,
    checkText,
    decodeExtValue,
    encodeExtValue,
    isToken,
    parseList,
    parseParams,
    quoteIfNeeded,
    quoteString,
    single,
    uniqueParams,
)
from web2._headers_values import generateDateTime, parseDateTime

__all__ = ["Cookie", "MimeDisposition"]

# ---------------------------------------------------------------------------
# Cookies (RFC 6265)


@dataclass
class Cookie:
    """
    An HTTP cookie: a name and value, and for C{Set-Cookie} its
    attributes.  Equality compares every field, name and value included.

    @ivar expires: seconds since the epoch, or C{None}.
    @ivar maxAge: seconds (C{int}), or C{None}.
    @ivar sameSite: C{'Strict'}, C{'Lax'}, C{'None'} or C{None} (absent).
    """

    name: str
    value: str
    path: str | None = None
    domain: str | None = None
    expires: int | None = None
    maxAge: int | None = None
    secure: bool = False
    httpOnly: bool = False
    sameSite: str | None = None
    partitioned: bool = False


# RFC 6265 4.1.1 cookie-octet, optionally inside DQUOTEs.
_COOKIE_VALUE = re.compile(r'(?:"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"'
                           r"|[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)\Z")  # fmt: skip
_ATTRIBUTE_VALUE = re.compile(r"[\x20-\x3a\x3c-\x7e]*\Z")  # no ';', no CTL
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_MAX_AGE = re.compile(r"-?[0-9]{1,18}\Z")


def _parseCookie(raw):
    """
    The request C{Cookie} header: C{name=value} pairs separated by C{;}.
    Tolerant as RFC 6265 5.4 clients vary: spaces are stripped and pieces
    without a name (or without C{=}) are skipped.  Values are kept as
    sent, surrounding DQUOTEs included.
    """
    cookies = []
    for line in raw:
        for piece in checkText(line).split(";"):
            name, eq, value = piece.partition("=")
            name = name.strip(" \t")
            if eq and name:
                cookies.append(Cookie(name, value.strip(" \t")))
    return cookies


def _checkCookie(cookie):
    if not isToken(cookie.name):
        raise ValueError(f"invalid cookie name {cookie.name!r}")
    if _COOKIE_VALUE.match(cookie.value) is None:
        raise ValueError(f"invalid cookie value for {cookie.name!r}")


def _generateCookie(value):
    for cookie in value:
        _checkCookie(cookie)
    return ["; ".join(f"{c.name}={c.value}" for c in value)]


def _parseSetCookieLine(line):
    """
    One C{Set-Cookie} line as a user agent reads it (RFC 6265 5.2), or
    C{None} when the line must be ignored.  Unknown attributes and
    attributes with unusable values are ignored.
    """
    first, *attributes = checkText(line).split(";")
    name, eq, value = first.partition("=")
    name = name.strip(" \t")
    if not eq or not name:
        return None
    cookie = Cookie(name, value.strip(" \t"))
    for attribute in attributes:
        key, _, arg = attribute.partition("=")
        key, arg = key.strip(" \t").lower(), arg.strip(" \t")
        if key == "expires":
            try:
                cookie.expires = parseDateTime(arg)
            except ValueError:
                pass
        elif key == "max-age":
            if _MAX_AGE.match(arg):
                cookie.maxAge = int(arg)
        elif key == "domain":
            if arg:
                cookie.domain = arg.lstrip(".").lower()
        elif key == "path":
            cookie.path = arg if arg.startswith("/") else None
        elif key == "secure":
            cookie.secure = True
        elif key == "httponly":
            cookie.httpOnly = True
        elif key == "samesite":
            cookie.sameSite = _SAME_SITE.get(arg.lower(), cookie.sameSite)
        elif key == "partitioned":
            cookie.partitioned = True
    return cookie


def _parseSetCookie(raw):
    return [c for c in map(_parseSetCookieLine, raw) if c is not None]


def _attributeValue(name, value):
    if _ATTRIBUTE_VALUE.match(value) is None:
        raise ValueError(f"invalid cookie {name} {value!r}")
    return value


def _generateSetCookieLine(cookie):
    _checkCookie(cookie)
    parts = [f"{cookie.name}={cookie.value}"]
    if cookie.expires is not None:
        parts.append("Expires=" + generateDateTime(cookie.expires))
    if cookie.maxAge is not None:
        parts.append(f"Max-Age={int(cookie.maxAge)}")
    if cookie.domain is not None:
        parts.append("Domain=" + _attributeValue("domain", cookie.domain))
    if cookie.path is not None:
        parts.append("Path=" + _attributeValue("path", cookie.path))
    if cookie.secure:
        parts.append("Secure")
    if cookie.httpOnly:
        parts.append("HttpOnly")
    if cookie.sameSite is not None:
        sameSite = _SAME_SITE.get(str(cookie.sameSite).lower())
        if sameSite is None:
            raise ValueError(f"invalid SameSite {cookie.sameSite!r}")
        parts.append("SameSite=" + sameSite)
    if cookie.partitioned:
        parts.append("Partitioned")
    return "; ".join(parts)


def _generateSetCookie(value):
    # One line per cookie: Set-Cookie cannot be comma-joined (RFC 9110 5.3).
    return [_generateSetCookieLine(c) for c in value]


# ---------------------------------------------------------------------------
# Content-Disposition (RFC 6266) and ext-value parameters (RFC 8187)


def _collectParams(pairs, firstWins=False):
    """
    Build the parameter C{dict}, decoding RFC 8187 C{name*} ext-values
    into C{name}, where they take precedence over the plain parameter.
    """
    plain, extended = [], []
    for name, value in pairs:
        if name.endswith("*") and value is not None:
            extended.append((name[:-1], decodeExtValue(value)[0]))
        else:
            plain.append((name, value))
    if firstWins:
        params = {}
        for name, value in plain:
            params.setdefault(name, value)
        seen = set()
        for name, value in extended:
            if name not in seen:
                seen.add(name)
                params[name] = value
        return params
    params = uniqueParams(plain)
    params.update(uniqueParams(extended))
    return params


def _generateExtParams(params, quoteAlways):
    """
    Generate parameters; a value that is not printable ASCII is sent as an
    RFC 8187 C{name*} ext-value, after an ASCII fallback for recipients
    that do not understand it.
    """
    out = []
    for name, value in params.items():
        if value is None:
            out.append(f"; {name}")
        elif value.isascii() and value.isprintable():
            out.append(
                f"; {name}="
                + (quoteString(value) if quoteAlways else quoteIfNeeded(value))
            )
        else:
            fallback = re.sub(r"[^\x20-\x7e]", "_", value)
            out.append(f"; {name}={quoteString(fallback)}")
            out.append(f"; {name}*={encodeExtValue(value)}")
    return "".join(out)


class MimeDisposition:
    """
    A Content-Disposition value (RFC 6266).

    @ivar dispositionType: lower-cased, e.g. C{'attachment'}.
    @ivar params: lower-cased names to values; C{filename*} (RFC 8187,
        decoded) is stored as C{filename} and wins over a plain
        C{filename}.
    """

    __slots__ = ("dispositionType", "params")

    def __init__(self, dispositionType: str, params=None, **kwargs):
        self.dispositionType = dispositionType.lower()
        merged = {}
        for source in (params or {}), kwargs:
            for name, value in source.items():
                merged[name.lower()] = value
        self.params = merged

    @property
    def filename(self):
        """
        The suggested file name, or C{None}.
        """
        return self.params.get("filename")

    @classmethod
    def fromString(cls, text: str) -> "MimeDisposition":
        sc = Scanner(text)
        sc.ows()
        dispositionType = sc.token()
        params = _collectParams(parseParams(sc))
        sc.finish()
        return cls(dispositionType, params)

    def __str__(self) -> str:
        return self.dispositionType + _generateExtParams(self.params, True)

    def __eq__(self, other):
        if not isinstance(other, MimeDisposition):
            return NotImplemented
        return (self.dispositionType, self.params) == (
            other.dispositionType,
            other.params,
        )

    def __repr__(self) -> str:
        return f"MimeDisposition({self.dispositionType!r}, {self.params!r})"


# ---------------------------------------------------------------------------
# Forwarded (RFC 7239) and X-Forwarded-For


def _forwardedElement(sc):
    element = {}
    while True:
        sc.ows()
        if sc.peek() not in ("", ",", ";"):
            name = sc.token().lower()
            sc.expect("=")
            value = sc.value()
            if name in element:
                raise ValueError(f"forwarded-pair {name!r} given twice")
            element[name] = value
        sc.ows()
        if not sc.accept(";"):
            return element


def _parseForwarded(raw):
    return [e for e in parseList(raw, _forwardedElement) if e]


def _generateForwarded(value):
    return [
        ", ".join(
            ";".join(f"{name}={quoteIfNeeded(str(v))}" for name, v in element.items())
            for element in value
        )
    ]


def _parseXForwardedFor(raw):
    return [
        a.strip(" \t")
        for line in raw
        for a in checkText(line).split(",")
        if a.strip(" \t")
    ]


def _generateXForwardedFor(value):
    for address in value:
        if not address or "," in address:
            raise ValueError(f"invalid X-Forwarded-For address {address!r}")
    return [", ".join(value)]


# ---------------------------------------------------------------------------
# Link (RFC 8288)

_URI_REFERENCE = re.compile(r"<([^<>]*)>")


def _linkItem(sc):
    m = sc.match(_URI_REFERENCE)
    if m is None:
        raise ValueError(f"expected <URI-Reference> at offset {sc.pos}")
    # RFC 8288 3: occurrences of a parameter after the first are ignored.
    return m.group(1), _collectParams(parseParams(sc, valueRequired=False), True)


def _parseLink(raw):
    return parseList(raw, _linkItem)


def _generateLink(value):
    parts = []
    for uri, params in value:
        if _URI_REFERENCE.fullmatch(f"<{uri}>") is None or not uri.isascii():
            raise ValueError(f"invalid link target {uri!r}")
        parts.append(f"<{uri}>" + _generateExtParams(params, True))
    return [", ".join(parts)]


_TABLE = {
    "Content-Disposition": (
        lambda raw: MimeDisposition.fromString(single(raw)),
        lambda value: [str(value)],
    ),
    "Cookie": (_parseCookie, _generateCookie),
    "Set-Cookie": (_parseSetCookie, _generateSetCookie),
    "Forwarded": (_parseForwarded, _generateForwarded),
    "X-Forwarded-For": (_parseXForwardedFor, _generateXForwardedFor),
    "Link": (_parseLink, _generateLink),
}

PARSERS = {name: pair[0] for name, pair in _TABLE.items()}
GENERATORS = {name: pair[1] for name, pair in _TABLE.items()}
