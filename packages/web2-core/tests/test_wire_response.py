"""
The client side of the wire: L{web2._wire.ResponseReader} and
L{web2._wire.serialize_request_head}, with honest and hostile byte corpora.
"""

import pytest

from web2._wire import (
    CLOSED,
    NEED_DATA,
    BodyData,
    EndOfResponse,
    InterimResponse,
    Limits,
    ProtocolError,
    ResponseReader,
    serialize_request_head,
)


def events(data, method="GET", eof=False, limits=None, pieces=False):
    """
    Feed C{data} (whole, or byte by byte) and collect events until
    NEED_DATA/CLOSED; body data is joined.
    """
    reader = ResponseReader(limits)
    reader.start(method)
    out = []
    chunks = [data[i : i + 1] for i in range(len(data))] if pieces else [data]
    for chunk in chunks:
        reader.receive(chunk)
        _drain(reader, out)
    if eof:
        reader.receive_eof()
        _drain(reader, out)
    joined = []
    for e in out:
        if type(e) is BodyData and joined and type(joined[-1]) is BodyData:
            joined[-1] = BodyData(joined[-1].data + e.data)
        else:
            joined.append(e)
    return joined, reader


def _drain(reader, out):
    while True:
        e = reader.next_event()
        if e is NEED_DATA or e is CLOSED:
            return
        out.append(e)
        if type(e) is EndOfResponse:
            return


def fails(data, method="GET", eof=False, limits=None, pieces=False):
    with pytest.raises(ProtocolError) as info:
        events(data, method, eof, limits, pieces)
    assert info.value.status == 502
    return info.value.reason


@pytest.mark.parametrize("pieces", [False, True])
def test_contentLength(pieces):
    got, reader = events(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", pieces=pieces)
    head, body, end = got
    assert (head.status, head.reason, head.version, head.framing, head.content_length) == (
        200, b"OK", (1, 1), "length", 5)
    assert head.keep_alive and head.headers == [(b"content-length", b"5"), (b"x-a", b"b")]
    assert body == BodyData(b"hello") and end == EndOfResponse([])
    assert reader.idle
    reader.start("GET")  # a second exchange on the same connection


@pytest.mark.parametrize("pieces", [False, True])
def test_chunkedWithTrailers(pieces):
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n"
    got, _ = events(data, pieces=pieces)
    assert got[0].framing == "chunked"
    assert got[1] == BodyData(b"hello!")
    assert got[2] == EndOfResponse([(b"x-t", b"1")])


def test_closeDelimited():
    got, reader = events(b"HTTP/1.1 200 OK\r\n\r\nsome body", eof=True)
    assert got[0].framing == "close" and not got[0].keep_alive
    assert got[1:] == [BodyData(b"some body"), EndOfResponse([])]
    assert reader.next_event() is CLOSED and not reader.idle


def test_noReasonPhrase():
    got, _ = events(b"HTTP/1.1 204\r\n\r\n")
    assert got[0].status == 204 and got[0].reason == b"" and got[1] == EndOfResponse([])


@pytest.mark.parametrize("status", [204, 304])
def test_bodylessStatuses(status):
    got, reader = events(b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status)
    assert got[0].framing == "none" and got[1] == EndOfResponse([])
    assert reader.idle


def test_headHasNoBody():
    got, reader = events(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method="HEAD")
    assert got[0].content_length is None and got[1] == EndOfResponse([]) and reader.idle
    got, _ = events(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method="HEAD")
    assert got[1] == EndOfResponse([])


def test_continueThenFinal():
    got, _ = events(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: </a>\r\n\r\n"
                    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert got[0] == InterimResponse(100, [])
    assert got[1] == InterimResponse(103, [(b"link", b"</a>")])
    assert got[2].status == 201 and got[3] == EndOfResponse([])


def test_http10KeepAlive():
    got, _ = events(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert not got[0].keep_alive
    got, _ = events(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert got[0].keep_alive
    got, reader = events(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not got[0].keep_alive and reader.next_event() is CLOSED


def test_identicalContentLengths():
    got, _ = events(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")
    assert got[1] == BodyData(b"ok")


def test_bodyInBoundedPieces():
    limits = Limits(max_data_event=4)
    reader = ResponseReader(limits)
    reader.start("GET")
    reader.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
    reader.next_event()
    sizes = [len(reader.next_event().data) for _ in range(3)]
    assert sizes == [4, 4, 2]


# Hostile corpora: each is refused with a 502 and a precise reason.

HOSTILE = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "conflicting"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1111111111111111111111\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", "both"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer-coding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "transfer-coding"),
    (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obs-fold"),
    (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", "control character"),
    (b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "whitespace"),
    (b"HTTP/1.1 200 OK\nX: a\r\n\r\n", "bare"),
    (b"HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n", "bare"),
    (b"HTTP/2.0 200 OK\r\n\r\n", "HTTP version"),
    (b"HTTP/1.1 20 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 099 Low\r\n\r\n", "below 100"),
    (b"ICY 200 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "101"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n", "chunk"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", "too long"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", "framing field"),
]


@pytest.mark.parametrize("data,reason", HOSTILE)
@pytest.mark.parametrize("pieces", [False, True])
def test_hostile(data, reason, pieces):
    assert reason in fails(data, pieces=pieces)


def test_errorsAreFinal():
    reader = ResponseReader()
    reader.start("GET")
    reader.receive(b"garbage\r\n\r\n")
    with pytest.raises(ProtocolError):
        reader.next_event()
    reader.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(ProtocolError):
        reader.next_event()


def test_garbageRefusedBeforeTheHeadEnds():
    # A status line that cannot be one is refused as soon as its CRLF is in.
    assert "status line" in fails(b"SSH-2.0-OpenSSH\r\nmore")


def test_endlessStatusLine():
    limits = Limits(max_request_line=100)
    reader = ResponseReader(limits)
    reader.start("GET")
    reader.receive(b"HTTP/1.1 200 " + b"x" * 80)
    assert reader.next_event() is NEED_DATA
    reader.receive(b"x" * 20)
    with pytest.raises(ProtocolError, match="status line too long"):
        reader.next_event()


def test_endlessHead():
    """
    A server sending header lines forever is refused once the section
    passes max_header_bytes, having held no more than that.
    """
    limits = Limits(max_header_bytes=1000)
    reader = ResponseReader(limits)
    reader.start("GET")
    reader.receive(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ProtocolError, match="header section too large"):
        for _ in range(1000):
            reader.receive(b"X-Endless: yes\r\n")
            assert reader.buffered < 1100
            reader.next_event()


def test_hugeHeaderCount():
    data = b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 101 + b"\r\n"
    assert "too many" in fails(data)
    got, _ = events(b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 100 + b"Content-Length: 0\r\n\r\n",
                    limits=Limits(max_header_count=101))
    assert len(got[0].headers) == 101


def test_tooManyInterimResponses():
    assert "interim" in fails(b"HTTP/1.1 100 Continue\r\n\r\n" * 20)


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"",
])
def test_truncated(data):
    """
    A connection that ends before the response does is an error (a
    Content-Length the server did not honour, a cut chunk, a cut head).
    """
    assert "closed" in fails(data, eof=True)


def test_extraBytesAfterTheResponse():
    """
    A body longer than its Content-Length: the response ends at the length
    and the extra bytes, arriving on an idle connection, are an error.
    """
    reader = ResponseReader()
    reader.start("GET")
    reader.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
    assert reader.next_event().status == 200
    assert reader.next_event() == BodyData(b"ok")
    assert reader.next_event() == EndOfResponse([])
    with pytest.raises(ProtocolError, match="before any request"):
        reader.next_event()


def test_unsolicitedData():
    reader = ResponseReader()
    reader.receive(b"HTTP/1.1 408 Timeout\r\n\r\n")
    with pytest.raises(ProtocolError):
        reader.next_event()


def test_idleEof():
    reader = ResponseReader()
    reader.receive_eof()
    assert reader.next_event() is CLOSED


def test_bodySizeLimit():
    limits = Limits(max_body_size=10)
    assert "limit" in fails(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limits=limits)
    assert "limit" in fails(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n", limits=limits)


def test_startWhileBusy():
    reader = ResponseReader()
    reader.start("GET")
    with pytest.raises(RuntimeError):
        reader.start("GET")


# The request writer


def test_serializeRequestHead():
    head = serialize_request_head("POST", "/a?b=c", [(b"Host", b"x"), (b"Content-Length", b"3")])
    assert head == b"POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"


@pytest.mark.parametrize("method,target,headers", [
    ("GET / HTTP/1.1\r\nX:", "/", []),
    ("GET", "/a b", []),
    ("GET", "/a\r\nX: y", []),
    ("GET", "", []),
    ("GET", "/", [(b"X", b"a\r\nInjected: 1")]),
    ("GET", "/", [(b"X", b"a\x00")]),
    ("GET", "/", [(b"Bad Name", b"a")]),
])
def test_serializeRequestHeadRefusesSplitting(method, target, headers):
    with pytest.raises(ValueError):
        serialize_request_head(method, target, headers)


def test_switchingProtocolsWhenAsked():
    """
    With C{upgrade=True} a 101 is the last head; the bytes after it are the
    new protocol's and are handed over whole.
    """
    reader = ResponseReader()
    reader.start("GET", upgrade=True)
    reader.receive(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nRAW")
    head = reader.next_event()
    assert (head.status, head.framing, head.keep_alive) == (101, "switch", False)
    assert reader.next_event() is CLOSED
    reader.receive(b" MORE")
    assert reader.take_buffered() == b"RAW MORE"
    assert not reader.idle


def test_upgradeRequestAnsweredNormally():
    got, reader = events(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno", eof=False)
    assert got[1] == BodyData(b"no")
    reader2 = ResponseReader()
    reader2.start("GET", upgrade=True)
    reader2.receive(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n")
    assert reader2.next_event().status == 426
