"""
Property tests: structured header values survive generate-then-parse for
any value hypothesis can build (Range, Cache-Control, MimeType, ETag lists).
"""

from hypothesis import given
from hypothesis import strategies as st

from web2.http_headers import ETag, Headers, MimeType

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TCHARS, min_size=1, max_size=12)
lowerTokens = tokens.map(str.lower)
# Printable latin-1 text, HTAB included: anything a quoted-string may carry.
texts = st.text(
    alphabet=st.characters(
        min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"
    )
    | st.just("\t"),
    max_size=20,
).filter(lambda s: not any(0x80 <= ord(c) < 0xA0 for c in s))
etagChars = st.text(
    alphabet=st.characters(
        min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='"'
    ),
    max_size=12,
)


def roundTrip(name, value):
    raw = Headers(headers={name: value}).getRawHeaders(name)
    return Headers(rawHeaders={name: raw}).getHeader(name)


positions = st.integers(min_value=0, max_value=10**15)


@st.composite
def byteRanges(draw):
    start, end = sorted((draw(positions), draw(positions)))
    kind = draw(st.sampled_from(["closed", "open", "suffix"]))
    if kind == "closed":
        return start, end
    if kind == "open":
        return start, None
    return None, end


@given(st.lists(byteRanges(), min_size=1, max_size=10))
def test_rangeRoundTrip(ranges):
    """
    Any byte-range set round-trips.
    """
    assert roundTrip("Range", ("bytes", ranges)) == ("bytes", ranges)


# Extension directives come back as str (or None when bare); only the
# delta-seconds directives are ints.
cacheValues = st.one_of(st.none(), texts)


@given(
    st.dictionaries(lowerTokens, cacheValues, max_size=6),
    st.one_of(st.none(), st.lists(lowerTokens, min_size=1, max_size=4)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=2**31)),
)
def test_cacheControlRoundTrip(extensions, noCache, maxAge):
    """
    Cache-Control directives with ints, field-name lists, bare directives
    and arbitrary quoted text round-trip.
    """
    value = {
        k: v
        for k, v in extensions.items()
        if k not in ("max-age", "s-maxage", "min-fresh", "max-stale",
                     "stale-while-revalidate", "stale-if-error", "no-cache", "private")
    }  # fmt: skip
    if maxAge is not None:
        value["max-age"] = maxAge
    if noCache is not None:
        value["no-cache"] = list(dict.fromkeys(noCache))
    assert roundTrip("Cache-Control", value) == value


@given(
    tokens,
    tokens,
    st.dictionaries(lowerTokens.filter(lambda t: t != "q"), texts, max_size=4),
)
def test_mimeTypeRoundTrip(mediaType, mediaSubtype, params):
    """
    Any media type with any parameter values round-trips through
    Content-Type, and through Accept with a quality.
    """
    mime = MimeType(mediaType, mediaSubtype, params)
    assert MimeType.fromString(str(mime)) == mime
    assert roundTrip("Content-Type", mime) == mime
    assert roundTrip("Accept", {mime: 0.5}) == {mime: 0.5}


@given(st.lists(st.builds(ETag, etagChars, st.booleans()), min_size=1, max_size=8))
def test_etagListRoundTrip(etags):
    """
    Lists of entity tags round-trip through If-None-Match and If-Match.
    """
    assert roundTrip("If-None-Match", etags) == etags
    assert roundTrip("If-Match", etags) == etags


@given(st.text(max_size=200))
def test_parsersNeverCrash(text):
    """
    Arbitrary latin-1 text either parses or raises HeaderParseError
    (ValueError) for every registered header, never anything else.
    """
    from web2.http_headers import DefaultHTTPHandler, HeaderParseError

    text = text.encode("latin-1", "replace").decode("latin-1")
    for name in DefaultHTTPHandler.parsers:
        try:
            DefaultHTTPHandler.parse(name, [text])
        except HeaderParseError:
            pass
