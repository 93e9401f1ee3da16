# -*- test-case-name: test_cgi_fastcgi_wire -*-
"""
FastCGI 1.0 records without I/O: the record reader, the record writer and
the name-value pair codec.

A record is an 8-byte header (version 1, type, request id, content
length, padding length, reserved) followed by up to 65535 bytes of content
and up to 255 bytes of padding.  The writer splits longer content into
several records (the original looped forever on writes over 64 KiB) and
pads each record to a multiple of 8 bytes, with no padding when it is
already aligned.  Name-value lengths take 1 byte below 128 and 4 bytes
(high bit set) otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VERSION = 1

BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

RESPONDER = 1
AUTHORIZER = 2
FILTER = 3

KEEP_CONN = 1

REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
OVERLOADED = 2
UNKNOWN_ROLE = 3

#: The most content one record carries.
MAX_CONTENT = 65535
#: The content size the writer uses for full records: a multiple of 8, so
#: full records need no padding.
_CHUNK = 65528

_HEADER = struct.Struct("!BBHHBx")
_BEGIN_BODY = struct.Struct("!HB5x")
_END_BODY = struct.Struct("!IB3x")
_PADDING = bytes(8)


class FastCGIProtocolError(ValueError):
    """
    The peer broke the FastCGI protocol; the connection cannot go on.
    """


@dataclass
class Record:
    """
    One FastCGI record as read.
    """

    type: int
    requestId: int
    content: bytes


class RecordReader:
    """
    Cuts a byte stream into records.  It never holds more than one record
    plus one read's worth of bytes beyond it.
    """

    def __init__(self):
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """
        How many bytes wait for the rest of their record.
        """
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Record]:
        """
        @return: the records completed by C{data}, in order.
        @raise FastCGIProtocolError: a record of another version.
        """
        buf = self._buffer
        buf += data
        records = []
        offset = 0
        size = len(buf)
        while size - offset >= 8:
            version, kind, requestId, length, padding = _HEADER.unpack_from(buf, offset)
            if version != VERSION:
                raise FastCGIProtocolError(f"record of version {version}, not 1")
            end = offset + 8 + length + padding
            if end > size:
                break
            records.append(Record(kind, requestId, bytes(buf[offset + 8:offset + 8 + length])))
            offset = end
        if offset:
            del buf[:offset]
        return records


def encodeRecord(kind: int, requestId: int, content: bytes = b"") -> bytes:
    """
    One record with at most L{MAX_CONTENT} bytes of content, padded to a
    multiple of 8 bytes.
    """
    length = len(content)
    if length > MAX_CONTENT:
        raise ValueError(f"{length} bytes do not fit in one record")
    padding = -length % 8
    return _HEADER.pack(VERSION, kind, requestId, length, padding) + content + _PADDING[:padding]


def encodeStream(kind: int, requestId: int, data) -> list[bytes]:
    """
    The records that carry C{data} (any length, not empty) on stream
    C{kind}; C{data} is sliced without copying where it can be.

    @return: a list of C{bytes} pieces to write in order.
    """
    view = memoryview(data)
    pieces = []
    for start in range(0, len(view), _CHUNK):
        chunk = view[start:start + _CHUNK]
        length = len(chunk)
        padding = -length % 8
        pieces.append(_HEADER.pack(VERSION, kind, requestId, length, padding))
        pieces.append(bytes(chunk) if len(view) > _CHUNK else data)
        if padding:
            pieces.append(_PADDING[:padding])
    return pieces


def encodeEndRequest(requestId: int, appStatus: int = 0,
                     protocolStatus: int = REQUEST_COMPLETE) -> bytes:
    """
    An END_REQUEST record.
    """
    return encodeRecord(END_REQUEST, requestId,
                        _END_BODY.pack(appStatus & 0xFFFFFFFF, protocolStatus))


def decodeBeginRequest(content: bytes) -> tuple[int, int]:
    """
    @return: C{(role, flags)} of a BEGIN_REQUEST body.
    @raise FastCGIProtocolError: the body is not 8 bytes.
    """
    if len(content) != 8:
        raise FastCGIProtocolError(f"BEGIN_REQUEST body of {len(content)} bytes")
    return _BEGIN_BODY.unpack(content)


def encodeBeginRequest(role: int = RESPONDER, flags: int = 0) -> bytes:
    """
    A BEGIN_REQUEST body (for clients and tests).
    """
    return _BEGIN_BODY.pack(role, flags)


def _encodeLength(n: int) -> bytes:
    if n < 128:
        return bytes((n,))
    if n > 0x7FFFFFFF:
        raise ValueError("name or value too long")
    return struct.pack("!I", n | 0x80000000)


def encodeNameValues(pairs) -> bytes:
    """
    Encode C{(name, value)} C{bytes} pairs.
    """
    out = bytearray()
    for name, value in pairs:
        out += _encodeLength(len(name)) + _encodeLength(len(value)) + name + value
    return bytes(out)


def _decodeLength(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data):
        raise FastCGIProtocolError("truncated name-value length")
    first = data[offset]
    if first < 128:
        return first, offset + 1
    if offset + 4 > len(data):
        raise FastCGIProtocolError("truncated 4-byte name-value length")
    return struct.unpack_from("!I", data, offset)[0] & 0x7FFFFFFF, offset + 4


def decodeNameValues(data: bytes) -> list[tuple[bytes, bytes]]:
    """
    Decode a whole name-value stream.

    @raise FastCGIProtocolError: a length runs past the end.
    """
    pairs = []
    offset = 0
    size = len(data)
    while offset < size:
        nameLength, offset = _decodeLength(data, offset)
        valueLength, offset = _decodeLength(data, offset)
        end = offset + nameLength + valueLength
        if end > size:
            raise FastCGIProtocolError("name-value pair runs past the end")
        pairs.append((data[offset:offset + nameLength], data[offset + nameLength:end]))
        offset = end
    return pairs
