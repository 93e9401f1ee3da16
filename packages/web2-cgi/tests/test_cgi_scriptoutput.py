"""
Tests for the reader of CGI script output heads (RFC 3875 section 6).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web2.cgi._scriptoutput import ScriptOutputError, ScriptOutputParser


def parse(data: bytes, **kwargs):
    return ScriptOutputParser(**kwargs).feed(data)


def test_documentResponse():
    head = parse(b"Content-Type: text/plain\n\nhello")
    assert head.code == 200
    assert head.headers == [("Content-Type", "text/plain")]
    assert head.body == b"hello"
    assert head.localRedirect is None


def test_crlfLines():
    head = parse(b"Content-Type: text/html\r\nX-A:b\r\n\r\nbody\r\n")
    assert head.headers == [("Content-Type", "text/html"), ("X-A", "b")]
    assert head.body == b"body\r\n"


def test_statusHeader():
    head = parse(b"Status: 404 Not Here\nContent-Type: text/plain\n\nx")
    assert (head.code, head.reason) == (404, "Not Here")
    assert ("Status", "404 Not Here") not in head.headers


def test_statusWithoutReason():
    assert parse(b"Status: 201\n\n").code == 201


@pytest.mark.parametrize("status", [b"abc", b"99", b"1000", b"100 Continue", b"600 x",
                                    b"200\x01"])
def test_badStatus(status):
    with pytest.raises(ScriptOutputError):
        parse(b"Status: " + status + b"\n\n")


def test_localRedirect():
    head = parse(b"Location: /other?x=1\n\n")
    assert head.localRedirect == "/other?x=1"


def test_clientRedirect():
    head = parse(b"Location: http://example.com/\n\n")
    assert head.code == 302
    assert head.localRedirect is None
    assert ("Location", "http://example.com/") in head.headers


def test_networkPathIsNotLocal():
    head = parse(b"Location: //evil.example/\n\n")
    assert head.localRedirect is None
    assert head.code == 302


def test_redirectWithStatus():
    head = parse(b"Status: 301 Moved\nLocation: /new\nContent-Type: text/html\n\n<a>")
    assert head.code == 301
    assert head.localRedirect is None


def test_hopByHopDropped():
    head = parse(b"Content-Type: a/b\nConnection: close\nTransfer-Encoding: chunked\n"
                 b"Keep-Alive: 5\n\n")
    assert head.headers == [("Content-Type", "a/b")]


def test_contentLength():
    head = parse(b"Content-Length: 5\nContent-Type: a/b\n\n12345")
    assert head.contentLength == 5
    assert all(n.lower() != "content-length" for n, _ in head.headers)


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1 2", b"9" * 30])
def test_badContentLength(value):
    with pytest.raises(ScriptOutputError):
        parse(b"Content-Length: " + value + b"\n\n")


def test_conflictingContentLengths():
    with pytest.raises(ScriptOutputError):
        parse(b"Content-Length: 1\nContent-Length: 2\n\n")


@pytest.mark.parametrize("line", [
    b"no colon here", b"Bad Name: x", b": empty name", b"X-A: a\rb", b"X-A: a\x00b",
    b" folded: line",
])
def test_garbageHeader(line):
    with pytest.raises(ScriptOutputError):
        parse(b"Content-Type: a/b\n" + line + b"\n\n")


def test_noHeaderAtAll():
    with pytest.raises(ScriptOutputError):
        parse(b"\nbody")


def test_headInPieces():
    parser = ScriptOutputParser()
    data = b"Content-Type: text/plain\r\nX-Y: z\r\n\r\nbody"
    results = [parser.feed(data[i:i + 1]) for i in range(len(data) - 4)]
    assert results[:-1] == [None] * (len(results) - 1)
    head = results[-1]
    assert head is not None and head.headers[-1] == ("X-Y", "z")
    assert head.body == b""


def test_headTooLong():
    parser = ScriptOutputParser(maxHeadBytes=100)
    with pytest.raises(ScriptOutputError):
        parser.feed(b"X-A: " + b"a" * 200)


def test_headTooLongEvenWhenComplete():
    with pytest.raises(ScriptOutputError):
        parse(b"X-A: " + b"a" * 200 + b"\n\n", maxHeadBytes=100)


def test_eof():
    parser = ScriptOutputParser()
    with pytest.raises(ScriptOutputError, match="nothing"):
        parser.eof()
    parser.feed(b"Content-Type: a/b\n")
    with pytest.raises(ScriptOutputError, match="inside"):
        parser.eof()


def test_nph():
    head = parse(b"HTTP/1.1 203 Partial Info\r\nContent-Type: text/plain\r\n"
                 b"Location: /x\r\nStatus: 500\r\n\r\nraw", nph=True)
    assert (head.code, head.reason) == (203, "Partial Info")
    assert head.localRedirect is None
    assert ("Status", "500") in head.headers
    assert head.body == b"raw"


@pytest.mark.parametrize("line", [b"Content-Type: text/plain", b"HTTP/1.1 abc", b"HTTP/1.1 100 C"])
def test_nphBadStatusLine(line):
    with pytest.raises(ScriptOutputError):
        parse(line + b"\r\n\r\n", nph=True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50),
       st.booleans())
def test_fuzzNeverCrashes(data, step, nph):
    """
    Arbitrary output in arbitrary pieces gives a head or a
    ScriptOutputError, never another exception, and never a header value
    that could split a response.
    """
    parser = ScriptOutputParser(maxHeadBytes=256, nph=nph)
    try:
        for i in range(0, len(data), step):
            head = parser.feed(data[i:i + step])
            if head is not None:
                for name, value in head.headers:
                    assert "\r" not in value and "\n" not in value and "\0" not in value
                    assert ":" not in name
                assert 200 <= head.code <= 599
                break
        else:
            parser.eof()
    except ScriptOutputError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"X-[A-Za-z0-9]{1,10}", fullmatch=True),
                          st.from_regex(r"[ -~]{0,30}", fullmatch=True)), max_size=8),
       st.binary(max_size=50), st.integers(min_value=1, max_value=20))
def test_roundTrip(headers, body, step):
    """
    Valid heads, however they are cut, parse to their headers and body.
    """
    data = b"".join(f"{n}: {v}\r\n".encode() for n, v in headers)
    data = b"Content-Type: a/b\r\n" + data + b"\r\n" + body
    parser = ScriptOutputParser()
    head = None
    for i in range(0, len(data), step):
        head = parser.feed(data[i:i + step])
        if head is not None:
            rest = data[i + step:]
            break
    assert head is not None
    assert head.headers[1:] == [(n, v.strip(" \t")) for n, v in headers]
    assert head.body + rest == body
