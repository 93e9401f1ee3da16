# -*- test-case-name: test_http_headers_values -*-
"""
Value types shared by many headers: HTTP dates (RFC 9110 5.6.7), media
types (L{MimeType}, RFC 9110 8.3.1) and entity tags (L{ETag}, RFC 9110
8.8.3).
"""

import calendar
import datetime
import re
import time

from web2._headers_tokens import (
    Scanner,
    generateParams,
    isToken,
    parseParams,
    uniqueParams,
)

__all__ = ["ETag", "MimeType", "generateDateTime", "parseDateTime"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_MONTH_NUMBERS = {name.lower(): i for i, name in enumerate(_MONTHS, 1)}

# The weekday is checked for shape only: a wrong weekday is a sender bug
# that tells us nothing the rest of the date does not.
_IMF_FIXDATE = re.compile(
    r"(?:[A-Za-z]{3}, *)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)\Z",
    re.I,
)
# RFC 850 (two-digit years); the 4-digit variant is common in cookies.
_RFC850 = re.compile(
    r"(?:[A-Za-z]{3,9}, *)?(\d{1,2})-([A-Za-z]{3})-(\d{2}|\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)\Z",
    re.I,
)
_ASCTIME = re.compile(
    r"(?:[A-Za-z]{3} +)?([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\Z"
)


def _fullYear(twoDigits: int, now) -> int:
    """
    RFC 9110 5.6.7: a two-digit year that would be more than 50 years in
    the future is the most recent past year with the same last two digits.
    """
    current = time.gmtime(time.time() if now is None else now).tm_year
    year = current - current % 100 + twoDigits
    if year > current + 50:
        year -= 100
    elif year + 100 <= current + 50:
        year += 100
    return year


def parseDateTime(text: str, now=None) -> int:
    """
    Parse an HTTP-date in any of the three formats of RFC 9110 5.6.7
    (IMF-fixdate, RFC 850, asctime).

    @param now: the current time for the RFC 850 two-digit-year rule;
        C{None} means C{time.time()}.
    @return: seconds since the epoch (C{int}).
    @raise ValueError: not a date, or an impossible one (a leap second is
        taken as second 59).
    """
    text = text.strip(" \t")
    m = _IMF_FIXDATE.match(text)
    if m is not None:
        day, month, year, hh, mm, ss = m.groups()
        year = int(year)
    else:
        m = _RFC850.match(text)
        if m is not None:
            day, month, year, hh, mm, ss = m.groups()
            year = _fullYear(int(year), now) if len(year) == 2 else int(year)
        else:
            m = _ASCTIME.match(text)
            if m is None:
                raise ValueError(f"not an HTTP date: {text[:40]!r}")
            month, day, hh, mm, ss, year = m.groups()
            year = int(year)
    monthNumber = _MONTH_NUMBERS.get(month.lower())
    hh, mm, ss = int(hh), int(mm), int(ss)
    if monthNumber is None or hh > 23 or mm > 59 or ss > 60:
        raise ValueError(f"impossible date: {text[:40]!r}")
    try:
        datetime.date(year, monthNumber, int(day))
    except ValueError:
        raise ValueError(f"impossible date: {text[:40]!r}") from None
    return calendar.timegm((year, monthNumber, int(day), hh, mm, min(ss, 59)))


# One entry: (second, text).  Replaced as a whole, so it is safe to read
# from any thread.
_lastDate = (None, "")


def generateDateTime(secSinceEpoch) -> str:
    """
    Format a time as an IMF-fixdate (C{Sun, 06 Nov 1994 08:49:37 GMT}),
    independent of the locale.  The result for the most recent second is
    cached, since the Date header of every response asks for it.
    """
    global _lastDate
    second = int(secSinceEpoch)
    cached = _lastDate
    if cached[0] == second:
        return cached[1]
    t = time.gmtime(second)
    text = (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} "
        f"{t.tm_year:04d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )
    _lastDate = (second, text)
    return text


# "type/subtype" of parameterless media types already checked and written.
_bareTypes: dict[tuple[str, str], str] = {}


class MimeType:
    """
    A media type: C{type/subtype} with parameters.

    The type, subtype and parameter names are lower-cased; parameter
    values keep their case (a multipart C{boundary} is case-sensitive).
    Equality and hashing include the parameters, so a L{MimeType} can key
    the C{Accept} dictionary.

    @ivar mediaType: e.g. C{'text'}.
    @ivar mediaSubtype: e.g. C{'html'}.
    @ivar params: a C{dict} of C{str} to C{str}.
    """

    __slots__ = ("mediaType", "mediaSubtype", "params")

    def __init__(self, mediaType: str, mediaSubtype: str, params=None, **kwargs):
        self.mediaType = mediaType.lower()
        self.mediaSubtype = mediaSubtype.lower()
        if not params and not kwargs:
            # The common C{MimeType("text", "html")} of a render method.
            self.params = {}
            return
        merged = {}
        for source in (params or {}), kwargs:
            for name, value in source.items():
                merged[name.lower()] = value
        self.params = merged

    @classmethod
    def fromString(cls, text: str) -> "MimeType":
        """
        Parse C{type/subtype *(; name=value)}.

        @raise ValueError: malformed, or a parameter given twice.
        """
        sc = Scanner(text)
        sc.ows()
        result = parseMediaType(sc)
        sc.finish()
        return result

    def __eq__(self, other):
        if not isinstance(other, MimeType):
            return NotImplemented
        return (
            self.mediaType == other.mediaType
            and self.mediaSubtype == other.mediaSubtype
            and self.params == other.params
        )

    def __hash__(self):
        return hash((self.mediaType, self.mediaSubtype, frozenset(self.params.items())))

    def __str__(self) -> str:
        if not self.params:
            key = (self.mediaType, self.mediaSubtype)
            text = _bareTypes.get(key)
            if text is not None:
                return text
        if not (isToken(self.mediaType) and isToken(self.mediaSubtype)):
            raise ValueError(f"invalid media type {self.mediaType}/{self.mediaSubtype}")
        if not self.params:
            text = f"{self.mediaType}/{self.mediaSubtype}"
            if len(_bareTypes) < 1024:
                _bareTypes[(self.mediaType, self.mediaSubtype)] = text
            return text
        return f"{self.mediaType}/{self.mediaSubtype}" + generateParams(
            self.params, separator="; "
        )

    def __repr__(self) -> str:
        return f"MimeType({self.mediaType!r}, {self.mediaSubtype!r}, {self.params!r})"


def parseMediaType(sc: Scanner) -> MimeType:
    """
    Parse a media type at the cursor of C{sc}.
    """
    mediaType = sc.token()
    sc.expect("/")
    mediaSubtype = sc.token()
    return MimeType(mediaType, mediaSubtype, uniqueParams(parseParams(sc)))


# RFC 9110 8.8.3: entity-tag = [ weak ] opaque-tag; etagc excludes DQUOTE,
# SP and controls but allows obs-text.  Parsing also tolerates SP, which
# RFC 4918's own If header examples use (["I am an ETag"]); generate()
# stays strict.
_ETAG = re.compile(r'(W/)?"([\x20\x21\x23-\x7e\x80-\xff]*)"')
_ETAG_TAG = re.compile(r"[\x21\x23-\x7e\x80-\xff]*\Z")


class ETag:
    """
    An entity tag.

    @ivar tag: the opaque tag, without quotes.
    @ivar weak: whether it is a weak validator (C{W/"..."}).
    """

    __slots__ = ("tag", "weak")

    def __init__(self, tag: str, weak: bool = False):
        self.tag = tag
        self.weak = bool(weak)

    def match(self, other: "ETag", strongCompare: bool) -> bool:
        """
        Compare two entity tags (RFC 9110 8.8.3.2): the strong comparison
        fails if either is weak; the weak one compares the tags only.
        """
        if strongCompare and (self.weak or other.weak):
            return False
        return self.tag == other.tag

    @classmethod
    def fromString(cls, text: str) -> "ETag":
        sc = Scanner(text)
        sc.ows()
        result = parseETag(sc)
        sc.finish()
        return result

    def generate(self) -> str:
        """
        @raise ValueError: the tag holds a character an entity tag cannot.
        """
        if _ETAG_TAG.match(self.tag) is None:
            raise ValueError(f"invalid entity tag {self.tag!r}")
        return ('W/"' if self.weak else '"') + self.tag + '"'

    __str__ = generate

    def __eq__(self, other):
        if not isinstance(other, ETag):
            return NotImplemented
        return self.tag == other.tag and self.weak == other.weak

    def __hash__(self):
        return hash((self.tag, self.weak))

    def __repr__(self) -> str:
        return f"ETag({self.tag!r}, weak={self.weak!r})"


def parseETag(sc: Scanner) -> ETag:
    """
    Parse an entity tag at the cursor of C{sc}.
    """
    m = sc.match(_ETAG)
    if m is None:
        raise ValueError(f"expected an entity tag at offset {sc.pos}")
    return ETag(m.group(2), weak=m.group(1) is not None)
