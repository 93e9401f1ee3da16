# -*- test-case-name: test_wire_writer -*-
"""
The response half of the wire: a status line and header fields, chunks and
the last chunk, as bytes.

Every name and value is checked before it is written, so that no caller can
split a response by smuggling CR, LF or NUL into a header (response
splitting) or write a field name that is not a token.
"""

from web2.responsecode import RESPONSES

from ._abnf import FIELD_VALUE_FORBIDDEN, REASON_PHRASE, TOKEN, TOKEN_LIST

# "HTTP/1.1 200 OK\r\n" for every registered status.
_STATUS_LINES = {
    code: b"HTTP/1.1 %d %s\r\n" % (code, phrase.encode("ascii"))
    for code, phrase in RESPONSES.items()
}


def _fields(headers) -> bytes:
    """
    Serialize and check field lines.

    @raise ValueError: a name is not a token or a value holds a CTL other
        than HTAB (in particular CR, LF or NUL).
    """
    if not headers:
        return b""
    try:
        names = b",".join([name for name, _ in headers])
        values = b"".join([value for _, value in headers])
    except TypeError:
        raise ValueError("header names and values must be bytes") from None
    if not TOKEN_LIST.fullmatch(names) or FIELD_VALUE_FORBIDDEN.search(values):
        for name, value in headers:
            if not TOKEN.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            if FIELD_VALUE_FORBIDDEN.search(value):
                raise ValueError(f"invalid character in header value {value!r}")
    return b"".join([name + b": " + value + b"\r\n" for name, value in headers])


def serialize_response_head(
    status: int,
    headers: list[tuple[bytes, bytes]],
    reason: bytes | None = None,
    checked: bool = False,
) -> bytes:
    """
    Serialize a response status line and header section.

    @param status: a three-digit status code.
    @param headers: C{(name, value)} byte pairs, written in order.
    @param reason: the reason phrase; by default the registered one (empty
        for an unregistered status).
    @return: the head, ending with the empty line.
    @param checked: the caller guarantees every name is a token and no
        value holds a CTL other than HTAB (L{web2.http_headers.Headers}
        checks on every way in), so the fields are not scanned again.
    @raise ValueError: the status is not three digits, or the reason, a
        name or a value could split or corrupt the response.
    """
    if type(status) is not int or not 100 <= status <= 999:
        raise ValueError(f"invalid status {status!r}")
    if reason is None:
        line = _STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status
    else:
        if not isinstance(reason, bytes) or not REASON_PHRASE.fullmatch(reason):
            raise ValueError(f"invalid reason phrase {reason!r}")
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    if checked:
        return line + b"".join([n + b": " + v + b"\r\n" for n, v in headers]) + b"\r\n"
    return line + _fields(headers) + b"\r\n"


def serialize_checked_head(status: int, fields: str, reason: bytes | None = None) -> bytes:
    """
    Serialize a response head whose field lines were checked by the caller
    and joined as text: one encoding of the whole head, no pass over the
    fields.

    @param status: a three-digit status code (the registered reason
        phrase is used).
    @param fields: the field lines as C{str}, each C{"Name: value\\r\\n"};
        the caller guarantees that every name is a token and that every
        value is latin-1 text free of CTLs but HTAB (as
        L{web2.http_headers.Headers} does).
    @param reason: a reason phrase of the application's own (checked: it is
        not trusted), or C{None} for the registered one.
    @raise ValueError: the status is not three digits, or the reason could
        split or corrupt the response.
    """
    if reason is not None:
        if type(status) is not int or not 100 <= status <= 999:
            raise ValueError(f"invalid status {status!r}")
        if not isinstance(reason, bytes) or not REASON_PHRASE.fullmatch(reason):
            raise ValueError(f"invalid reason phrase {reason!r}")
        return b"HTTP/1.1 %d %s\r\n" % (status, reason) + fields.encode("latin-1") + b"\r\n"
    line = _STATUS_LINES.get(status) if type(status) is int else None
    if line is None:
        if type(status) is not int or not 100 <= status <= 999:
            raise ValueError(f"invalid status {status!r}")
        line = b"HTTP/1.1 %d \r\n" % status
    return line + fields.encode("latin-1") + b"\r\n"


def encode_chunk(data: bytes) -> bytes:
    """
    Frame C{data} as one chunk.  Empty data gives C{b""}, so that an empty
    write never ends the body by accident.
    """
    if not data:
        return b""
    return b"".join((b"%x\r\n" % len(data), data, b"\r\n"))


def encode_last_chunk(trailers=()) -> bytes:
    """
    The last chunk, with optional trailer fields, ending a chunked body.

    @raise ValueError: as for L{serialize_response_head}.
    """
    if not trailers:
        return b"0\r\n\r\n"
    return b"0\r\n" + _fields(list(trailers)) + b"\r\n"
