# -*- test-case-name: test_wire_reader -*-
"""
The size limits a L{RequestReader} enforces.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """
    Size limits for one connection's requests.  Every field has a default;
    override any of them by keyword.

    @ivar max_request_line: longest request line, without its CRLF; longer
        gives 414.  Detected before the line is complete.
    @ivar max_header_bytes: most bytes of header field lines (each with its
        CRLF, without the request line and the final empty line); more gives
        431.  Detected before the head is complete.
    @ivar max_header_count: most header fields; more gives 431.
    @ivar max_body_size: most body bytes of one request, or C{None} for no
        limit; more gives 413 (up front for Content-Length, as soon as a
        chunk crosses it for chunked bodies).
    @ivar max_chunk_line: longest chunk-size line, extensions included;
        longer gives 400.
    @ivar max_trailer_bytes: most bytes of trailer field lines; more gives
        431.
    @ivar max_data_event: most bytes in one L{BodyData}, so that a large
        receive is handed on in bounded pieces.
    """

    max_request_line: int = 8192
    max_header_bytes: int = 16384
    max_header_count: int = 100
    max_body_size: int | None = None
    max_chunk_line: int = 4096
    max_trailer_bytes: int = 8192
    max_data_event: int = 262144


DEFAULT_LIMITS = Limits()
