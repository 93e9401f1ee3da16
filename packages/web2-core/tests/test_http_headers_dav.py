"""
Tests for the WebDAV headers of RFC 4918 section 10, with the RFC's
examples; each also checks that setHeader round-trips (twisted.web2's DAV
generators were broken).
"""

import pytest

from web2.http_headers import ETag, HeaderParseError, Headers, IfCondition


def parse(name, *lines):
    return Headers(rawHeaders={name: list(lines)}).getHeader(name)


def generate(name, value):
    return Headers(headers={name: value}).getRawHeaders(name)


LOCK1 = "urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2"
LOCK2 = "urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092"

EXAMPLES = [
    ("DAV", ["1, 2, access-control, <http://example.com/ext>", "3"],
     ["1", "2", "access-control", "<http://example.com/ext>", "3"]),
    ("Depth", ["0"], "0"),
    ("Depth", ["1"], "1"),
    ("Depth", ["Infinity"], "infinity"),
    ("Destination", ["http://www.example.com/users/f/fielding/index.html"],
     "http://www.example.com/users/f/fielding/index.html"),
    ("Lock-Token", ["<urn:uuid:a515cfa4-5da4-22e1-f5b5-00a0451e6bf7>"],
     "urn:uuid:a515cfa4-5da4-22e1-f5b5-00a0451e6bf7"),
    ("Overwrite", ["T"], True),
    ("Overwrite", ["F"], False),
    ("Timeout", ["Infinite, Second-4100000000"], ["Infinite", 4100000000]),
    ("Timeout", ["Second-3600"], [3600]),
    ("Timeout", ["Second-99999999999999"], [2**32 - 1]),
    # RFC 4918 10.4.6 - 10.4.9 and 8.10.x examples.
    ("If", [f'(<{LOCK1}> ["I am an ETag"]) (["I am another ETag"])'],
     [(None, [[IfCondition(False, "token", LOCK1),
               IfCondition(False, "etag", ETag("I am an ETag"))],
              [IfCondition(False, "etag", ETag("I am another ETag"))]])]),
    ("If", [f"(Not <{LOCK1}> <{LOCK2}>)"],
     [(None, [[IfCondition(True, "token", LOCK1), IfCondition(False, "token", LOCK2)]])]),
    ("If", [f"(<{LOCK1}>) (Not <DAV:no-lock>)"],
     [(None, [[IfCondition(False, "token", LOCK1)],
              [IfCondition(True, "token", "DAV:no-lock")]])]),
    ("If", [f"<http://www.example.com/specs/> (<{LOCK1}>)"],
     [("http://www.example.com/specs/", [[IfCondition(False, "token", LOCK1)]])]),
    ("If", ['</specs/rfc2518.doc> (["4217"])'],
     [("/specs/rfc2518.doc", [[IfCondition(False, "etag", ETag("4217"))]])]),
    ("If", ['</specs/rfc2518.doc> (Not ["4217"])'],
     [("/specs/rfc2518.doc", [[IfCondition(True, "etag", ETag("4217"))]])]),
    ("If", [f'<http://a/x> (<{LOCK1}>) (NOT [W/"w"]) </y> (<{LOCK2}>)'],
     [("http://a/x", [[IfCondition(False, "token", LOCK1)],
                      [IfCondition(True, "etag", ETag("w", weak=True))]]),
      ("/y", [[IfCondition(False, "token", LOCK2)]])]),
]  # fmt: skip


@pytest.mark.parametrize("name, lines, expected", EXAMPLES)
def test_parseAndRoundTrip(name, lines, expected):
    """
    Each example parses to the documented structure, and setHeader with
    that structure generates a value that parses back to it.
    """
    assert parse(name, *lines) == expected
    assert parse(name, *generate(name, expected)) == expected


def test_generatedForms():
    """
    The generators write the RFC's spellings.
    """
    assert generate("Overwrite", True) == ["T"]
    assert generate("Depth", "infinity") == ["infinity"]
    assert generate("Lock-Token", LOCK1) == [f"<{LOCK1}>"]
    assert generate("Timeout", ["Infinite", 60]) == ["Infinite, Second-60"]
    assert generate("If", [(None, [[IfCondition(True, "etag", ETag("x"))]])]) == [
        '(Not ["x"])'
    ]
    assert generate("DAV", ["1", "2"]) == ["1, 2"]


MALFORMED = [
    ("Depth", ["2"]),
    ("Depth", ["infinite"]),
    ("Depth", ["0", "1"]),
    ("Overwrite", ["yes"]),
    ("Overwrite", [""]),
    ("Lock-Token", ["urn:uuid:x"]),
    ("Lock-Token", ["<urn:uuid:x> junk"]),
    ("Timeout", ["Minute-5"]),
    ("Timeout", ["Second-"]),
    ("Timeout", [""]),
    ("If", [""]),
    ("If", ["()"]),
    ("If", [f"(<{LOCK1}>"]),
    ("If", [f"(<{LOCK1}>) <http://a/> (<{LOCK2}>)"]),
    ("If", [f"<http://a/> (<{LOCK1}>) (<{LOCK2}>) <http://b/>"]),
    ("If", ["(Not)"]),
    ("If", ["([unquoted])"]),
    ("If", ["(<a b>)"]),
    ("If", ["junk"]),
    ("DAV", ["1 2"]),
]


@pytest.mark.parametrize("name, lines", MALFORMED)
def test_malformed(name, lines):
    """
    Malformed DAV headers raise HeaderParseError.
    """
    with pytest.raises(HeaderParseError):
        parse(name, *lines)


@pytest.mark.parametrize(
    "name, value",
    [("Depth", "2"), ("Timeout", ["Forever"]), ("Timeout", [-1]),
     ("Lock-Token", "has space"), ("If", [("a b", [[IfCondition(False, "token", "x")]])])],
)  # fmt: skip
def test_badValuesNotGenerated(name, value):
    """
    Parsed values outside the grammar cannot be generated.
    """
    with pytest.raises(ValueError):
        Headers(headers={name: value}).toWire()


@pytest.mark.timeout(30)
def test_hugeIfLinear():
    """
    A huge If header parses in linear time.
    """
    n = 50_000
    value = " ".join(f'(<urn:x:{i}> Not ["e{i}"])' for i in range(n))
    [(tag, lists)] = parse("If", value)
    assert tag is None and len(lists) == n
