"""
Tests for the FastCGI record layer: reading, writing (records over 64 KiB
split, padding), name-value pairs, and fuzzed input.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web2.cgi import _fcgiwire as wire


def test_recordRoundTrip():
    data = wire.encodeRecord(wire.STDIN, 7, b"hello")
    assert len(data) % 8 == 0
    assert len(data) == 8 + 5 + 3
    [record] = wire.RecordReader().feed(data)
    assert (record.type, record.requestId, record.content) == (wire.STDIN, 7, b"hello")


def test_alignedContentHasNoPadding():
    """
    The original padded an already aligned record with 8 more bytes.
    """
    assert len(wire.encodeRecord(wire.STDOUT, 1, b"x" * 16)) == 8 + 16


def test_emptyRecord():
    assert wire.encodeRecord(wire.STDOUT, 1) == bytes((1, 6, 0, 1, 0, 0, 0, 0))


def test_contentOverOneRecordRefused():
    with pytest.raises(ValueError):
        wire.encodeRecord(wire.STDOUT, 1, b"x" * 65536)


@pytest.mark.parametrize("size", [1, 65528, 65535, 65536, 200000, 1024 * 1024 + 3])
def test_streamSplitsLargeContent(size):
    """
    The original looped forever on writes over 64 KiB.
    """
    data = bytes(i % 251 for i in range(size))
    encoded = b"".join(wire.encodeStream(wire.STDOUT, 3, data))
    records = wire.RecordReader().feed(encoded)
    assert all(len(r.content) <= wire.MAX_CONTENT for r in records)
    assert all(r.requestId == 3 and r.type == wire.STDOUT for r in records)
    assert b"".join(r.content for r in records) == data
    assert len(encoded) % 8 == 0


def test_readerInPieces():
    data = wire.encodeRecord(wire.PARAMS, 1, b"abc") + wire.encodeRecord(wire.STDIN, 1, b"")
    reader = wire.RecordReader()
    records = []
    for byte in data:
        records += reader.feed(bytes((byte,)))
    assert [r.type for r in records] == [wire.PARAMS, wire.STDIN]
    assert reader.buffered == 0


def test_wrongVersion():
    with pytest.raises(wire.FastCGIProtocolError):
        wire.RecordReader().feed(bytes((2, 1, 0, 1, 0, 0, 0, 0)))


def test_nameValues():
    pairs = [(b"A", b"1"), (b"LONG" * 40, b"v" * 300), (b"", b"")]
    encoded = wire.encodeNameValues(pairs)
    assert wire.decodeNameValues(encoded) == pairs
    assert encoded[:2] == b"\x01\x01"
    assert encoded[4] & 0x80  # a 4-byte length for the 160-byte name


@pytest.mark.parametrize("data", [b"\x05", b"\x80\x00", b"\x05\x01abc", b"\x01\x80\x00\x00\x10a"])
def test_truncatedNameValues(data):
    with pytest.raises(wire.FastCGIProtocolError):
        wire.decodeNameValues(data)


def test_beginRequestBody():
    assert wire.decodeBeginRequest(wire.encodeBeginRequest(1, 1)) == (1, 1)
    with pytest.raises(wire.FastCGIProtocolError):
        wire.decodeBeginRequest(b"\x00\x01")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_fuzzReader(data, step):
    reader = wire.RecordReader()
    try:
        for i in range(0, len(data), step):
            for record in reader.feed(data[i:i + step]):
                assert len(record.content) <= wire.MAX_CONTENT
            # Never more than one record and one feed waiting.
            assert reader.buffered <= 8 + 65535 + 255 + step
    except wire.FastCGIProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzNameValues(data):
    try:
        pairs = wire.decodeNameValues(data)
    except wire.FastCGIProtocolError:
        return
    assert wire.decodeNameValues(wire.encodeNameValues(pairs)) == pairs


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([wire.PARAMS, wire.STDIN, wire.DATA]),
                          st.integers(min_value=0, max_value=65535),
                          st.binary(max_size=300)), max_size=10),
       st.integers(min_value=1, max_value=50))
def test_recordsRoundTrip(records, step):
    data = b"".join(wire.encodeRecord(t, i, c) for t, i, c in records)
    reader = wire.RecordReader()
    got = []
    for i in range(0, len(data), step):
        got += reader.feed(data[i:i + step])
    assert [(r.type, r.requestId, r.content) for r in got] == records
