"""
Tests for the L{web2.http_headers.Headers} container and L{HeaderHandler}:
laziness, the raw/parsed synchronisation, case-insensitivity, response
splitting defences, immutability, copies and the wire form.
"""

import pytest

from web2 import http_headers
from web2.http_headers import (
    DefaultHTTPHandler,
    ETag,
    HeaderHandler,
    HeaderParseError,
    Headers,
    MimeType,
    canonicalNameCaps,
)

WIRE = [
    (b"host", b"example.com"),
    (b"user-agent", b"curl/8.0"),
    (b"accept", b"text/html, */*;q=0.1"),
    (b"cookie", b"a=1"),
    (b"cookie", b"b=2"),
    (b"x-custom", b"caf\xe9"),
]


def test_fromWireIsLazy():
    """
    fromWire only stores the pairs; reading one header decodes that header
    and leaves the others as undecoded bytes.
    """
    pairs = list(WIRE)
    h = Headers.fromWire(pairs)
    assert h._raw is None and h._wire is pairs
    assert h.getRawHeaders("host") == ["example.com"]
    assert h._raw["host"] == ["example.com"]
    assert h._raw["user-agent"].__class__ is http_headers._WireValues
    assert h._raw["user-agent"] == [b"curl/8.0"]
    assert h._parsed == {}


def test_fromWireDecodesLatin1AndGroups():
    """
    Values are latin-1 decoded and repeated names are grouped in order.
    """
    h = Headers.fromWire(list(WIRE))
    assert h.getRawHeaders("X-Custom") == ["caf\xe9"]
    assert h.getRawHeaders("cookie") == ["a=1", "b=2"]
    assert [c.name for c in h.getHeader("cookie")] == ["a", "b"]


def test_absentHeaderLeavesWireFormAlone():
    """
    Asking for a header that is not there does not group the wire pairs.
    """
    h = Headers.fromWire(list(WIRE))
    assert h.getRawHeaders("range") is None
    assert h.getRawHeaders("if-none-match", ["default"]) == ["default"]
    assert h._raw is None
    assert h.getRawHeaders("Cookie") == ["a=1", "b=2"]


def test_fieldLines():
    """
    fieldLines gives every line as (lower-cased name, str value): in
    arrival order straight from the wire, and after changes from the
    grouped form, generated values included.
    """
    expected = [(n.decode(), v.decode("latin-1")) for n, v in WIRE]
    h = Headers.fromWire(list(WIRE))
    assert h.fieldLines() == expected
    assert h._raw is None
    h.setRawHeaders("X-Custom", ["new"])
    h.setHeader("Content-Length", 5)
    h.removeHeader("accept")
    assert h.fieldLines() == [
        ("host", "example.com"),
        ("user-agent", "curl/8.0"),
        ("cookie", "a=1"),
        ("cookie", "b=2"),
        ("x-custom", "new"),
        ("content-length", "5"),
    ]
    assert Headers().fieldLines() == []


def test_untouchedToWirePassesBytesThrough():
    """
    An untouched container writes the same values back, names canonical.
    """
    h = Headers.fromWire(list(WIRE))
    assert h.toWire() == [
        (b"Host", b"example.com"),
        (b"User-Agent", b"curl/8.0"),
        (b"Accept", b"text/html, */*;q=0.1"),
        (b"Cookie", b"a=1"),
        (b"Cookie", b"b=2"),
        (b"X-Custom", b"caf\xe9"),
    ]
    h.getRawHeaders("host")
    assert h.toWire()[-1] == (b"X-Custom", b"caf\xe9")
    assert h._raw["x-custom"].__class__ is http_headers._WireValues


def test_namesAreCaseInsensitive():
    """
    Any spelling of a name reaches the same header.
    """
    h = Headers()
    h.setRawHeaders("Content-Type", ["text/plain"])
    assert h.hasHeader("content-type") and "CONTENT-TYPE" in h
    assert h.getRawHeaders("cOnTeNt-TyPe") == ["text/plain"]
    h.removeHeader("CONTENT-type")
    assert not h.hasHeader("Content-Type")


def test_absentHeaderGivesDefault():
    """
    Absent headers give the default for both forms.
    """
    h = Headers()
    assert h.getHeader("etag") is None
    assert h.getHeader("etag", 7) == 7
    assert h.getRawHeaders("etag") is None
    assert h.getRawHeaders("etag", []) == []
    assert not h.hasHeader("etag")


def test_setHeaderGeneratesLazily():
    """
    A parsed value is stored as is; the raw form is generated on demand.
    """
    h = Headers()
    h.setHeader("content-length", 42)
    assert h._raw["content-length"] is http_headers._RECALC
    assert h.getHeader("content-length") == 42
    assert h.getRawHeaders("content-length") == ["42"]
    assert h._raw["content-length"] == ["42"]


def test_setRawInvalidatesParsed():
    """
    Setting or adding raw lines drops the cached parsed value.
    """
    h = Headers(rawHeaders={"vary": ["accept"]})
    assert h.getHeader("vary") == ["accept"]
    h.setRawHeaders("vary", ["cookie"])
    assert h.getHeader("vary") == ["cookie"]
    h.addRawHeader("vary", "accept-language")
    assert h.getHeader("vary") == ["cookie", "accept-language"]


def test_addRawHeaderAfterSetHeader():
    """
    addRawHeader on a header set in parsed form appends to the generated
    lines.
    """
    h = Headers()
    h.setHeader("vary", ["accept"])
    h.addRawHeader("Vary", "cookie")
    assert h.getRawHeaders("vary") == ["Accept", "cookie"]
    assert h.getHeader("vary") == ["accept", "cookie"]


def test_addRawHeaderCreates():
    """
    addRawHeader creates a missing header.
    """
    h = Headers()
    h.addRawHeader("X-A", "1")
    h.addRawHeader("x-a", "2")
    assert h.getRawHeaders("x-a") == ["1", "2"]


def test_emptyRawListRemoves():
    """
    setRawHeaders with no lines removes the header.
    """
    h = Headers(rawHeaders={"x-a": ["1"]})
    h.setRawHeaders("x-a", [])
    assert not h.hasHeader("x-a")


def test_getRawHeadersReturnsACopy():
    """
    Mutating the returned list does not bypass the checks.
    """
    h = Headers(rawHeaders={"x-a": ["1"]})
    h.getRawHeaders("x-a").append("evil\r\nX: y")
    assert h.getRawHeaders("x-a") == ["1"]


def test_malformedRaisesHeaderParseError():
    """
    A malformed value raises HeaderParseError naming the header and
    carrying the raw lines; it is a ValueError.
    """
    h = Headers(rawHeaders={"content-length": ["12abc"]})
    with pytest.raises(HeaderParseError) as info:
        h.getHeader("content-length")
    e = info.value
    assert isinstance(e, ValueError)
    assert e.name == "Content-Length"
    assert e.rawValues == ["12abc"]
    assert "Content-Length" in str(e) and e.reason


def test_unknownHeaderGivesRawList():
    """
    Without a registered parser, getHeader returns the raw lines.
    """
    h = Headers(rawHeaders={"x-thing": ["a", "b"]})
    assert h.getHeader("x-thing") == ["a", "b"]


def test_setHeaderUnknownAcceptsText():
    """
    setHeader on a header without a generator takes str or a list of str,
    and refuses anything else.
    """
    h = Headers()
    h.setHeader("x-thing", "one")
    h.setHeader("x-other", ["a", "b"])
    assert h.getRawHeaders("x-thing") == ["one"]
    assert h.getRawHeaders("x-other") == ["a", "b"]
    with pytest.raises(ValueError):
        h.setHeader("x-thing", 5)


@pytest.mark.parametrize("bad", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\0b"])
def test_rawInjectionRefused(bad):
    """
    CR, LF and NUL in raw values are refused when set.
    """
    h = Headers()
    with pytest.raises(ValueError):
        h.setRawHeaders("x-a", [bad])
    with pytest.raises(ValueError):
        h.addRawHeader("x-a", bad)
    with pytest.raises(ValueError):
        Headers(rawHeaders={"x-a": [bad]})
    with pytest.raises(ValueError):
        h.setHeader("x-unknown", bad)
    assert not h.hasHeader("x-a")


@pytest.mark.parametrize("name", ["X A", "X:A", "X\r\nA", "", "Ä"])
def test_badNamesRefused(name):
    """
    Header names must be tokens, or a name could smuggle a line too.
    """
    with pytest.raises(ValueError):
        Headers().setRawHeaders(name, ["1"])
    with pytest.raises(ValueError):
        Headers().setHeader(name, "1")


def test_nonLatin1Refused():
    """
    A raw value latin-1 cannot carry is refused at set time.
    """
    with pytest.raises(ValueError):
        Headers().setRawHeaders("x-a", ["\u20ac"])
    with pytest.raises(TypeError):
        Headers().setRawHeaders("x-a", [b"bytes"])
    with pytest.raises(TypeError):
        Headers().setRawHeaders("x-a", "not a list")


def test_generatedInjectionRefused():
    """
    A parsed value whose generated form would contain CR/LF is refused when
    generated, and a Location is percent-encoded instead.
    """
    h = Headers()
    h.setHeader("server", "web2\r\nSet-Cookie: a=b")
    with pytest.raises(ValueError):
        h.getRawHeaders("server")
    with pytest.raises(ValueError):
        h.toWire()
    h.setHeader("location", "/a\r\nSet-Cookie: a=b")
    assert h.getRawHeaders("location") == ["/a%0D%0ASet-Cookie:%20a=b"]


def test_ungeneratableValueIsValueError():
    """
    A parsed value of the wrong type fails as a ValueError naming the
    header, not as an AttributeError from deep inside.
    """
    h = Headers()
    h.setHeader("etag", "not-an-etag-object")
    with pytest.raises(ValueError, match="ETag"):
        h.getRawHeaders("etag")


def test_setCookieOneLinePerCookie():
    """
    Set-Cookie goes out one line per cookie, never comma-joined.
    """
    h = Headers()
    h.setHeader(
        "set-cookie",
        [http_headers.Cookie("a", "1"), http_headers.Cookie("b", "2", path="/")],
    )
    assert h.toWire() == [(b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2; Path=/")]


def test_multiValuedRawOneLineEach():
    """
    Raw headers with several values keep one wire line per value.
    """
    h = Headers(rawHeaders={"via": ["1.0 a", "1.1 b"]})
    assert h.toWire() == [(b"Via", b"1.0 a"), (b"Via", b"1.1 b")]


def test_canonicalNames():
    """
    Irregular names keep their registered spelling, others are
    Dash-Capitalized.
    """
    h = Headers(
        rawHeaders={
            "etag": ['"x"'],
            "www-authenticate": ["Basic"],
            "content-md5": ["x"],
            "te": ["trailers"],
            "dav": ["1"],
            "x-forwarded-for": ["1.2.3.4"],
            "content-type": ["text/plain"],
        }
    )
    assert [n for n, _ in h.getAllRawHeaders()] == [
        "ETag",
        "WWW-Authenticate",
        "Content-MD5",
        "TE",
        "DAV",
        "X-Forwarded-For",
        "Content-Type",
    ]
    assert canonicalNameCaps("x-foo-bar") == "X-Foo-Bar"
    assert canonicalNameCaps("WWW-AUTHENTICATE") == "WWW-Authenticate"


def test_makeImmutable():
    """
    After makeImmutable every setter raises AttributeError; reading works.
    """
    h = Headers(rawHeaders={"content-length": ["5"]})
    h.makeImmutable()
    for call in (
        lambda: h.setRawHeaders("a", ["b"]),
        lambda: h.addRawHeader("a", "b"),
        lambda: h.setHeader("content-length", 6),
        lambda: h.removeHeader("content-length"),
    ):
        with pytest.raises(AttributeError):
            call()
    assert h.getHeader("content-length") == 5


def test_copyIsIndependent():
    """
    A copy is mutable and changes to it do not reach the original.
    """
    h = Headers.fromWire([(b"x-a", b"1")])
    h.makeImmutable()
    c = h.copy()
    c.addRawHeader("x-a", "2")
    c.setHeader("content-length", 3)
    assert h.getRawHeaders("x-a") == ["1"]
    assert not h.hasHeader("content-length")
    d = c.copy()
    d.addRawHeader("x-a", "3")
    assert c.getRawHeaders("x-a") == ["1", "2"]
    assert d.getRawHeaders("content-length") == ["3"]


def test_equalityByRawForm():
    """
    Containers are equal when their raw forms are, however they were built.
    """
    a = Headers.fromWire([(b"content-length", b"5")])
    b = Headers()
    b.setHeader("Content-Length", 5)
    assert a == b
    b.setRawHeaders("x", ["y"])
    assert a != b
    assert a != {"content-length": ["5"]}


def test_repr():
    """
    The repr shows raw and pending parsed values without generating.
    """
    h = Headers.fromWire([(b"host", b"h")])
    h.setHeader("etag", ETag("x"))
    text = repr(h)
    assert "'host': ['h']" in text and "ETag('x'" in text


def test_constructorForms():
    """
    The constructor takes parsed and raw dictionaries.
    """
    h = Headers(
        headers={"content-type": MimeType("text", "plain")},
        rawHeaders={"X-A": ["1"]},
    )
    assert h.getRawHeaders("content-type") == ["text/plain"]
    assert h.getRawHeaders("x-a") == ["1"]


def test_handlersAreIndependent():
    """
    Registering on one handler does not change another, and a header
    registered with an irregular spelling is written that way.
    """
    mine = DefaultHTTPHandler.copy()
    mine.addParser("X-FOO", lambda raw: int(raw[0]))
    mine.addGenerator("X-FOO", lambda value: [str(value)])
    assert "x-foo" not in DefaultHTTPHandler.parsers
    assert "x-foo" not in HeaderHandler().parsers
    h = Headers(rawHeaders={"x-foo": ["7"]}, handler=mine)
    assert h.getHeader("x-foo") == 7
    h.setHeader("x-foo", 8)
    assert h.toWire() == [(b"X-FOO", b"8")]
    assert Headers(rawHeaders={"x-foo": ["7"]}).getHeader("x-foo") == ["7"]


def test_handlerUpdateAndErrors():
    """
    update() registers both tables; parse and generate of unregistered names
    raise KeyError; parser ValueErrors become HeaderParseError.
    """
    handler = HeaderHandler()
    handler.update({"x-n": lambda raw: int(raw[0])}, {"x-n": lambda v: [str(v)]})
    assert handler.parse("X-N", ["3"]) == 3
    assert handler.generate("x-n", 4) == ["4"]
    with pytest.raises(HeaderParseError):
        handler.parse("x-n", ["q"])
    with pytest.raises(KeyError):
        handler.parse("x-m", ["1"])
    with pytest.raises(KeyError):
        handler.generate("x-m", 1)


def test_parseErrorNotCached():
    """
    A failed parse is retried (and fails again) rather than returning a
    stale or None value.
    """
    h = Headers(rawHeaders={"max-forwards": ["x"]})
    for _ in range(2):
        with pytest.raises(HeaderParseError):
            h.getHeader("max-forwards")
    h.setRawHeaders("max-forwards", ["3"])
    assert h.getHeader("max-forwards") == 3


def test_manyHeadersLinear():
    """
    Many distinct and repeated wire headers are grouped in one pass.
    """
    pairs = [(b"x-h%d" % (i % 5000), b"v") for i in range(100_000)]
    h = Headers.fromWire(pairs)
    assert len(h.getRawHeaders("x-h1")) == 20
    assert len(h.toWire()) == 100_000


def test_hasAnyHeader():
    """
    hasAnyHeader tells whether any of several (lower-cased) names is set.
    """
    h = Headers.fromWire([(b"if-none-match", b'"x"')])
    assert h.hasAnyHeader(("if-match", "if-none-match"))
    assert not h.hasAnyHeader(frozenset(("if-match", "if-range")))
    assert not h.hasAnyHeader(())
