"""
Request-smuggling regression table for L{web2._wire}: every framing
ambiguity a front end and web2 could read differently is refused with the
status given here.
"""

import pytest

from web2._wire import NEED_DATA, ProtocolError, RequestHead, RequestReader

START = b"POST / HTTP/1.1\r\nHost: a\r\n"
BODY = b"5\r\nhello\r\n0\r\n\r\n"


def status_of(data):
    """
    The status of the ProtocolError raised while reading C{data} to its end,
    or C{None} if it parses.
    """
    reader = RequestReader()
    reader.receive(data)
    try:
        while reader.next_event() is not NEED_DATA:
            pass
    except ProtocolError as e:
        return e.status
    return None


SMUGGLING = [
    # CL.TE and TE.CL: both framings present.
    ("CL.TE", b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", 400),
    ("TE.CL", b"Transfer-Encoding: chunked\r\nContent-Length: 6\r\n", 400),
    ("CL.TE zero", b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", 400),
    # TE.TE obfuscations, each alongside a Content-Length as an attacker would.
    ("TE xchunked", b"Transfer-Encoding: xchunked\r\nContent-Length: 6\r\n", 400),
    ("TE space", b"Transfer-Encoding:  chunked\r\nContent-Length: 6\r\n", 400),
    ("TE tab", b"Transfer-Encoding:\tchunked\r\nContent-Length: 6\r\n", 400),
    (
        "TE identity",
        b"Transfer-Encoding: chunked, identity\r\nContent-Length: 6\r\n",
        400,
    ),
    ("TE name space", b"Transfer-Encoding : chunked\r\nContent-Length: 6\r\n", 400),
    ("TE obs-fold", b"Transfer-Encoding:\r\n chunked\r\nContent-Length: 6\r\n", 400),
    ("TE quoted", b'Transfer-Encoding: "chunked"\r\nContent-Length: 6\r\n', 400),
    (
        "TE x-header",
        b"X: y\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n",
        400,
    ),
    # TE.TE obfuscations alone.
    ("TE xchunked alone", b"Transfer-Encoding: xchunked\r\n", 400),
    ("TE chunked identity", b"Transfer-Encoding: chunked, identity\r\n", 400),
    ("TE identity alone", b"Transfer-Encoding: identity\r\n", 400),
    ("TE chunked twice", b"Transfer-Encoding: chunked, chunked\r\n", 400),
    (
        "TE chunked two fields",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        400,
    ),
    ("TE chunked-param", b"Transfer-Encoding: chunked;q=1\r\n", 400),
    ("TE empty", b"Transfer-Encoding: \r\n", 400),
    ("TE gzip last", b"Transfer-Encoding: chunked, gzip\r\n", 400),
    ("TE gzip first", b"Transfer-Encoding: gzip, chunked\r\n", 501),
    ("TE name space alone", b"Transfer-Encoding : chunked\r\n", 400),
    ("TE nul", b"Transfer-Encoding: chunked\x00\r\n", 400),
    ("TE vertical tab", b"Transfer-Encoding:\x0bchunked\r\n", 400),
    ("TE bare CR", b"Transfer-Encoding: chunked\rX: y\r\n", 400),
    ("TE bare LF", b"Transfer-Encoding: chunked\nX: y\r\n", 400),
    ("TE bare LF before", b"X: y\nTransfer-Encoding: chunked\r\n", 400),
    # Content-Length forms.
    ("CL plus", b"Content-Length: +5\r\n", 400),
    ("CL hex", b"Content-Length: 0x5\r\n", 400),
    ("CL inner space", b"Content-Length: 5 5\r\n", 400),
    ("CL negative", b"Content-Length: -1\r\n", 400),
    ("CL underscore", b"Content-Length: 1_0\r\n", 400),
    ("CL empty", b"Content-Length: \r\n", 400),
    ("CL decimal", b"Content-Length: 5.0\r\n", 400),
    ("CL unicode digit", "Content-Length: \u0665\r\n".encode("utf-8"), 400),
    ("CL differing fields", b"Content-Length: 5\r\nContent-Length: 6\r\n", 400),
    ("CL differing list", b"Content-Length: 5, 6\r\n", 400),
    ("CL empty element", b"Content-Length: 5,\r\n", 400),
    ("CL huge", b"Content-Length: 99999999999999999999999\r\n", 400),
    ("CL name space", b"Content-Length : 5\r\n", 400),
    ("CL obs-fold", b"Content-Length: 5\r\n 6\r\n", 400),
    ("CL nul", b"Content-Length: 5\x00\r\n", 400),
    # Other head damage.
    ("NUL in header", b"X: a\x00b\r\n", 400),
    ("obs-fold", b"X: a\r\n\tb\r\n", 400),
    ("bare CR end", b"X: a\r\r\n", 400),
    ("Host twice", b"Host: b\r\n", 400),
]


@pytest.mark.parametrize(
    "fields, status",
    [(f, s) for _, f, s in SMUGGLING],
    ids=[n for n, _, _ in SMUGGLING],
)
def test_smuggling(fields, status):
    """
    Each ambiguous head is refused with the listed status.
    """
    assert status_of(START + fields + b"\r\n" + BODY) == status


CHUNK_CASES = [
    ("size 0x1", b"0x1\r\na\r\n0\r\n\r\n"),
    ("size leading space", b" 1\r\na\r\n0\r\n\r\n"),
    ("size trailing space", b"1 \r\na\r\n0\r\n\r\n"),
    ("size tab before ext", b"1\t;x\r\na\r\n0\r\n\r\n"),
    ("size huge", b"ffffffffffffffffff\r\na\r\n0\r\n\r\n"),
    ("size negative", b"-1\r\na\r\n0\r\n\r\n"),
    ("LF in extension", b"1;x\nGET / HTTP/1.1\r\na\r\n0\r\n\r\n"),
    ("bare LF size", b"1\na\r\n0\r\n\r\n"),
    ("bare LF after data", b"1\r\na\n0\r\n\r\n"),
    ("no CRLF after data", b"1\r\naXX0\r\n\r\n"),
    ("data longer than size", b"1\r\nab\r\n0\r\n\r\n"),
    ("bare LF last chunk", b"0\n\r\n"),
    ("bare LF end", b"0\r\n\n"),
]


@pytest.mark.parametrize(
    "body", [b for _, b in CHUNK_CASES], ids=[n for n, _ in CHUNK_CASES]
)
def test_chunkSmuggling(body):
    """
    Each malformed chunked body is a 400.
    """
    data = START + b"Transfer-Encoding: chunked\r\n\r\n" + body
    assert status_of(data) == 400


def test_whitespaceAroundChunkedIsStillChunked():
    """
    OWS around a Transfer-Encoding value is legal and does not hide the
    coding: without a Content-Length such a request is read as chunked.
    """
    reader = RequestReader()
    reader.receive(START + b"Transfer-Encoding: \t chunked \t\r\n\r\n" + BODY)
    head = reader.next_event()
    assert isinstance(head, RequestHead) and head.chunked
    assert reader.next_event().data == b"hello"


def test_transferEncodingInHttp10():
    """
    Transfer-Encoding in an HTTP/1.0 request is refused.
    """
    data = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + BODY
    assert status_of(data) == 400


def test_collapsedContentLength():
    """
    Identical Content-Length values (listed or repeated) are one length, and
    the bytes after it are the next request, not more body.
    """
    data = START + b"Content-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhelloGET"
    reader = RequestReader()
    reader.receive(data)
    assert reader.next_event().content_length == 5
    assert reader.next_event().data == b"hello"
    reader.next_event()
    assert reader.next_event() is NEED_DATA
    assert reader.buffered == 3
