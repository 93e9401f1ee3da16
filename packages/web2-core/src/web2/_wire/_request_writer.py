# -*- test-case-name: test_wire_response -*-
"""
The request half of the wire, for a client: a request line and header
fields as bytes.  Chunks are framed with L{web2._wire._writer.encode_chunk}
and L{web2._wire._writer.encode_last_chunk}, as a response's are.

As on the response side, everything is checked before it is written, so
that no caller can smuggle a second request into a method, a target or a
header value (CR, LF, NUL, spaces in the target).
"""

import re

from ._abnf import TOKEN
from ._writer import _fields

# origin-form, absolute-form or asterisk-form: 1*VCHAR, no space or CTL.
_TARGET = re.compile(rb"[\x21-\x7e]+")


def serialize_request_head(method, target, headers) -> bytes:
    """
    Serialize an HTTP/1.1 request line and header section.

    @param method: the method, C{bytes} or ASCII C{str}, a token.
    @param target: the request-target, C{bytes} or ASCII C{str}, without
        spaces or control characters (percent-encode them first).
    @param headers: C{(name, value)} byte pairs, written in order; the
        caller includes Host and the framing fields.
    @return: the head, ending with the empty line.
    @raise ValueError: the method, target, a name or a value could split
        or corrupt the request.
    """
    if isinstance(method, str):
        method = method.encode("ascii", "replace")
    if isinstance(target, str):
        target = target.encode("ascii", "replace")
    if not TOKEN.fullmatch(method):
        raise ValueError(f"invalid method {method!r}")
    if not _TARGET.fullmatch(target):
        raise ValueError(f"invalid request target {target!r}")
    return b"%s %s HTTP/1.1\r\n%s\r\n" % (method, target, _fields(list(headers)))
