"""
Tests for L{web2._wire}'s request reader: request line, header fields,
framing facts, limits, pipelining and end of input.
"""

import pytest

from web2._wire import (
    CLOSED,
    NEED_DATA,
    BodyData,
    EndOfRequest,
    Limits,
    ProtocolError,
    RequestHead,
    RequestReader,
    _head,
)


def events(data, limits=None, eof=False):
    """
    Feed C{data} to a new reader and return every event up to and including
    the first L{NEED_DATA} or L{CLOSED}.
    """
    reader = RequestReader(limits)
    reader.receive(data)
    if eof:
        reader.receive_eof()
    out = []
    while True:
        event = reader.next_event()
        out.append(event)
        if event is NEED_DATA or event is CLOSED:
            return out


def head(data, limits=None):
    """
    The first event of C{data}, which must be a L{RequestHead}.
    """
    event = events(data, limits)[0]
    assert isinstance(event, RequestHead), event
    return event


def error(data, limits=None, eof=False):
    """
    The L{ProtocolError} that C{data} raises.
    """
    with pytest.raises(ProtocolError) as info:
        events(data, limits, eof)
    return info.value


def req(line=b"GET / HTTP/1.1", *fields, host=True):
    """
    A request head from a request line and field lines.
    """
    lines = [line]
    if host:
        lines.append(b"Host: example.com")
    lines.extend(fields)
    return b"\r\n".join(lines) + b"\r\n\r\n"


# --- the happy path ---------------------------------------------------------


def test_simpleGet():
    """
    A GET without a body gives its head, then EndOfRequest, then NEED_DATA.
    """
    out = events(b"GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Foo:  bar baz \t\r\n\r\n")
    assert out == [
        RequestHead(
            "GET",
            "/a?b=c",
            (1, 1),
            [(b"host", b"h"), (b"x-foo", b"bar baz")],
            0,
            False,
            True,
            False,
            b"h",
            frozenset(),
            None,
        ),
        EndOfRequest([]),
        NEED_DATA,
    ]


def test_headersKeepOrderCaseAndDuplicates():
    """
    Names are lower-cased, values keep their case, order and duplicates are
    kept, hop-by-hop fields are included, and obs-text is allowed in values.
    """
    h = head(
        req(
            b"GET / HTTP/1.1",
            b"Accept: A",
            b"X-A: 1",
            b"accept: B",
            b"Connection: close",
            b"X-Latin: caf\xe9",
        )
    )
    assert h.headers == [
        (b"host", b"example.com"),
        (b"accept", b"A"),
        (b"x-a", b"1"),
        (b"accept", b"B"),
        (b"connection", b"close"),
        (b"x-latin", b"caf\xe9"),
    ]


def test_emptyValue():
    """
    An empty field value is allowed.
    """
    assert head(req(b"GET / HTTP/1.1", b"X-Empty:", b"X-Sp:   ")).headers[1:] == [
        (b"x-empty", b""),
        (b"x-sp", b""),
    ]


def test_methodIsCaseSensitiveToken():
    """
    Any token is a method, kept as sent.
    """
    assert head(req(b"get / HTTP/1.1")).method == "get"
    assert head(req(b"M-SEARCH / HTTP/1.1")).method == "M-SEARCH"


def test_http10():
    """
    HTTP/1.0 needs no Host and defaults to no keep-alive.
    """
    h = head(b"GET / HTTP/1.0\r\n\r\n")
    assert (h.version, h.keep_alive, h.host) == ((1, 0), False, None)
    h = head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    assert h.keep_alive is True
    assert h.connection == frozenset([b"keep-alive"])


def test_http11KeepAlive():
    """
    HTTP/1.1 keeps alive unless a Connection token is "close".
    """
    assert head(req()).keep_alive is True
    h = head(req(b"GET / HTTP/1.1", b"Connection: Upgrade, CLOSE", b"Connection: te"))
    assert h.keep_alive is False
    assert h.connection == frozenset([b"upgrade", b"close", b"te"])


def test_higherMinorVersionIsOneOne():
    """
    HTTP/1.2 is processed as HTTP/1.1 (RFC 9110 section 2.5).
    """
    assert head(req(b"GET / HTTP/1.2")).version == (1, 1)


def test_upgradeRecorded():
    """
    Upgrade is recorded as sent.
    """
    h = head(req(b"GET / HTTP/1.1", b"Connection: upgrade", b"Upgrade: websocket"))
    assert h.upgrade == b"websocket"
    assert head(req()).upgrade is None


def test_leadingEmptyLines():
    """
    A few empty lines before a request line are skipped, also split across
    receives; too many is a 400.
    """
    assert head(b"\r\n\r\n" + req()).method == "GET"
    reader = RequestReader()
    reader.receive(b"\r\n")
    assert reader.next_event() is NEED_DATA
    reader.receive(b"\r")
    assert reader.next_event() is NEED_DATA
    reader.receive(b"\n" + req())
    assert isinstance(reader.next_event(), RequestHead)
    assert error(b"\r\n" * 5 + req()).status == 400


# --- request line ----------------------------------------------------------


@pytest.mark.parametrize(
    "line, status",
    [
        (b"GET  / HTTP/1.1", 400),
        (b"GET / HTTP/1.1 ", 400),
        (b" GET / HTTP/1.1", 400),
        (b"GET /  HTTP/1.1", 400),
        (b"GET\t/ HTTP/1.1", 400),
        (b"G(T / HTTP/1.1", 400),
        (b"GET /a b HTTP/1.1", 400),
        (b"GET /caf\xc3\xa9 HTTP/1.1", 400),
        (b"GET /\x7f HTTP/1.1", 400),
        (b"GET /\x00 HTTP/1.1", 400),
        (b"GET /", 400),
        (b"GET / HTTP/1", 400),
        (b"GET / HTTP/1.1.1", 400),
        (b"GET / http/1.1", 400),
        (b"GET / HTTP/11", 400),
        (b"GET / HTTP/1.x", 400),
        (b"GET / HTTP/10.0", 400),
        (b"GET / HTTP/2.0", 505),
        (b"GET / HTTP/3.0", 505),
        (b"GET / HTTP/0.9", 505),
        (b"PRI * HTTP/2.0", 505),
        (b"GET * HTTP/1.1", 400),
        (b"GET example.com:443 HTTP/1.1", 400),
        (b"CONNECT /path HTTP/1.1", 400),
        (b"CONNECT http://a/ HTTP/1.1", 400),
        (b"CONNECT example.com HTTP/1.1", 400),
        (b"CONNECT user@example.com:443 HTTP/1.1", 400),
        (b"GET http:///x HTTP/1.1", 400),
        (b"GET http://u@evil/x HTTP/1.1", 400),
        (b"GET relative/path HTTP/1.1", 400),
    ],
)
def test_badRequestLine(line, status):
    """
    A malformed request line is a 400, an unsupported version a 505.
    """
    err = error(req(line))
    assert err.status == status, err


def test_badRequestLineRefusedBeforeHeadEnds():
    """
    A bad request line is refused as soon as it is complete, without waiting
    for the header section.
    """
    reader = RequestReader()
    reader.receive(b"GET / HTTP/9.9\r\nHost: a\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    assert info.value.status == 505
    reader = RequestReader()
    reader.receive(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n")
    with pytest.raises(ProtocolError):
        reader.next_event()


def test_targetForms():
    """
    Origin-form, absolute-form (whose authority is the host),
    asterisk-form for OPTIONS and authority-form for CONNECT are accepted.
    """
    assert head(req(b"GET /x HTTP/1.1")).host == b"example.com"
    h = head(req(b"GET http://other.example:81/p?q HTTP/1.1"))
    assert (h.target, h.host) == ("http://other.example:81/p?q", b"other.example:81")
    h = head(req(b"OPTIONS * HTTP/1.1"))
    assert (h.target, h.host) == ("*", b"example.com")
    h = head(req(b"CONNECT example.com:443 HTTP/1.1"))
    assert h.host == b"example.com:443"
    assert head(req(b"CONNECT [::1]:8443 HTTP/1.1")).host == b"[::1]:8443"


def test_requestLineTooLong():
    """
    A request line over the limit is a 414, complete or not, and the
    reader does not wait for its CRLF.
    """
    limits = Limits(max_request_line=35)
    assert (
        head(req(b"GET /" + b"a" * 21 + b" HTTP/1.1"), limits).target == "/" + "a" * 21
    )
    assert error(req(b"GET /" + b"a" * 22 + b" HTTP/1.1"), limits).status == 414
    reader = RequestReader(limits)
    reader.receive(b"GET /" + b"a" * 31)
    assert reader.next_event() is NEED_DATA
    reader.receive(b"a")
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    assert info.value.status == 414


def test_requestLineAtLimitWithCRArriving():
    """
    A line of exactly the limit whose CR and LF arrive separately is fine.
    """
    limits = Limits(max_request_line=17)
    reader = RequestReader(limits)
    reader.receive(b"GET /abc HTTP/1.1\r")
    assert reader.next_event() is NEED_DATA
    reader.receive(b"\nHost: a\r\n\r\n")
    assert reader.next_event().target == "/abc"


# --- line endings and field syntax -----------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
        b"GET / HTTP/1.1\rHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: y\n\r\n\r\n",
    ],
)
def test_bareLineEnds(data):
    """
    A bare LF or bare CR anywhere in a head is a 400 (strict line endings).
    """
    assert error(data).status == 400


@pytest.mark.parametrize(
    "data",
    [b"GET / HTTP/1.1\nHost: a\n\n", b"GET / HTTP/1.1\r\nHost: a\n", b"GET /\rx"],
)
def test_bareLineEndsRefusedEarly(data):
    """
    A bare LF or CR is refused before the head is complete, so a client that
    ends lines with LF alone gets an answer instead of a hang.
    """
    reader = RequestReader()
    reader.receive(data)
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    assert info.value.status == 400


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"X : y", "whitespace between field name and colon"),
        (b"X\t: y", "whitespace between field name and colon"),
        (b": y", "empty field name"),
        (b"X y: z", "field name is not a token"),
        (b"X\xe9: z", "field name is not a token"),
        (b"Xy", "line without a colon"),
        (b" folded", "obs-fold"),
        (b"\tfolded", "obs-fold"),
        (b"X: a\x00b", "control character"),
        (b"X: a\x01b", "control character"),
        (b"X: a\x7fb", "control character"),
        (b"X: a\x1bb", "control character"),
    ],
)
def test_badFieldLine(line, reason):
    """
    Each malformed field line is a 400 naming the fault.
    """
    err = error(req(b"GET / HTTP/1.1", b"X-A: 1", line))
    assert err.status == 400
    assert reason in err.reason


def test_tabInValue():
    """
    HTAB is allowed inside a value.
    """
    assert head(req(b"GET / HTTP/1.1", b"X: a\tb")).headers[1] == (b"x", b"a\tb")


def test_headerSectionTooLarge():
    """
    Header bytes over the limit are a 431, detected before the head ends.
    """
    limits = Limits(max_header_bytes=64)
    ok = b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 50 + b"\r\n\r\n"
    assert head(ok, limits).headers[1] == (b"x", b"v" * 50)
    assert error(ok.replace(b"X: ", b"X: v"), limits).status == 431
    reader = RequestReader(limits)
    reader.receive(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 50)
    assert reader.next_event() is NEED_DATA
    reader.receive(b"v" * 20)
    with pytest.raises(ProtocolError) as info:
        reader.next_event()
    assert info.value.status == 431


def test_tooManyHeaders():
    """
    More fields than max_header_count is a 431.
    """
    limits = Limits(max_header_count=3)
    assert len(head(req(b"GET / HTTP/1.1", b"A: 1", b"B: 2"), limits).headers) == 3
    assert (
        error(req(b"GET / HTTP/1.1", b"A: 1", b"B: 2", b"C: 3"), limits).status == 431
    )


# --- Host --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        req(host=False),
        req(b"GET http://a/ HTTP/1.1", host=False),
        req(b"GET / HTTP/1.1", b"Host: other"),
        req(b"GET / HTTP/1.0", b"Host: other"),
        req(b"GET / HTTP/1.1", b"X: 1", host=False) + b"",
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a?b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\xe9\r\n\r\n",
    ],
)
def test_badHost(data):
    """
    HTTP/1.1 without Host, several Host fields, or a Host that is not a
    host[:port] are 400s.
    """
    assert error(data).status == 400


def test_hostValues():
    """
    IPv6 literals, ports and the empty Host are accepted.
    """
    assert head(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").host == b"[::1]:8080"
    assert head(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").host == b""
    assert head(b"GET / HTTP/1.0\r\nHost: a:1\r\n\r\n").host == b"a:1"


# --- Expect ------------------------------------------------------------------


def test_expectContinue():
    """
    Expect: 100-continue (any case) sets expect_continue on HTTP/1.1 only.
    """
    assert head(req(b"GET / HTTP/1.1", b"Expect: 100-Continue")).expect_continue
    assert not head(req()).expect_continue
    h = head(b"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n")
    assert not h.expect_continue


def test_otherExpectation():
    """
    Any other expectation is a 417 on HTTP/1.1 and ignored on HTTP/1.0.
    """
    assert error(req(b"GET / HTTP/1.1", b"Expect: 200-ok")).status == 417
    assert error(req(b"GET / HTTP/1.1", b"Expect: 100-continue, x")).status == 417
    assert head(b"GET / HTTP/1.0\r\nExpect: nonsense\r\n\r\n").version == (1, 0)


# --- Content-Length / Transfer-Encoding semantics ------------------------------


def test_contentLengthForms():
    """
    Content-Length is 1*DIGIT; identical repeated values collapse.
    """
    assert head(req(b"POST / HTTP/1.1", b"Content-Length: 5")).content_length == 5
    assert head(req(b"POST / HTTP/1.1", b"Content-Length: 5, 5")).content_length == 5
    h = head(req(b"POST / HTTP/1.1", b"Content-Length: 5", b"Content-Length: 005"))
    assert h.content_length == 5
    assert head(req(b"POST / HTTP/1.1", b"Content-Length: 0")).content_length == 0
    assert head(req()).content_length == 0


def test_contentLengthOverLimit():
    """
    A Content-Length over max_body_size is a 413 before any body is read.
    """
    limits = Limits(max_body_size=10)
    assert (
        head(req(b"POST / HTTP/1.1", b"Content-Length: 10"), limits).content_length
        == 10
    )
    assert error(req(b"POST / HTTP/1.1", b"Content-Length: 11"), limits).status == 413


def test_chunkedHead():
    """
    Transfer-Encoding: chunked (any case, possibly over several fields after
    empty list elements) gives chunked framing and no content length.
    """
    h = head(req(b"POST / HTTP/1.1", b"Transfer-Encoding: ChUnKeD"))
    assert (h.chunked, h.content_length) == (True, None)
    h = head(
        req(b"POST / HTTP/1.1", b"Transfer-Encoding: ,", b"Transfer-Encoding: chunked")
    )
    assert h.chunked


def test_transferCodingNotImplemented():
    """
    A coding other than chunked before chunked is a 501.
    """
    assert (
        error(req(b"POST / HTTP/1.1", b"Transfer-Encoding: gzip, chunked")).status
        == 501
    )
    err = error(
        req(
            b"POST / HTTP/1.1",
            b"Transfer-Encoding: gzip",
            b"Transfer-Encoding: chunked",
        )
    )
    assert err.status == 501


# --- pipelining, keep-alive and end of input ------------------------------------


def test_pipelined():
    """
    Sixteen pipelined requests in one buffer give sixteen heads in order.
    """
    data = b"".join(req(b"GET /%d HTTP/1.1" % i) for i in range(16))
    out = events(data)
    heads = [e for e in out if isinstance(e, RequestHead)]
    assert [h.target for h in heads] == [f"/{i}" for i in range(16)]
    assert len(out) == 33 and out[-1] is NEED_DATA


def test_pipelinedSplitAcrossReceives():
    """
    A head split over receives after earlier requests is found once whole.
    """
    reader = RequestReader()
    data = req(b"GET /1 HTTP/1.1") + req(b"GET /2 HTTP/1.1")
    reader.receive(data[:-7])
    assert reader.next_event().target == "/1"
    assert isinstance(reader.next_event(), EndOfRequest)
    assert reader.next_event() is NEED_DATA
    assert reader.buffered == len(req(b"GET /2 HTTP/1.1")) - 7
    reader.receive(data[-7:])
    assert reader.next_event().target == "/2"


def test_closeAfterNonKeepAlive():
    """
    After a request without keep-alive, the reader is CLOSED and drops
    later bytes.
    """
    data = req(b"GET / HTTP/1.1", b"Connection: close") + req()
    out = events(data)
    assert [type(e) for e in out[:2]] == [RequestHead, EndOfRequest]
    assert out[2] is CLOSED
    reader = RequestReader()
    reader.receive(data)
    reader.next_event(), reader.next_event()
    assert reader.next_event() is CLOSED
    assert reader.buffered == 0
    reader.receive(b"more")
    assert reader.buffered == 0
    assert reader.next_event() is CLOSED


def test_eofAtBoundary():
    """
    End of input before any byte, or after a complete request, is CLOSED.
    """
    assert events(b"", eof=True) == [CLOSED]
    assert events(req(), eof=True)[1:] == [EndOfRequest([]), CLOSED]
    assert events(b"\r\n", eof=True) == [CLOSED]


@pytest.mark.parametrize("data", [b"G", b"GET / HTTP/1.1\r\n", req()[:-1]])
def test_eofInHead(data):
    """
    End of input in the middle of a head is a 400.
    """
    assert error(data, eof=True).status == 400


def test_errorIsFinal():
    """
    After a ProtocolError every next_event raises the same error, and
    received bytes are dropped.
    """
    reader = RequestReader()
    reader.receive(b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n")
    with pytest.raises(ProtocolError) as first:
        reader.next_event()
    reader.receive(req())
    assert reader.buffered == 0
    with pytest.raises(ProtocolError) as second:
        reader.next_event()
    assert second.value is first.value
    assert (first.value.status, str(first.value)) == (400, "400 " + first.value.reason)


def test_byteByByte():
    """
    A request fed one byte at a time gives the same events as all at once.
    """
    data = (
        req(b"POST /x HTTP/1.1", b"Content-Length: 3")
        + b"abc"
        + req(b"GET /y HTTP/1.1")
    )
    reader = RequestReader()
    got = []
    for i in range(len(data)):
        reader.receive(data[i : i + 1])
        while (event := reader.next_event()) is not NEED_DATA:
            got.append(event)
    assert [type(e) for e in got] == [
        RequestHead,
        BodyData,
        BodyData,
        BodyData,
        EndOfRequest,
        RequestHead,
        EndOfRequest,
    ]
    assert b"".join(e.data for e in got if isinstance(e, BodyData)) == b"abc"


def test_receiveCompactsBuffer():
    """
    A long run of pipelined requests received in small pieces, parsed as
    they come, keeps the buffer small.
    """
    reader = RequestReader()
    one = req(b"GET / HTTP/1.1", b"X-Pad: " + b"p" * 200)
    stream = one * 2000
    seen = 0
    for i in range(0, len(stream), 1000):
        reader.receive(stream[i : i + 1000])
        while (event := reader.next_event()) is not NEED_DATA:
            seen += isinstance(event, RequestHead)
        assert reader.buffered < len(one)
    assert seen == 2000
    assert len(reader._buf) < 70000 + 2000


def test_receiveAcceptsBytesLike():
    """
    bytearray and memoryview input are accepted.
    """
    reader = RequestReader()
    reader.receive(bytearray(b"GET / HTTP/1.1\r\n"))
    reader.receive(memoryview(b"Host: a\r\n\r\n"))
    assert reader.next_event().host == b"a"


def test_limitsDefaults():
    """
    Limits has the documented defaults and is frozen.
    """
    limits = Limits()
    assert (
        limits.max_request_line,
        limits.max_header_bytes,
        limits.max_header_count,
        limits.max_body_size,
        limits.max_chunk_line,
        limits.max_trailer_bytes,
    ) == (8192, 16384, 100, None, 4096, 8192)
    with pytest.raises(AttributeError):
        limits.max_header_count = 1


def test_noTwistedImports():
    """
    The wire layer imports nothing from Twisted (it is sans-I/O).
    """
    import ast
    import pathlib

    import web2._wire

    modules = list(pathlib.Path(web2._wire.__file__).parent.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in ("twisted", "zope") for n in names), path


# --- the header-section cache ---------------------------------------------------


@pytest.fixture
def coldSections():
    """
    Start and end with no header section remembered.
    """
    _head._sections.clear()
    _head._seen.clear()
    yield
    _head._sections.clear()
    _head._seen.clear()


def test_sectionRememberedOnSecondSighting(coldSections):
    """
    A header section is remembered the second time it is parsed, not the
    first (so that a stream of sections seen once costs no memory), and a
    remembered one gives an equal head.
    """
    data = req(b"GET /a HTTP/1.1", b"Accept: */*")
    block = b"Host: example.com\r\nAccept: */*\r\n"
    first = head(data)
    assert block not in _head._sections and block in _head._seen
    second = head(data)
    assert block in _head._sections
    third = head(data)
    assert first == second == third


def test_sectionSharedAcrossRequestLines(coldSections):
    """
    One remembered section serves requests of other methods, targets and
    versions, each head getting what its own request line implies.
    """
    fields = (b"Connection: keep-alive", b"X-A: 1")
    for _ in range(3):
        h11 = head(req(b"GET /a HTTP/1.1", *fields))
        h10 = head(req(b"GET /b HTTP/1.0", *fields))
        absolute = head(req(b"OPTIONS http://other:81/c HTTP/1.1", *fields))
        assert (h11.target, h11.version, h11.keep_alive, h11.host) == (
            "/a", (1, 1), True, b"example.com",
        )
        assert (h10.target, h10.version, h10.keep_alive) == ("/b", (1, 0), True)
        assert (absolute.method, absolute.host) == ("OPTIONS", b"other:81")
        assert h11.connection == h10.connection == frozenset([b"keep-alive"])
    closing = (b"Connection: close",)
    for _ in range(3):
        assert head(req(b"GET / HTTP/1.1", *closing)).keep_alive is False
        assert head(req(b"GET / HTTP/1.0", *closing)).keep_alive is False
    for _ in range(3):
        assert head(req(b"GET / HTTP/1.1")).keep_alive is True
        assert head(req(b"GET / HTTP/1.0")).keep_alive is False


def test_rememberedSectionHeadsAreSeparate(coldSections):
    """
    Each head from a remembered section has a field list of its own:
    changing one changes neither the cache nor the next head.
    """
    data = req(b"GET / HTTP/1.1", b"X-A: 1")
    heads = [head(data) for _ in range(3)]
    heads[2].headers.append((b"x-evil", b"1"))
    heads[2].headers[0] = (b"host", b"evil")
    assert head(data).headers == [(b"host", b"example.com"), (b"x-a", b"1")]
    assert heads[1].headers is not heads[2].headers


def test_rememberedSectionHonoursFieldCount(coldSections):
    """
    A section remembered under generous limits is still refused, with 431,
    where the limits in force allow fewer fields.
    """
    data = req(b"GET / HTTP/1.1", b"A: 1", b"B: 2")
    for _ in range(3):
        head(data)
    assert error(data, Limits(max_header_count=2)).status == 431
    assert len(head(data, Limits(max_header_count=3)).headers) == 3


def test_invalidSectionsNotRemembered(coldSections):
    """
    A section that fails is refused every time and never remembered.
    """
    data = b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"
    for _ in range(3):
        assert error(data).status == 400
    assert not _head._sections and not _head._seen


def test_sectionCacheBounded(coldSections):
    """
    However many different sections arrive, the cache holds a bounded
    number, and a section over the size bound is never held.
    """
    for i in range(3 * _head._SECTION_CACHE_SIZE):
        for _ in range(2):
            head(req(b"GET / HTTP/1.1", b"X-N: %d" % i))
    assert 0 < len(_head._sections) <= _head._SECTION_CACHE_SIZE
    assert len(_head._seen) <= _head._SECTION_CACHE_SIZE
    big = req(b"GET / HTTP/1.1", b"X-Big: " + b"b" * _head._MAX_CACHED_SECTION)
    for _ in range(3):
        head(big)
    assert all(len(block) <= _head._MAX_CACHED_SECTION for block in _head._sections)
    assert all(len(block) <= _head._MAX_CACHED_SECTION for block in _head._seen)
