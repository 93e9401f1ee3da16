"""
Tests for L{web2.wsgi.response}: the checks of C{start_response}'s
arguments, and L{FileWrapper}.
"""

from __future__ import annotations

import io

import pytest

from web2.wsgi import FileWrapper, WSGIResponseError
from web2.wsgi.response import HOP_BY_HOP, parseResponseHead


def test_statusAndHeaders():
    """
    A valid status and header list give the code, the reason as given, the
    headers as lower-cased wire pairs, and the Content-Length apart.
    """
    head = parseResponseHead("201 Created Here", [
        ("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
        ("Content-Length", "12"), ("X-Latin", "caf\xe9 "),
    ])
    assert head.code == 201
    assert head.reason == b"Created Here"
    assert head.length == 12
    assert head.pairs == [(b"content-type", b"text/plain"), (b"set-cookie", b"a=1"),
                          (b"set-cookie", b"b=2"), (b"x-latin", b"caf\xe9")]


@pytest.mark.parametrize("status", [
    "200", "404 ", "599 Custom Reason", "200 OK\tgood",
])
def test_goodStatus(status):
    """
    A status may have an empty reason phrase; any visible text is kept.
    """
    assert parseResponseHead(status, []).code == int(status[:3])


@pytest.mark.parametrize("status", [
    b"200 OK", 200, "20 OK", "2000 OK", "200OK", "OK 200", "099 Low", "100 Continue",
    "101 Switching Protocols", "200 OK\r\nX-Injected: 1", "200 O\nK", "",
])
def test_badStatus(status):
    """
    A status that is not a str "NNN Reason" with a final code is refused, so
    is one that would split the status line.
    """
    with pytest.raises(WSGIResponseError):
        parseResponseHead(status, [])


@pytest.mark.parametrize("headers", [
    (("Content-Type", "text/plain"),),
    [["Content-Type", "text/plain"]],
    [("Content-Type",)],
    [(b"Content-Type", "text/plain")],
    [("Content-Type", b"text/plain")],
    [("Bad Name", "x")],
    [("X-Split", "a\r\nSet-Cookie: evil=1")],
    [("X-Split", "a\nb")],
    [("X-Nul", "a\0b")],
    [("X-Wide", "snow\u2603man")],
    [("Content-Length", "-1")],
    [("Content-Length", "1e3")],
    [("Content-Length", "5"), ("Content-Length", "6")],
])
def test_badHeaders(headers):
    """
    Headers that are not a list of (str, str) tuples, names that are not
    tokens, values that would split the response or that latin-1 cannot
    carry, and malformed or conflicting Content-Lengths are refused.
    """
    with pytest.raises(WSGIResponseError):
        parseResponseHead("200 OK", headers)


@pytest.mark.parametrize("name", sorted(HOP_BY_HOP))
def test_hopByHopRefused(name):
    """
    PEP 3333: the application may not send hop-by-hop headers.
    """
    with pytest.raises(WSGIResponseError, match="hop-by-hop"):
        parseResponseHead("200 OK", [(name.title(), "x")])


def test_repeatedEqualContentLength():
    """
    The same Content-Length twice is one Content-Length.
    """
    assert parseResponseHead("200 OK", [("Content-Length", "5"),
                                        ("content-length", "5")]).length == 5


def test_fileWrapperIterates(tmp_path):
    """
    A FileWrapper is an iterable of blocks of its file, and close() closes
    the file.
    """
    f = io.BytesIO(b"abcdefg")
    wrapper = FileWrapper(f, 3)
    assert list(wrapper) == [b"abc", b"def", b"g"]
    wrapper.close()
    assert f.closed
    FileWrapper(object()).close()


def test_fileWrapperRegion(tmp_path):
    """
    The region of a regular file starts at its current position and stops
    at its end or at the declared length.
    """
    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as f:
        f.read(3)
        assert FileWrapper(f).region() == (f, 3, 7)
        assert FileWrapper(f).region(4) == (f, 3, 4)
    with open(path) as text:
        assert FileWrapper(text).region() is None
    assert FileWrapper(io.BytesIO(b"x")).region() is None


def test_rememberedNamesAreCheckedTheSameEveryTime():
    """
    Header names are remembered between responses; a refused name stays
    refused, a Content-Length stays apart, whatever came before.
    """
    for _ in range(3):
        head = parseResponseHead("200 OK", [("X-A", "1"), ("Content-Length", "3")])
        assert (head.pairs, head.length) == ([(b"x-a", b"1")], 3)
        with pytest.raises(WSGIResponseError, match="hop-by-hop"):
            parseResponseHead("200 OK", [("Connection", "close")])
        with pytest.raises(WSGIResponseError, match="invalid header name"):
            parseResponseHead("200 OK", [("Bad Name", "x")])
        with pytest.raises(WSGIResponseError, match="invalid header name"):
            parseResponseHead("200 OK", [(b"X-A", "x")])
