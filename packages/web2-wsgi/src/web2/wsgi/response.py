# -*- test-case-name: test_wsgi_response -*-
"""
What a WSGI application answers, checked: the status and headers given to
C{start_response}, and C{wsgi.file_wrapper}.

PEP 3333 rules enforced here (a violation is a L{WSGIResponseError}, which
the container turns into a logged 500):

  - the status is a C{str} C{"NNN Reason"} with a final status code
    (200-999) and a reason phrase of visible characters;
  - the headers are a list of C{(str, str)} tuples; names are tokens, values
    latin-1 text without CR, LF or NUL;
  - no hop-by-hop header (C{Connection}, C{Transfer-Encoding}...): framing
    and persistence belong to the server;
  - one C{Content-Length} at most, of digits only.
"""

from __future__ import annotations

import os
import re
import stat

from web2.http import Response

__all__ = [
    "HOP_BY_HOP",
    "FileWrapper",
    "ResponseHead",
    "WSGIResponse",
    "WSGIResponseError",
    "parseResponseHead",
]

#: Headers an application may not set (PEP 3333, "Other HTTP Features";
#: RFC 9110 7.6.1).
HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
))

_STATUS = re.compile(r"([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE = re.compile(r"[\r\n\0]")


class WSGIResponseError(ValueError):
    """
    The application broke a rule of PEP 3333 in its response.
    """


class ResponseHead:
    """
    A checked status and header list, ready for the wire.

    @ivar code: the status code.
    @ivar reason: the reason phrase as given, C{bytes}.
    @ivar pairs: the headers as lower-cased C{(name, value)} C{bytes} pairs,
        without C{Content-Length}.
    @ivar length: the C{Content-Length} given, or C{None}.
    """

    __slots__ = ("code", "reason", "pairs", "length")

    def __init__(self, code, reason, pairs, length):
        self.code = code
        self.reason = reason
        self.pairs = pairs
        self.length = length


def parseResponseHead(status, headers) -> ResponseHead:
    """
    Check the arguments of C{start_response}.

    @raise WSGIResponseError: they break a rule of PEP 3333.
    """
    if type(status) is not str:
        raise WSGIResponseError(f"the status must be a str, not {type(status).__name__}")
    match = _STATUS.fullmatch(status)
    if match is None:
        raise WSGIResponseError(f"malformed status {status!r}")
    code = int(match.group(1))
    if code < 200:
        raise WSGIResponseError(f"status {code}: a WSGI application cannot send 1xx")
    reason = (match.group(2) or "").encode("latin-1")
    if type(headers) is not list:
        raise WSGIResponseError(
            f"the headers must be a list, not {type(headers).__name__}")
    pairs = []
    length = None
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise WSGIResponseError(f"header {item!r} is not a (name, value) tuple")
        name, value = item
        known = _names.get(name) if type(name) is str else None
        if known is None:
            known = _checkName(name)
        wireName, lower = known
        if type(value) is not str:
            raise WSGIResponseError(
                f"the value of {name} must be a str, not {type(value).__name__}")
        if _UNSAFE.search(value):
            raise WSGIResponseError(f"CR, LF or NUL in the value of {name}")
        try:
            raw = value.strip(" \t").encode("latin-1")
        except UnicodeEncodeError:
            raise WSGIResponseError(f"the value of {name} is not latin-1 text") from None
        if wireName is None:
            if lower in HOP_BY_HOP:
                raise WSGIResponseError(f"hop-by-hop header {name} is the server's to send")
            if not raw.isdigit() or (length is not None and int(raw) != length):
                raise WSGIResponseError(f"invalid Content-Length {value!r}")
            length = int(raw)
            continue
        pairs.append((wireName, raw))
    return ResponseHead(code, reason, pairs, length)


# Header name -> (lower-cased bytes for the wire, or None for a name that
# needs a second look: hop-by-hop or Content-Length; lower-cased str).
# Applications send the same few names again and again.
_names: dict[str, tuple] = {}


def _checkName(name):
    if type(name) is not str or _TOKEN.fullmatch(name) is None:
        raise WSGIResponseError(f"invalid header name {name!r}")
    lower = name.lower()
    special = lower in HOP_BY_HOP or lower == "content-length"
    known = (None if special else lower.encode("latin-1"), lower)
    if len(_names) >= 512:
        _names.clear()
    _names[name] = known
    return known


class WSGIResponse(Response):
    """
    A response from a WSGI application.

    @ivar reason: the reason phrase the application gave (C{bytes}), for a
        channel that can send it.
    """

    reason = None


class FileWrapper:
    """
    C{wsgi.file_wrapper}: wraps a file-like object so that the container may
    send it efficiently.  Returned as is by the application, a wrapper
    around a regular file (one with a C{fileno()}) is sent from the file's
    current position with C{sendfile} where the connection allows, without
    the worker thread reading it; anything else is iterated in blocks.
    """

    def __init__(self, filelike, blksize: int = 65536):
        """
        @param filelike: an object with C{read(size)}, and maybe C{close()}
            and C{fileno()}.
        @param blksize: the size of the blocks read when iterating.
        """
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self) -> None:
        """
        Close the wrapped object, if it can be closed.
        """
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()

    def region(self, declaredLength=None):
        """
        The part of a regular file this wrapper would send.

        @param declaredLength: the C{Content-Length} the application gave,
            if any: no more than that is sent.
        @return: C{(file, offset, length)}, or C{None} when the wrapped
            object is not a regular file with a descriptor.
        """
        f = self.filelike
        try:
            fd = f.fileno()
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or "b" not in getattr(f, "mode", "b"):
                return None
            offset = f.tell()
        except (AttributeError, OSError, ValueError, TypeError):
            return None
        length = max(0, info.st_size - offset)
        if declaredLength is not None:
            length = min(length, declaredLength)
        return f, offset, length
