# -*- test-case-name: test_compat_request -*-
"""
The request body of a twisted.web request: read in full, within a size
bound, into the file-like C{request.content} before traversal starts (as
twisted.web does), and the form fields of a POST parsed into
C{request.args}.
"""

from __future__ import annotations

import io
import tempfile
from email.message import Message
from email.parser import BytesParser
from urllib.parse import parse_qs

from twisted.internet import defer

from web2 import http, responsecode
from web2.stream import readStream

#: Media types whose body twisted.web parses into C{request.args}.
_URLENCODED = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"


class _BodyTooLarge(Exception):
    """
    The body turned out longer than the bound while it was being read.
    """


def _tooLarge(maxSize: int) -> http.HTTPError:
    return http.HTTPError(
        responsecode.REQUEST_ENTITY_TOO_LARGE,
        f"The request body is larger than {maxSize} bytes.",
    )


def readContent(stream, maxSize: int, spoolThreshold: int) -> defer.Deferred:
    """
    Read the whole of C{stream} into a file positioned at its start.

    @param maxSize: the largest body accepted; a longer one (declared or
        actual) fails with an L{http.HTTPError} of 413.
    @param spoolThreshold: bodies up to this size stay in memory, longer
        ones go to a temporary file.
    @return: a Deferred firing with the file.
    """
    length = stream.length
    if length is not None and length > maxSize:
        stream.close()
        return defer.fail(_tooLarge(maxSize))
    if length == 0:
        # MemoryStream(b"") of a bodyless request: nothing to wait for.
        return defer.succeed(io.BytesIO())
    if length is not None and length <= spoolThreshold:
        content = io.BytesIO()
    else:
        content = tempfile.SpooledTemporaryFile(max_size=spoolThreshold)
    received = [0]

    def gotData(data):
        received[0] += len(data)
        if received[0] > maxSize:
            raise _BodyTooLarge()
        content.write(data)

    def done(_):
        content.seek(0)
        return content

    def failed(failure):
        content.close()
        if failure.check(_BodyTooLarge):
            raise _tooLarge(maxSize)
        return failure

    return readStream(stream, gotData).addCallbacks(done, failed)


def mediaType(contentType: bytes) -> bytes:
    """
    The C{type/subtype} of a Content-Type value, lower case, without
    parameters.
    """
    return contentType.split(b";", 1)[0].strip().lower()


def formArgs(content, contentType: bytes, maxFields: int) -> dict[bytes, list[bytes]]:
    """
    The fields of a form body, as twisted.web adds them to C{request.args}:
    C{bytes} names to lists of C{bytes} values, blank values kept.

    @param content: the file holding the body, read from its start and left
        at its start.
    @param maxFields: the most fields accepted.
    @raise http.HTTPError: 400 for a malformed multipart body or too many
        fields.
    @return: an empty C{dict} for a body that is not a form.
    """
    kind = mediaType(contentType)
    if kind not in (_URLENCODED, _MULTIPART):
        return {}
    data = content.read()
    content.seek(0)
    if not data:
        return {}
    try:
        if kind == _URLENCODED:
            return parse_qs(data, keep_blank_values=True, max_num_fields=maxFields)
        return _multipartArgs(data, contentType, maxFields)
    except ValueError as e:
        raise http.HTTPError(responsecode.BAD_REQUEST, f"Malformed form body: {e}") from None


def _multipartArgs(data: bytes, contentType: bytes, maxFields: int) -> dict:
    """
    Parse a C{multipart/form-data} body with the standard library's MIME
    parser; file parts are kept as their bytes, like any other field.
    """
    head = b"MIME-Version: 1.0\r\nContent-Type: " + contentType + b"\r\n\r\n"
    message = BytesParser().parsebytes(head + data)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    args: dict[bytes, list[bytes]] = {}
    parts: list[Message] = message.get_payload()
    if len(parts) > maxFields:
        raise ValueError(f"more than {maxFields} fields")
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        if isinstance(name, tuple):  # RFC 2231 encoded
            name = name[2]
        payload = part.get_payload(decode=True)
        args.setdefault(name.encode("utf-8", "surrogateescape"), []).append(payload or b"")
    return args
