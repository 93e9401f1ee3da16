# -*- test-case-name: test_wire_reader -*-
"""
web2's wire layer: a sans-I/O HTTP/1.1 server-side parser and serializer.

Bytes in, events out, no I/O and no Twisted: the channel feeds a
L{RequestReader} with C{receive(data)} / C{receive_eof()} and takes events
from C{next_event()}:

  - L{RequestHead} (method, target, version, headers and the framing facts),
  - L{BodyData} (pieces of the body as they arrive),
  - L{EndOfRequest} (with trailers, if chunked),
  - L{NEED_DATA} (feed more bytes) or L{CLOSED} (the connection is done).

Invalid input raises L{ProtocolError} with the status to answer; the reader
is then dead.  L{Limits} bounds every buffer.  For a request without a
body, C{RequestReader.end_empty_body()} takes its L{EndOfRequest} without
another C{next_event()} round.  The writer half serializes a response head
(L{serialize_response_head}, or L{serialize_checked_head} for field lines a
L{web2.http_headers.Headers} already checked), chunks (L{encode_chunk},
L{encode_last_chunk}), and L{decide_framing} chooses Content-Length,
chunked or close-delimited framing and whether the connection persists.

Modules, one job each: C{_abnf} (the grammar), C{_events}, C{_errors},
C{_limits}, C{_fields} (field sections), C{_head} (request line and header
semantics), C{_body} (body readers by framing), C{_reader} (the state
machine; its rules are written at its top), C{_writer}, C{_framing}.

The client side (L{web2.client}, the reverse proxy) has its own two:
C{_response} (L{ResponseReader}: status line, fields and response framing,
with the same limits and strictness, events L{InterimResponse},
L{ResponseHead}, L{BodyData}, L{EndOfResponse}) and C{_request_writer}
(L{serialize_request_head}).
"""

from ._errors import ProtocolError
from ._events import CLOSED, NEED_DATA, BodyData, EndOfRequest, RequestHead
from ._framing import Framing, decide_framing
from ._limits import Limits
from ._reader import RequestReader
from ._request_writer import serialize_request_head
from ._response import EndOfResponse, InterimResponse, ResponseHead, ResponseReader
from ._writer import (
    encode_chunk,
    encode_last_chunk,
    serialize_checked_head,
    serialize_response_head,
)

__all__ = [
    "CLOSED",
    "NEED_DATA",
    "BodyData",
    "EndOfRequest",
    "EndOfResponse",
    "InterimResponse",
    "Framing",
    "Limits",
    "ProtocolError",
    "RequestHead",
    "RequestReader",
    "ResponseHead",
    "ResponseReader",
    "decide_framing",
    "encode_chunk",
    "encode_last_chunk",
    "serialize_checked_head",
    "serialize_request_head",
    "serialize_response_head",
]
