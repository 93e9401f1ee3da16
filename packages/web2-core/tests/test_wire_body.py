"""
Tests for L{web2._wire}'s body readers: Content-Length and chunked bodies,
streaming, trailers, body limits and L{RequestReader.discard_body}.
"""

import pytest

from web2._wire import (
    CLOSED,
    NEED_DATA,
    BodyData,
    EndOfRequest,
    Limits,
    ProtocolError,
    RequestHead,
    RequestReader,
)

CHUNKED = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def length_head(n):
    return b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % n


def drain(reader):
    """
    Every event up to the first NEED_DATA or CLOSED, that one excluded.
    """
    out = []
    while True:
        event = reader.next_event()
        if event is NEED_DATA or event is CLOSED:
            return out
        out.append(event)


def body_events(data, limits=None, eof=False):
    """
    The events after the head of C{data}, up to NEED_DATA or CLOSED.
    """
    reader = RequestReader(limits)
    reader.receive(data)
    if eof:
        reader.receive_eof()
    out = drain(reader)
    assert isinstance(out[0], RequestHead)
    return out[1:]


def body_of(data, limits=None):
    """
    The body bytes and trailers of the single request in C{data}.
    """
    out = body_events(data, limits)
    assert isinstance(out[-1], EndOfRequest), out
    assert all(isinstance(e, BodyData) and e.data for e in out[:-1])
    return b"".join(e.data for e in out[:-1]), out[-1].trailers


def error(data, limits=None, eof=False):
    with pytest.raises(ProtocolError) as info:
        body_events(data, limits, eof)
    return info.value


# --- Content-Length -----------------------------------------------------------


def test_lengthBody():
    """
    A Content-Length body comes out whole, then EndOfRequest; the bytes after
    it are the next request.
    """
    data = length_head(5) + b"hello" + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    out = body_events(data)
    assert out[:2] == [BodyData(b"hello"), EndOfRequest([])]
    assert out[2].method == "GET"


def test_lengthBodyStreams():
    """
    A Content-Length body is handed on as it arrives, without waiting for
    all of it.
    """
    reader = RequestReader()
    reader.receive(length_head(10) + b"abc")
    assert drain(reader)[1:] == [BodyData(b"abc")]
    reader.receive(b"defg")
    assert drain(reader) == [BodyData(b"defg")]
    reader.receive(b"hijXYZ")
    assert drain(reader) == [BodyData(b"hij"), EndOfRequest([])]
    assert reader.buffered == 3


def test_lengthBodyReceivedWholeIsNotCopied():
    """
    Body bytes received as one bytes object that is all body are passed on
    as that object.
    """
    reader = RequestReader()
    reader.receive(length_head(1000))
    drain(reader)
    chunk = b"x" * 1000
    reader.receive(chunk)
    assert reader.next_event().data is chunk


def test_dataEventCap():
    """
    No BodyData holds more than max_data_event bytes.
    """
    limits = Limits(max_data_event=4)
    assert body_events(length_head(10) + b"0123456789", limits) == [
        BodyData(b"0123"),
        BodyData(b"4567"),
        BodyData(b"89"),
        EndOfRequest([]),
    ]
    data = CHUNKED + b"a\r\n0123456789\r\n0\r\n\r\n"
    assert body_events(data, limits)[:3] == [
        BodyData(b"0123"),
        BodyData(b"4567"),
        BodyData(b"89"),
    ]


def test_eofInLengthBody():
    """
    End of input before the body is complete is a 400; a body that is
    complete is not affected.
    """
    assert error(length_head(5) + b"abc", eof=True).status == 400
    assert body_events(length_head(3) + b"abc", eof=True)[-1] == EndOfRequest([])


def test_bigLengthBodyStreams():
    """
    A 10 MiB body fed in 64 KiB pieces comes out as many events, each no
    larger than what had arrived.
    """
    reader = RequestReader()
    reader.receive(length_head(10 * 1024 * 1024))
    drain(reader)
    total = 0
    piece = b"z" * 65536
    for _ in range(160):
        reader.receive(piece)
        out = drain(reader)
        assert [len(e.data) for e in out if isinstance(e, BodyData)] == [65536]
        total += 65536
    assert out[-1] == EndOfRequest([])
    assert reader.buffered == 0


# --- chunked ------------------------------------------------------------------------


def test_chunkedBody():
    """
    Chunks with extensions and upper- or lower-case hex sizes are decoded;
    the extensions are dropped.
    """
    data = CHUNKED + (
        b"5\r\nhello\r\n"
        b"1;name\r\n \r\n"
        b'A;n=v;q="a \\" b"\r\n0123456789\r\n'
        b"b\r\n0123456789a\r\n"
        b"0\r\n\r\n"
    )
    assert body_of(data) == (b"hello 01234567890123456789a", [])


def test_chunkedTrailers():
    """
    Trailer fields are parsed like header fields.
    """
    data = CHUNKED + b"3\r\nabc\r\n0\r\nX-Sum:  1 \r\nX-Other: y\r\n\r\n"
    assert body_of(data) == (b"abc", [(b"x-sum", b"1"), (b"x-other", b"y")])


def test_chunkedZeroWithExtension():
    """
    The last chunk may carry extensions too.
    """
    assert body_of(CHUNKED + b"000;x=1\r\n\r\n") == (b"", [])


def test_chunkedStreams():
    """
    A large chunk comes out as its bytes arrive, never buffered whole.
    """
    reader = RequestReader()
    reader.receive(CHUNKED + b"a00000\r\n")  # 10 MiB
    assert len(drain(reader)) == 1
    for _ in range(160):
        reader.receive(b"y" * 65536)
        out = drain(reader)
        assert out == [BodyData(b"y" * 65536)]
        assert reader.buffered == 0
    reader.receive(b"\r\n0\r\n\r\n")
    assert drain(reader) == [EndOfRequest([])]


def test_chunkedByteByByte():
    """
    A chunked body fed one byte at a time decodes the same.
    """
    data = CHUNKED + b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
    reader = RequestReader()
    out = []
    for i in range(len(data)):
        reader.receive(data[i : i + 1])
        out.extend(drain(reader))
    assert b"".join(e.data for e in out if isinstance(e, BodyData)) == b"abcde"
    assert out[-1] == EndOfRequest([(b"t", b"v")])


@pytest.mark.parametrize(
    "chunks, status",
    [
        (b"0x1\r\na\r\n0\r\n\r\n", 400),
        (b" 1\r\na\r\n0\r\n\r\n", 400),
        (b"1 \r\na\r\n0\r\n\r\n", 400),
        (b"+1\r\na\r\n0\r\n\r\n", 400),
        (b"-1\r\na\r\n0\r\n\r\n", 400),
        (b"\r\na\r\n0\r\n\r\n", 400),
        (b"g\r\na\r\n0\r\n\r\n", 400),
        (b"ffffffffffffffffff\r\n", 400),
        (b"1 ;x\r\na\r\n0\r\n\r\n", 400),
        (b"1; x\r\na\r\n0\r\n\r\n", 400),
        (b"1;x =y\r\na\r\n0\r\n\r\n", 400),
        (b"1;x=\r\na\r\n0\r\n\r\n", 400),
        (b'1;x="unterminated\r\na\r\n0\r\n\r\n', 400),
        (b"1;x\ny\r\na\r\n0\r\n\r\n", 400),
        (b"1\na\r\n0\r\n\r\n", 400),
        (b"1\ra\r\n0\r\n\r\n", 400),
        (b"1\r\nab\r\n0\r\n\r\n", 400),
        (b"1\r\na\n0\r\n\r\n", 400),
        (b"1\r\na0\r\n\r\n", 400),
        (b"0\r\nX: a\nY: b\r\n\r\n", 400),
        (b"0\r\n folded\r\n\r\n", 400),
        (b"0\r\nBad Name: v\r\n\r\n", 400),
        (b"0\r\nContent-Length: 5\r\n\r\n", 400),
        (b"0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"0\r\n\n", 400),
    ],
)
def test_badChunked(chunks, status):
    """
    Every deviation from the strict chunked grammar is refused.
    """
    assert error(CHUNKED + chunks).status == status


def test_sixteenHexDigits():
    """
    A size of 16 hex digits is parsed (then limited), 17 is refused.
    """
    limits = Limits(max_body_size=100)
    assert error(CHUNKED + b"00000000ffffffff\r\n", limits).status == 413
    err = error(CHUNKED + b"0000000000000000f\r\n", limits)
    assert (err.status, err.reason) == (400, "chunk size too long")


def test_chunkLineTooLong():
    """
    A chunk-size line over max_chunk_line is a 400, complete or not.
    """
    limits = Limits(max_chunk_line=10)
    assert body_of(CHUNKED + b"1;abcdefgh\r\nz\r\n0\r\n\r\n", limits)[0] == b"z"
    assert error(CHUNKED + b"1;abcdefghi\r\nz\r\n0\r\n\r\n", limits).status == 400
    assert error(CHUNKED + b"1;abcdefghijk", limits).status == 400


def test_chunkedBodyOverLimit():
    """
    A chunked body is refused with 413 as soon as its declared chunks
    exceed max_body_size, before their data arrives.
    """
    limits = Limits(max_body_size=8)
    assert (
        body_of(CHUNKED + b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n", limits)[0]
        == b"abcdefgh"
    )
    reader = RequestReader(limits)
    reader.receive(CHUNKED + b"4\r\nabcd\r\n5\r\n")
    with pytest.raises(ProtocolError) as info:
        drain(reader)
    assert info.value.status == 413


def test_trailersTooLarge():
    """
    Trailers over max_trailer_bytes are a 431, complete or not.
    """
    limits = Limits(max_trailer_bytes=10)
    assert body_of(CHUNKED + b"0\r\nX: 12345\r\n\r\n", limits)[1] == [(b"x", b"12345")]
    assert error(CHUNKED + b"0\r\nX: 123456\r\n\r\n", limits).status == 431
    assert error(CHUNKED + b"0\r\nX: 1234567890", limits).status == 431


@pytest.mark.parametrize(
    "tail",
    [
        b"",
        b"3\r\n",
        b"3\r\nab",
        b"3\r\nabc",
        b"3\r\nabc\r\n",
        b"0\r\n",
        b"0\r\nX: y\r\n",
    ],
)
def test_eofInChunkedBody(tail):
    """
    End of input anywhere before the end of a chunked body is a 400.
    """
    assert error(CHUNKED + tail, eof=True).status == 400


# --- discard_body -------------------------------------------------------------------


def test_discardBody():
    """
    After discard_body no more BodyData is returned, but the body is still
    framed, so the next request parses.
    """
    reader = RequestReader()
    reader.receive(length_head(6) + b"abc")
    assert drain(reader)[1:] == [BodyData(b"abc")]
    reader.discard_body()
    reader.receive(b"def" + b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
    out = drain(reader)
    assert out[0] == EndOfRequest([])
    assert out[1].target == "/next"


def test_discardChunkedBodyStillValidated():
    """
    A discarded chunked body that is malformed still raises.
    """
    reader = RequestReader()
    reader.receive(CHUNKED)
    drain(reader)
    reader.discard_body()
    reader.receive(b"3\r\nabc\r\n0\r\n\r\n")
    assert drain(reader) == [EndOfRequest([])]
    reader = RequestReader()
    reader.receive(CHUNKED)
    drain(reader)
    reader.discard_body()
    reader.receive(b"3\r\nabcX")
    with pytest.raises(ProtocolError):
        drain(reader)


def test_discardOnlyAppliesToCurrentBody():
    """
    discard_body does not affect the next request's body.
    """
    reader = RequestReader()
    reader.receive(length_head(1) + b"a" + length_head(1) + b"b")
    drain_first = reader.next_event()
    assert isinstance(drain_first, RequestHead)
    reader.discard_body()
    out = drain(reader)
    assert out[0] == EndOfRequest([])
    assert out[2] == BodyData(b"b")
