# -*- test-case-name: test_range -*-
"""
Byte ranges (RFC 9110 section 14) for every GET response of known length:
one range gives a 206 with Content-Range, several give a
C{multipart/byteranges} body, none satisfiable gives 416 with
C{Content-Range: bytes */length}.

Abuse is answered with the whole representation, as RFC 9110 14.2 allows:
overlapping or nearly adjacent ranges are coalesced, and a request for more
than C{MAX_RANGES} parts, or for more bytes in all than the representation
holds, is ignored.  Parts are sent in ascending order (a single pass over the
body stream), which RFC 9110 permits for coalesced sets.
"""

from __future__ import annotations

import os

from web2 import http, responsecode, stream
from web2.http_headers import HeaderParseError, MimeType

#: More parts than this and the Range header is ignored.
MAX_RANGES = 64

#: Ranges separated by fewer bytes than this are merged into one part.
COALESCE_GAP = 80


def canonicalizeRanges(ranges, size: int):
    """
    Turn parsed C{(start, end)} pairs (either may be C{None}) into sorted,
    coalesced, satisfiable C{(start, end)} pairs with inclusive ends.
    """
    result = []
    for start, end in ranges:
        if start is None:
            if not end:
                continue
            start, end = max(size - end, 0), size - 1
        else:
            if start >= size:
                continue
            end = size - 1 if end is None or end >= size else end
            if end < start:
                continue
        result.append((start, end))
    result.sort()
    merged = []
    for start, end in result:
        if merged and start <= merged[-1][1] + COALESCE_GAP:
            previous = merged[-1]
            merged[-1] = (previous[0], max(previous[1], end))
        else:
            merged.append((start, end))
    return merged


def _unsatisfiable(size: int):
    response = http.StatusResponse(
        responsecode.REQUESTED_RANGE_NOT_SATISFIABLE,
        "None of the requested ranges overlaps the representation.",
    )
    response.headers.setRawHeaders("content-range", [f"bytes */{size}"])
    return response


def _slice(body, start: int, length: int):
    """
    Cut C{length} bytes at C{start} out of C{body}; the rest is closed.
    """
    if start:
        before, body = body.split(start)
        before.close()
    if body.length is not None and body.length > length:
        body, after = body.split(length)
        after.close()
    return body


def rangefilter(request, response):
    """
    Honour a Range header on a 200 response to GET with a body of known
    length; advertise C{Accept-Ranges: bytes} on every such response.
    """
    body = response.stream
    if (
        response.code != responsecode.OK
        or body is None
        or body.length is None
        or request.method not in ("GET", "HEAD")
    ):
        return response
    headers = response.headers
    headers._setTrusted("accept-ranges", "bytes")
    # Range handling is defined for GET only; HEAD must ignore the field
    # (RFC 9110 14.2) while still advertising Accept-Ranges as GET would.
    if request.method != "GET" or not request.headers.hasHeader("range"):
        return response
    try:
        unit, ranges = request.headers.getHeader("range")
    except (HeaderParseError, TypeError, ValueError):
        return response
    if unit != "bytes" or not http.checkIfRange(request, response):
        return response
    size = body.length
    parts = canonicalizeRanges(ranges, size)
    if not parts:
        if size == 0 or request.headers.hasHeader("if-range"):
            return response
        body.close()
        return _unsatisfiable(size)
    if len(parts) > MAX_RANGES or sum(e - s + 1 for s, e in parts) > size:
        return response
    if len(parts) == 1:
        start, end = parts[0]
        if start == 0 and end == size - 1:
            return response
        response.code = responsecode.PARTIAL_CONTENT
        response.stream = _slice(body, start, end - start + 1)
        headers.setRawHeaders("content-range", [f"bytes {start}-{end}/{size}"])
        return response
    return _multipart(response, body, parts, size)


def _multipart(response, body, parts, size):
    boundary = os.urandom(12).hex()
    headers = response.headers
    contentType = headers.getRawHeaders("content-type")
    compound = stream.CompoundStream()
    position = 0
    for start, end in parts:
        head = f"\r\n--{boundary}\r\n"
        if contentType:
            head += f"Content-Type: {contentType[0]}\r\n"
        head += f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n"
        compound.addStream(stream.MemoryStream(head.encode("latin-1")))
        if start > position:
            skipped, body = body.split(start - position)
            skipped.close()
        length = end - start + 1
        if body.length is not None and body.length > length:
            part, body = body.split(length)
        else:
            part = body
        compound.addStream(part)
        position = end + 1
    if position < size:
        body.close()
    compound.addStream(stream.MemoryStream(f"\r\n--{boundary}--\r\n".encode("latin-1")))
    response.code = responsecode.PARTIAL_CONTENT
    response.stream = compound
    headers.setHeader(
        "content-type", MimeType("multipart", "byteranges", {"boundary": boundary})
    )
    headers.removeHeader("content-range")
    return response
