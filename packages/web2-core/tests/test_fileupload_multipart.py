"""
Tests for L{web2._multipart}: the incremental multipart parser and the
tolerant Content-Disposition parser.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web2._multipart import (
    FormError,
    MultipartParser,
    PartData,
    PartEnd,
    PartHead,
    checkBoundary,
    parseFormDisposition,
)

BOUNDARY = b"----b0und4ry"


def body(*parts, preamble=b"", epilogue=b"", boundary=BOUNDARY):
    """
    A multipart body of C{(headers bytes, content bytes)} parts.
    """
    out = [preamble + (b"\r\n" if preamble else b"")]
    for headers, content in parts:
        out.append(b"--" + boundary + b"\r\n" + headers + b"\r\n" + content + b"\r\n")
    out.append(b"--" + boundary + b"--" + epilogue)
    return b"".join(out)


def parse(data, chunks=None, boundary=BOUNDARY, **kwargs):
    """
    Parse C{data} fed at the given split points; return
    C{[(headers, content bytes)], ...} and check the event order.
    """
    parser = MultipartParser(boundary, **kwargs)
    events = []
    points = [0, *(chunks or []), len(data)]
    for start, end in zip(points, points[1:], strict=False):
        events.extend(parser.feed(data[start:end]))
    events.extend(parser.feedEOF())
    parts = []
    current = None
    for event in events:
        if isinstance(event, PartHead):
            assert current is None
            current = (event.headers, [])
        elif isinstance(event, PartData):
            assert current is not None and event.data
            current[1].append(event.data)
        else:
            assert isinstance(event, PartEnd)
            parts.append((current[0], b"".join(current[1])))
            current = None
    assert current is None and parser.done
    assert [e.last for e in events if isinstance(e, PartEnd)] == [False] * (len(parts) - 1) + [True] * bool(parts)
    return parts


CD = b'Content-Disposition: form-data; name="a"\r\n'


def test_simple():
    data = body((CD, b"hello"), (CD + b"Content-Type: text/plain\r\n", b"x\r\ny"))
    assert parse(data) == [
        ([("content-disposition", 'form-data; name="a"')], b"hello"),
        ([("content-disposition", 'form-data; name="a"'),
          ("content-type", "text/plain")], b"x\r\ny"),
    ]


def test_preambleAndEpilogue():
    """
    A preamble before the first delimiter and an epilogue after the last
    are ignored, even when they look like delimiters.
    """
    data = body((CD, b"v"), preamble=b"ignore me --" + BOUNDARY + b"x",
                epilogue=b"\r\n--" + BOUNDARY + b"\r\ngarbage")
    assert parse(data) == [([("content-disposition", 'form-data; name="a"')], b"v")]


def test_emptyContentAndNearMisses():
    """
    Empty parts, and content holding CRLF, dashes and partial boundaries.
    """
    tricky = b"\r\n--" + BOUNDARY[:-1] + b"\r\r\n-\r\n--"
    data = body((CD, b""), (CD, tricky), (CD, b"\r\n"))
    assert [c for _, c in parse(data)] == [b"", tricky, b"\r\n"]


def test_transportPadding():
    data = b"--" + BOUNDARY + b" \t\r\n" + CD + b"\r\nv\r\n--" + BOUNDARY + b"--"
    assert [c for _, c in parse(data)] == [b"v"]


def test_noParts():
    assert parse(b"--" + BOUNDARY + b"--\r\n") == []


def test_foldedHeader():
    data = body((b"Content-Disposition: form-data;\r\n name=\"a\"\r\n", b"v"))
    assert parse(data)[0][0] == [("content-disposition", 'form-data; name="a"')]


@pytest.mark.parametrize("data, message", [
    (b"", "before the first boundary"),
    (b"--" + BOUNDARY + b"\r\n" + CD, "in a part's headers"),
    (b"--" + BOUNDARY + b"\r\n" + CD + b"\r\ncontent", "inside a part"),
    (b"--" + BOUNDARY + b"\r\n" + CD + b"\r\ncontent\r\n--" + BOUNDARY, "inside a part"),
    (b"--" + BOUNDARY + b"\r\n" + CD + b"\r\nc\r\n--" + BOUNDARY + b"-", "inside a part"),
])
def test_truncated(data, message):
    parser = MultipartParser(BOUNDARY)
    parser.feed(data)
    with pytest.raises(FormError) as e:
        parser.feedEOF()
    assert e.value.status == 400 and message in e.value.message


@pytest.mark.parametrize("data, message", [
    # The boundary inside content, followed by something else.
    (body((CD, b"a\r\n--" + BOUNDARY + b"X")), "bad delimiter"),
    (b"--" + BOUNDARY + b"X\r\n", "bad delimiter"),
    (b"--" + BOUNDARY + b" " * 100 + b"\r\n", "padding"),
    (b"--" + BOUNDARY + b"\r\nno colon here\r\n\r\n", "not 'Name: value'"),
    (b"--" + BOUNDARY + b"\r\nBad Name: x\r\n\r\n", "not 'Name: value'"),
    (b"--" + BOUNDARY + b"\r\n folded first\r\n\r\n", "continuation"),
    (b"--" + BOUNDARY + b"\r\nX: " + b"y" * 9000, "too long"),
    (b"--" + BOUNDARY + b"\r\nX: " + b"y" * 9000 + b"\r\n", "too long"),
    (b"--" + BOUNDARY + b"\r\nX: y\r\n " + b"y" * 8200 + b"\r\n", "too long"),
    (b"--" + BOUNDARY + b"\r\n" + b"X: y\r\n" * 33, "too many header lines"),
])
def test_malformed(data, message):
    parser = MultipartParser(BOUNDARY)
    with pytest.raises(FormError) as e:
        parser.feed(data)
        parser.feedEOF()
    assert e.value.status == 400 and message in e.value.message


def test_headerLimitsExact():
    """
    A header line of exactly C{maxHeaderLine} bytes and exactly
    C{maxHeaderCount} lines are accepted.
    """
    line = b"X: " + b"y" * 97
    data = body((line + b"\r\n" + b"Y: z\r\n" * 3, b"v"))
    parts = parse(data, maxHeaderLine=100, maxHeaderCount=4)
    assert parts[0][0][0] == ("x", "y" * 97)
    with pytest.raises(FormError):
        parse(data, maxHeaderLine=99, maxHeaderCount=4)
    with pytest.raises(FormError):
        parse(data, maxHeaderLine=100, maxHeaderCount=3)


def test_bigPartIsStreamed():
    """
    Content is handed on as it arrives: the parser keeps no more than a
    boundary's worth of a big part.
    """
    parser = MultipartParser(BOUNDARY)
    parser.feed(b"--" + BOUNDARY + b"\r\n" + CD + b"\r\n")
    total = 0
    for _ in range(100):
        events = parser.feed(b"x" * 65536)
        total += sum(len(e.data) for e in events)
        assert len(parser._buffer) < len(BOUNDARY) + 4
    assert total > 100 * 65536 - len(BOUNDARY) - 4


@pytest.mark.parametrize("boundary", ["", "a" * 201, "with\r\nCRLF", "trailing ",
                                      "caf\u00e9", 'quo"te'])
def test_badBoundary(boundary):
    with pytest.raises(FormError):
        checkBoundary(boundary)


def test_goodBoundary():
    assert checkBoundary("a b'()+_,-./:=?Z9") == b"a b'()+_,-./:=?Z9"


parts_strategy = st.lists(
    st.tuples(
        st.text(alphabet="abc_-", min_size=1, max_size=5),
        st.binary(max_size=60).map(lambda b: b.replace(BOUNDARY, b"")),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(parts_strategy, st.data())
def test_anySplitParsesTheSame(parts, data):
    """
    However the body is cut into chunks, the parts come out the same.
    """
    encoded = body(
        *[(b'Content-Disposition: form-data; name="' + n.encode() + b'"\r\n', c)
          for n, c in parts],
        preamble=data.draw(st.binary(max_size=8).map(lambda b: b.replace(b"-", b""))),
    )
    expected = parse(encoded)
    assert [c for _, c in expected] == [c for _, c in parts]
    splits = sorted(data.draw(st.lists(st.integers(0, len(encoded)), max_size=12)))
    assert parse(encoded, splits) == expected


def test_byteAtATime():
    encoded = body((CD, b"\r\n--" + BOUNDARY[:5]), (CD, b"z" * 40))
    assert parse(encoded, list(range(1, len(encoded)))) == parse(encoded)


# Content-Disposition


@pytest.mark.parametrize("text, expected", [
    ('form-data; name="a"', ("form-data", {"name": "a"})),
    ("Form-Data;Name=a ;  filename=b.txt", ("form-data", {"name": "a", "filename": "b.txt"})),
    ('form-data; name="a"; filename=""', ("form-data", {"name": "a", "filename": ""})),
    # Escapes, and a Windows path whose backslashes are not escapes.
    (r'form-data; name="a\"b"; filename="C:\dir\x\"y.txt"',
     ("form-data", {"name": 'a"b', "filename": 'C:\\dir\\x"y.txt'})),
    (r'form-data; name="a"; filename="back\\slash"',
     ("form-data", {"name": "a", "filename": "back\\slash"})),
    # An unescaped quote inside the value (old browsers).
    ('form-data; name="a"; filename="say "hi".txt"',
     ("form-data", {"name": "a", "filename": 'say "hi".txt'})),
    ('form-data; name="x;y"', ("form-data", {"name": "x;y"})),
    ('form-data; name="a"; name="b"', ("form-data", {"name": "a"})),
    ("form-data; name=a; filename*=UTF-8''%e2%82%ac.txt",
     ("form-data", {"name": "a", "filename*": "UTF-8''%e2%82%ac.txt"})),
    ("form-data; ; name=a;", ("form-data", {"name": "a"})),
    ("form-data", ("form-data", {})),
    ("attachment", ("attachment", {})),
])
def test_disposition(text, expected):
    assert parseFormDisposition(text) == expected


@pytest.mark.parametrize("text", [
    'form-data; name="unterminated',
    'form-data; name="a" junk',
    "form-data; name",
    "form-data; =x",
])
def test_dispositionMalformed(text):
    with pytest.raises(FormError) as e:
        parseFormDisposition(text)
    assert e.value.status == 400
