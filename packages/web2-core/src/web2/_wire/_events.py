# -*- test-case-name: test_wire_reader -*-
"""
The events a L{RequestReader} gives, and its two sentinels.

Events are plain classes with C{__slots__}: cheap to build, never copied.
Equality compares all fields, which the tests rely on.
"""


class _Event:
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__)
        return f"{type(self).__name__}({fields})"

    __hash__ = None  # type: ignore[assignment]


class RequestHead(_Event):
    """
    A request line and its header fields, with the framing facts derived
    from them.

    @ivar method: the method token, case-sensitive.
    @ivar target: the request-target as sent (ASCII).
    @ivar version: C{(1, 1)} or C{(1, 0)}.
    @ivar headers: C{(name, value)} byte pairs in arrival order; names
        lower-cased, values without surrounding whitespace.  Hop-by-hop
        fields are included.
    @ivar content_length: the body length, C{None} when chunked.
    @ivar chunked: whether the body is chunked.
    @ivar keep_alive: whether the client allows another request on the
        connection after this one.
    @ivar expect_continue: the client sent C{Expect: 100-continue} (HTTP/1.1).
    @ivar host: the Host, or the absolute-form target's authority, or the
        CONNECT target; C{None} for an HTTP/1.0 request without one.
    @ivar connection: the lower-cased tokens of the Connection fields.
    @ivar upgrade: the Upgrade field value, recorded only.
    """

    __slots__ = (
        "method",
        "target",
        "version",
        "headers",
        "content_length",
        "chunked",
        "keep_alive",
        "expect_continue",
        "host",
        "connection",
        "upgrade",
    )

    def __init__(
        self,
        method: str,
        target: str,
        version: tuple[int, int],
        headers: list[tuple[bytes, bytes]],
        content_length: int | None,
        chunked: bool,
        keep_alive: bool,
        expect_continue: bool,
        host: bytes | None,
        connection: frozenset[bytes],
        upgrade: bytes | None,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.content_length = content_length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.host = host
        self.connection = connection
        self.upgrade = upgrade


class BodyData(_Event):
    """
    Some bytes of a request body, as many as had arrived (at most
    L{Limits.max_data_event}).  Never empty.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class EndOfRequest(_Event):
    """
    The end of a request body.

    @ivar trailers: the trailer fields of a chunked body, parsed like
        headers; empty otherwise.
    """

    __slots__ = ("trailers",)

    def __init__(self, trailers: list[tuple[bytes, bytes]]) -> None:
        self.trailers = trailers


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


#: No event can be made from the bytes received so far.
NEED_DATA = _Sentinel("NEED_DATA")

#: The connection is done: the peer closed at a message boundary, or the
#: last request did not allow another one.
CLOSED = _Sentinel("CLOSED")
