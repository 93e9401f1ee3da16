# -*- test-case-name: test_wire_writer -*-
"""
L{decide_framing}: how a response body is delimited, and whether the
connection persists after it (RFC 9112 sections 6.1-6.3 and 9.3).
"""

from typing import NamedTuple


class Framing(NamedTuple):
    """
    How to send one response body.

    @ivar mode: C{"none"} (no body bytes at all), C{"length"}
        (Content-Length), C{"chunked"}, or C{"close"} (the body runs until
        the connection closes).
    @ivar keep_alive: whether the connection may carry another request.
    """

    mode: str
    keep_alive: bool


_NONE = {True: Framing("none", True), False: Framing("none", False)}
_LENGTH = {True: Framing("length", True), False: Framing("length", False)}
_CHUNKED = {True: Framing("chunked", True), False: Framing("chunked", False)}
_CLOSE = Framing("close", False)

# Statuses whose responses never have a body (RFC 9110 sections 15.2,
# 15.3.5, 15.4.5).
_BODYLESS = frozenset([204, 304])


def decide_framing(
    method: str,
    version: tuple[int, int],
    keep_alive: bool,
    status: int,
    content_length: int | None,
) -> Framing:
    """
    Choose the framing of a response.

    @param method: the request method.
    @param version: the request version, C{(1, 1)} or C{(1, 0)}.
    @param keep_alive: whether the request allowed keep-alive.
    @param status: the response status.
    @param content_length: the body length if known, else C{None}.
    @return: a L{Framing}.  HEAD, 1xx, 204 and 304 get C{"none"} (the
        caller may still send Content-Length for HEAD); a known length gets
        C{"length"}; an unknown length gets C{"chunked"} for an HTTP/1.1
        client and C{"close"} (without keep-alive) for HTTP/1.0.
        A 2xx answer to CONNECT would open a tunnel, which web2 does not
        support (upper layers should answer CONNECT with 501): it gets
        C{"none"} without keep-alive, so the connection closes after the
        head instead of carrying unframed bytes.
    """
    if method == "CONNECT" and 200 <= status < 300:
        return _NONE[False]
    if method == "HEAD" or status < 200 or status in _BODYLESS:
        return _NONE[keep_alive]
    if content_length is not None:
        return _LENGTH[keep_alive]
    if version >= (1, 1):
        return _CHUNKED[keep_alive]
    return _CLOSE
