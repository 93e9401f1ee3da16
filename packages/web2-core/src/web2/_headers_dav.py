# -*- test-case-name: test_http_headers_dav -*-
"""
The WebDAV request and response headers of RFC 4918 section 10: DAV,
Depth, Destination, If, Lock-Token, Overwrite and Timeout.  Each has a
generator that round-trips its parser (twisted.web2's were broken).
"""

import re
from typing import NamedTuple

from web2._headers_tokens import Scanner, checkText, parseList, single
from web2._headers_values import ETag, parseETag

__all__ = ["IfCondition"]

_CODED_URL = re.compile(r"<([^<>\s]+)>")
_DEPTHS = ("0", "1", "infinity")
_TIMEOUT_MAX = 2**32 - 1  # RFC 4918 10.7: DAVTimeOutVal fits 32 bits
_SECOND = re.compile(r"second-([0-9]+)\Z", re.I)


def _codedURL(sc):
    m = sc.match(_CODED_URL)
    if m is None:
        raise ValueError(f"expected <Coded-URL> at offset {sc.pos}")
    return m.group(1)


def _davItem(sc):
    if sc.peek() == "<":
        return "<" + _codedURL(sc) + ">"
    return sc.token()


def _parseDAV(raw):
    """
    C{DAV: 1, 2, access-control, <http://example.com/ext>} to a C{list} of
    C{str} (Coded-URLs keep their angle brackets).
    """
    return parseList(raw, _davItem)


def _parseDepth(raw):
    depth = single(raw).lower()
    if depth not in _DEPTHS:
        raise ValueError(f"invalid Depth {depth[:20]!r}")
    return depth


def _generateDepth(value):
    depth = str(value).lower()
    if depth not in _DEPTHS:
        raise ValueError(f"invalid Depth {value!r}")
    return [depth]


def _parseOverwrite(raw):
    flag = single(raw).upper()
    if flag not in ("T", "F"):
        raise ValueError(f"invalid Overwrite {flag[:20]!r}")
    return flag == "T"


def _parseLockToken(raw):
    sc = Scanner(single(raw))
    token = _codedURL(sc)
    sc.finish()
    return token


def _generateCodedURL(value):
    if _CODED_URL.fullmatch(f"<{value}>") is None:
        raise ValueError(f"invalid Coded-URL {value!r}")
    return [f"<{value}>"]


def _timeoutItem(sc):
    word = sc.token()
    if word.lower() == "infinite":
        return "Infinite"
    m = _SECOND.match(word)
    if m is None:
        raise ValueError(f"invalid TimeType {word[:20]!r}")
    digits = m.group(1)
    return _TIMEOUT_MAX if len(digits) > 10 else min(int(digits), _TIMEOUT_MAX)


def _parseTimeout(raw):
    """
    C{Timeout: Infinite, Second-4100000000} to C{['Infinite', 4100000000]}
    (seconds capped at 2**32-1).
    """
    items = parseList(raw, _timeoutItem)
    if not items:
        raise ValueError("empty Timeout")
    return items


def _generateTimeout(value):
    parts = []
    for item in value:
        if item == "Infinite":
            parts.append("Infinite")
        elif isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            parts.append(f"Second-{item}")
        else:
            raise ValueError(f"invalid TimeType {item!r}")
    return [", ".join(parts)]


# ---------------------------------------------------------------------------
# The If header (RFC 4918 10.4)


class IfCondition(NamedTuple):
    """
    One Condition of an If header list.

    @ivar negated: whether it was preceded by C{Not}.
    @ivar kind: C{'token'} (a state token) or C{'etag'}.
    @ivar value: the state token URI (C{str}) or an L{ETag}.
    """

    negated: bool
    kind: str
    value: object


_NOT = re.compile(r"not[ \t]+", re.I)


def _condition(sc):
    negated = sc.match(_NOT) is not None
    if sc.accept("["):
        sc.ows()
        etag = parseETag(sc)
        sc.ows()
        sc.expect("]")
        return IfCondition(negated, "etag", etag)
    return IfCondition(negated, "token", _codedURL(sc))


def _conditionList(sc):
    sc.expect("(")
    conditions = []
    while True:
        sc.ows()
        if sc.accept(")"):
            if not conditions:
                raise ValueError("empty condition list")
            return conditions
        conditions.append(_condition(sc))


def _parseIf(raw):
    """
    Parse C{If = 1*No-tag-list / 1*Tagged-list} into a C{list} of
    C{(resourceTag, lists)}: C{resourceTag} is the tagged URI or C{None}
    for the no-tag form (then the only entry), C{lists} a C{list} of
    condition lists (alternatives, OR-ed), each a C{list} of
    L{IfCondition} (AND-ed).
    """
    sc = Scanner(" ".join(raw))
    result, tagged = [], None
    while True:
        sc.ows()
        if sc.atEnd():
            break
        if sc.peek() == "<":
            if tagged is False:
                raise ValueError("tagged and untagged lists mixed")
            tagged = True
            if result and not result[-1][1]:
                raise ValueError("resource tag without a list")
            result.append((_codedURL(sc), []))
            continue
        if tagged is None:
            tagged = False
            result.append((None, []))
        if not result:
            raise ValueError("list before any resource tag")
        result[-1][1].append(_conditionList(sc))
    if not result or not result[-1][1]:
        raise ValueError("empty If header")
    return result


def _lenientETag(etag):
    """
    Generate an entity tag for the If header, allowing the SP that RFC
    4918's examples put in tags (the parser accepts them too).
    """
    if not isinstance(etag, ETag):
        etag = ETag(etag)
    if '"' in etag.tag:
        raise ValueError(f"invalid entity tag {etag.tag!r}")
    checkText(etag.tag)
    return ('W/"' if etag.weak else '"') + etag.tag + '"'


def _generateIf(value):
    parts = []
    for tag, lists in value:
        if tag is not None:
            parts.append(_generateCodedURL(tag)[0])
        for conditions in lists:
            items = []
            for negated, kind, item in conditions:
                if kind == "etag":
                    text = f"[{_lenientETag(item)}]"
                else:
                    text = _generateCodedURL(item)[0]
                items.append(("Not " if negated else "") + text)
            parts.append("(" + " ".join(items) + ")")
    return [" ".join(parts)]


_TABLE = {
    "DAV": (_parseDAV, lambda value: [", ".join(value)]),
    "Depth": (_parseDepth, _generateDepth),
    "Destination": (
        lambda raw: single(raw),
        lambda value: [checkText(value)],
    ),
    "If": (_parseIf, _generateIf),
    "Lock-Token": (_parseLockToken, _generateCodedURL),
    "Overwrite": (_parseOverwrite, lambda value: ["T" if value else "F"]),
    "Timeout": (_parseTimeout, _generateTimeout),
}

PARSERS = {name: pair[0] for name, pair in _TABLE.items()}
GENERATORS = {name: pair[1] for name, pair in _TABLE.items()}
