# -*- test-case-name: test_stream -*-
"""
The L{IByteStream} toolkit: bodies in both directions are byte streams.

A stream's C{read()} returns C{bytes} (never empty), C{None} at the end,
or a Deferred firing one of those; C{length} is the number of bytes left
or C{None}; C{split(point)} cuts it in two; C{close()} stops early.

Sources:
  - L{MemoryStream}: bytes in memory, all in one read, zero-copy splits;
  - L{FileStream}: a region of a file, in chunks (and the sendfile hook);
  - L{CompoundStream}: streams one after another;
  - L{IterableStream} and L{AsyncIteratorStream}: Python iterators;
  - L{ProducerStream}: whatever an L{IConsumer} is written (the request
    body), with backpressure on its producer;
  - L{ProcessStreamer}: a child process's output.

Consumers: L{StreamProducer} (a stream to an L{IConsumer}, the way a
response body is sent), L{readStream}, L{readAll}, L{readAndDiscard},
L{readIntoFile}, L{BufferedStream} (lines and sizes), L{HashingStream},
L{connectStream}.

C{bytes}, C{bytearray} and C{memoryview} adapt to L{IByteStream} as a
L{MemoryStream}; C{str} does not (choosing an encoding is the response
layer's job).
"""

from twisted.python.components import registerAdapter

from web2._stream_base import (
    FileStreamTruncated,
    LineTooLong,
    SimpleStream,
    StreamTooLong,
    fallbackSplit,
)
from web2._stream_process import ProcessStreamer
from web2._stream_producer import ProducerStream, StreamProducer, connectStream
from web2._stream_read import (
    BufferedStream,
    HashingStream,
    readAll,
    readAndDiscard,
    readIntoFile,
    readStream,
)
from web2._stream_sources import (
    AsyncIteratorStream,
    CompoundStream,
    FileStream,
    IterableStream,
    MemoryStream,
)
from web2.iweb import IByteStream, IStream

for _type in (bytes, bytearray, memoryview):
    registerAdapter(MemoryStream, _type, IByteStream)
del _type

__all__ = [
    "IStream",
    "IByteStream",
    "StreamTooLong",
    "LineTooLong",
    "FileStreamTruncated",
    "SimpleStream",
    "MemoryStream",
    "FileStream",
    "CompoundStream",
    "IterableStream",
    "AsyncIteratorStream",
    "ProducerStream",
    "StreamProducer",
    "BufferedStream",
    "HashingStream",
    "ProcessStreamer",
    "fallbackSplit",
    "readStream",
    "readAndDiscard",
    "readIntoFile",
    "readAll",
    "connectStream",
]
