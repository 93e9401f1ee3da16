"""
Tests for the writer half of L{web2._wire}: response heads, chunk framing
and L{decide_framing}.
"""

import pytest

from web2._wire import (
    Framing,
    decide_framing,
    encode_chunk,
    encode_last_chunk,
    serialize_response_head,
)


def test_head():
    """
    The status line uses HTTP/1.1 and the registered phrase; fields are
    written in order as given.
    """
    assert (
        serialize_response_head(
            200, [(b"Content-Length", b"5"), (b"X-A", b"1"), (b"X-A", b"2")]
        )
        == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
    )
    assert serialize_response_head(404, []) == b"HTTP/1.1 404 Not Found\r\n\r\n"


def test_headReason():
    """
    A given reason replaces the registered one; an unregistered status
    without a reason gets an empty one.
    """
    assert serialize_response_head(200, [], b"Fine") == b"HTTP/1.1 200 Fine\r\n\r\n"
    assert serialize_response_head(299, []) == b"HTTP/1.1 299 \r\n\r\n"
    assert serialize_response_head(200, [], b"") == b"HTTP/1.1 200 \r\n\r\n"


def test_headValuesMayHoldObsTextAndTab():
    """
    HTAB and bytes 0x80-0xFF are allowed in values.
    """
    head = serialize_response_head(200, [(b"X", b"a\tb\xe9")])
    assert head == b"HTTP/1.1 200 OK\r\nX: a\tb\xe9\r\n\r\n"


@pytest.mark.parametrize(
    "name, value",
    [
        (b"X", b"a\r\nSet-Cookie: evil"),
        (b"X", b"a\nb"),
        (b"X", b"a\rb"),
        (b"X", b"a\x00b"),
        (b"X", b"a\x7f"),
        (b"X-A\r\nY", b"v"),
        (b"X: y", b"v"),
        (b"X Y", b"v"),
        (b"", b"v"),
        (b"X\x00", b"v"),
        (b"X\xe9", b"v"),
        ("X", b"v"),
        (b"X", "v"),
    ],
)
def test_headRejectsSplitting(name, value):
    """
    A name that is not a token or a value with CR, LF, NUL or another CTL
    is refused with ValueError, whatever its position.
    """
    with pytest.raises(ValueError):
        serialize_response_head(200, [(name, value)])
    with pytest.raises(ValueError):
        serialize_response_head(200, [(b"A", b"1"), (name, value), (b"B", b"2")])
    with pytest.raises(ValueError):
        encode_last_chunk([(name, value)])


@pytest.mark.parametrize("reason", [b"OK\r\nX: y", b"O\nK", b"\x00", "OK"])
def test_headRejectsBadReason(reason):
    """
    A reason phrase with CR, LF or NUL (or not bytes) is refused.
    """
    with pytest.raises(ValueError):
        serialize_response_head(200, [], reason)


@pytest.mark.parametrize("status", [99, 1000, -200, "200", 200.0])
def test_headRejectsBadStatus(status):
    """
    A status that is not a three-digit int is refused.
    """
    with pytest.raises(ValueError):
        serialize_response_head(status, [])


def test_encodeChunk():
    """
    A chunk is its hex size, CRLF, the data and CRLF; empty data is nothing.
    """
    assert encode_chunk(b"hello") == b"5\r\nhello\r\n"
    assert encode_chunk(b"x" * 255).lower() == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert encode_chunk(b"") == b""


def test_encodeLastChunk():
    """
    The last chunk ends the body, with trailers if any.
    """
    assert encode_last_chunk() == b"0\r\n\r\n"
    assert encode_last_chunk([(b"X-Sum", b"abc")]) == b"0\r\nX-Sum: abc\r\n\r\n"


FRAMING = [
    # method, version, keep_alive, status, content_length -> mode, keep_alive
    ("GET", (1, 1), True, 200, 10, "length", True),
    ("GET", (1, 1), True, 200, None, "chunked", True),
    ("GET", (1, 0), True, 200, None, "close", False),
    ("GET", (1, 0), True, 200, 10, "length", True),
    ("GET", (1, 1), False, 200, 10, "length", False),
    ("GET", (1, 1), False, 200, None, "chunked", False),
    ("GET", (1, 0), False, 200, None, "close", False),
    ("HEAD", (1, 1), True, 200, 10, "none", True),
    ("HEAD", (1, 1), True, 200, None, "none", True),
    ("HEAD", (1, 0), False, 200, None, "none", False),
    ("GET", (1, 1), True, 100, None, "none", True),
    ("GET", (1, 1), True, 101, None, "none", True),
    ("GET", (1, 1), True, 204, None, "none", True),
    ("GET", (1, 1), True, 304, 10, "none", True),
    ("GET", (1, 0), True, 304, None, "none", True),
    ("POST", (1, 1), True, 404, None, "chunked", True),
    ("CONNECT", (1, 1), True, 501, 0, "length", True),
    ("CONNECT", (1, 1), True, 400, None, "chunked", True),
]


@pytest.mark.parametrize(
    "method, version, keep, status, length, mode, keep_out", FRAMING
)
def test_decideFraming(method, version, keep, status, length, mode, keep_out):
    """
    decide_framing follows its table.
    """
    framing = decide_framing(method, version, keep, status, length)
    assert framing == Framing(mode, keep_out)
    assert (framing.mode, framing.keep_alive) == (mode, keep_out)


def test_decideFramingConnectTunnel():
    """
    A 2xx answer to CONNECT (a tunnel, not supported) has no body and ends
    the connection.
    """
    for status in (200, 204, 299):
        assert decide_framing("CONNECT", (1, 1), True, status, None) == Framing(
            "none", False
        )
