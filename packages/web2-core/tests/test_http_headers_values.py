"""
Tests for the shared header value types: HTTP dates, MimeType, ETag.
"""

import calendar

import pytest

from web2 import _headers_values
from web2.http_headers import ETag, MimeType, generateDateTime, parseDateTime

# RFC 9110 5.6.7's example instant: Sun, 06 Nov 1994 08:49:37 GMT.
EXAMPLE = 784111777


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # asctime
        "06 Nov 1994 08:49:37 GMT",  # weekday omitted
        "sun, 06 nov 1994 08:49:37 gmt",  # case
        "Sunday, 06-Nov-1994 08:49:37 GMT",  # four-digit RFC 850 (cookies)
        "Sun, 6 Nov 1994 08:49:37 UTC",
    ],
)
def test_rfcDateFormats(text):
    """
    The three RFC 9110 formats (and mild variants) give the same instant.
    """
    assert parseDateTime(text) == EXAMPLE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT junk",
        "Sun, 06 Nov 1994 08:49:37 +0100",
        "1994-11-06T08:49:37Z",
    ],
)
def test_badDates(text):
    """
    Non-dates and impossible dates raise ValueError.
    """
    with pytest.raises(ValueError):
        parseDateTime(text)


def test_leapSecondTolerated():
    """
    Second 60 is read as 59 rather than refused.
    """
    assert parseDateTime("Sat, 31 Dec 2016 23:59:60 GMT") == calendar.timegm(
        (2016, 12, 31, 23, 59, 59)
    )


@pytest.mark.parametrize(
    "nowYear, twoDigits, expected",
    [
        (2026, 94, 1994),
        (2026, 76, 2076),  # exactly 50 years ahead: still the future
        (2026, 77, 1977),  # more than 50 years ahead: the past
        (2026, 26, 2026),
        (2080, 10, 2110),  # 30 years ahead, next century
        (2080, 30, 2130),  # exactly 50 years ahead
        (2080, 31, 2031),  # 51 years ahead: the past
    ],
)
def test_rfc850FiftyYearRule(nowYear, twoDigits, expected):
    """
    RFC 9110 5.6.7: a two-digit year more than 50 years in the future is
    the most recent past year with those digits.
    """
    now = calendar.timegm((nowYear, 6, 1, 0, 0, 0))
    text = f"Monday, 01-Jan-{twoDigits:02d} 00:00:00 GMT"
    assert parseDateTime(text, now=now) == calendar.timegm((expected, 1, 1, 0, 0, 0))


def test_generateDateTime():
    """
    generateDateTime writes an IMF-fixdate in English whatever the locale.
    """
    assert generateDateTime(EXAMPLE) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert generateDateTime(EXAMPLE + 0.9) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert generateDateTime(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert parseDateTime(generateDateTime(1700000000)) == 1700000000


def test_generateDateTimeCache():
    """
    The one-entry cache is used for the same second and refreshed for
    another.
    """
    generateDateTime(1000)
    assert _headers_values._lastDate[0] == 1000
    first = generateDateTime(1000)
    assert generateDateTime(1000) is first
    assert generateDateTime(1001) == "Thu, 01 Jan 1970 00:16:41 GMT"
    assert _headers_values._lastDate[0] == 1001


def test_mimeTypeParseAndEquality():
    """
    RFC 9110 8.3.1: these spellings are equivalent once type, subtype and
    parameter names are case-folded; values keep their case.
    """
    expected = MimeType("text", "html", {"charset": "utf-8"})
    for text in (
        "text/html;charset=utf-8",
        'Text/HTML;Charset="utf-8"',
        'text/html; charset="utf-8"',
    ):
        assert MimeType.fromString(text) == expected
    assert MimeType.fromString("text/html;charset=UTF-8") != expected
    assert MimeType.fromString("text/html") != expected
    b = MimeType.fromString('multipart/form-data; boundary="AaB03x"')
    assert b.params == {"boundary": "AaB03x"}
    assert hash(MimeType("A", "B", x="1")) == hash(MimeType("a", "b", {"X": "1"}))


def test_mimeTypeGenerate():
    """
    str() quotes parameter values as needed.
    """
    assert (
        str(MimeType("text", "plain", charset="utf-8")) == "text/plain; charset=utf-8"
    )
    assert str(MimeType("a", "b", {"x": "has space"})) == 'a/b; x="has space"'
    with pytest.raises(ValueError):
        str(MimeType("te xt", "plain"))


@pytest.mark.parametrize(
    "text",
    ["text", "text/", "/html", "text/html;", "text/html; charset", "text/html x",
     "text/html; a=1; a=2", 'text/html; a="unterminated'],
)  # fmt: skip
def test_mimeTypeMalformed(text):
    """
    Malformed media types (including a duplicated parameter, which is
    ambiguous) raise ValueError.
    """
    if text == "text/html;":
        assert MimeType.fromString(text) == MimeType("text", "html")
        return
    with pytest.raises(ValueError):
        MimeType.fromString(text)


def test_etag():
    """
    Entity tags parse, generate, and compare per RFC 9110 8.8.3.2.
    """
    strong, weak = ETag.fromString('"xyzzy"'), ETag.fromString('W/"xyzzy"')
    assert (strong.tag, strong.weak) == ("xyzzy", False)
    assert weak.weak and weak.generate() == 'W/"xyzzy"'
    assert str(strong) == '"xyzzy"'
    # The RFC's comparison table.
    w1, w2, s1, s2 = ETag("1", True), ETag("2", True), ETag("1"), ETag("2")
    assert not w1.match(w1, True) and w1.match(w1, False)
    assert not w1.match(w2, True) and not w1.match(w2, False)
    assert not w1.match(s1, True) and w1.match(s1, False)
    assert s1.match(s1, True) and s1.match(s1, False)
    assert not s1.match(s2, False)
    assert ETag.fromString('""') == ETag("")
    # SP is tolerated on parsing (RFC 4918's examples use it), not generated.
    assert ETag.fromString('"a b"') == ETag("a b")
    with pytest.raises(ValueError):
        ETag("a b").generate()
    for bad in ("xyzzy", 'w/"x"', '"x', '"x"y', '"x\ty"'):
        with pytest.raises(ValueError):
            ETag.fromString(bad)
    with pytest.raises(ValueError):
        ETag('has"quote').generate()
