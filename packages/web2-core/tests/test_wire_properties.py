"""
Property tests for L{web2._wire.RequestReader}: any valid request parses
the same however its bytes are split, pipelined requests parse as a
sequence, and arbitrary bytes only ever raise L{ProtocolError}, terminate,
and stay within the limits.
"""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from web2._wire._reader import MAX_EMPTY_LINES

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

TCHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
VCHARS = "".join(chr(c) for c in range(0x21, 0x7F))
VALUE_CHARS = VCHARS + "".join(chr(c) for c in range(0x80, 0x100)) + " \t"
SPECIAL = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "expect",
    "upgrade",
}

tokens = st.text(alphabet=TCHARS, min_size=1, max_size=10)
field_names = tokens.filter(lambda n: n.lower() not in SPECIAL)
field_values = st.text(alphabet=VALUE_CHARS, max_size=20).map(
    lambda v: v.strip(" \t").encode("latin-1")
)
ows = st.sampled_from([b"", b" ", b"\t", b"  \t"])
fields = st.lists(
    st.tuples(field_names.map(lambda n: n.encode("ascii")), field_values, ows, ows),
    max_size=6,
)


@st.composite
def requests(draw, keep_alive=None):
    """
    A valid request as C{(bytes, expected normalized events)}.
    """
    method = draw(tokens.filter(lambda m: m != "CONNECT"))
    target = "/" + draw(st.text(alphabet=VCHARS, max_size=20))
    version = draw(st.sampled_from([(1, 1), (1, 0)]))
    extra = draw(fields)
    body = draw(st.binary(max_size=300))
    framing = draw(
        st.sampled_from(["length", "chunked"] if version == (1, 1) else ["length"])
    )
    if not body and framing == "length" and draw(st.booleans()):
        framing = "none"
    lines = [b"%s %s HTTP/%d.%d" % (method.encode(), target.encode(), *version)]
    headers = []
    for name, value, before, after in extra:
        lines.append(name + b":" + before + value + after)
        headers.append((name.lower(), value))
    lines.insert(1 + draw(st.integers(0, len(extra))), b"Host: example.org")
    headers.insert(lines.index(b"Host: example.org") - 1, (b"host", b"example.org"))
    if version == (1, 0) and keep_alive:
        lines.append(b"Connection: keep-alive")
        headers.append((b"connection", b"keep-alive"))
    trailers = []
    if framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
        headers.append((b"content-length", b"%d" % len(body)))
        payload = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        headers.append((b"transfer-encoding", b"chunked"))
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
        payload = b""
        for start, end in zip([0] + cuts, cuts + [len(body)], strict=True):
            piece = body[start:end]
            if not piece:
                continue
            size = b"%x" % len(piece)
            if draw(st.booleans()):
                size = size.upper()
            ext = draw(
                st.sampled_from([b"", b";a", b";a=b", b';q="x y\\""', b";a;b=c"])
            )
            payload += size + ext + b"\r\n" + piece + b"\r\n"
        payload += b"0\r\n"
        for name, value, before, after in draw(fields):
            payload += name + b":" + before + value + after + b"\r\n"
            trailers.append((name.lower(), value))
        payload += b"\r\n"
    else:
        payload = b""
    data = b"\r\n".join(lines) + b"\r\n\r\n" + payload
    expected = [
        (
            "head",
            method,
            target,
            version,
            headers,
            None if framing == "chunked" else len(body),
            framing == "chunked",
        ),
    ]
    if body:
        expected.append(("body", body))
    expected.append(("end", trailers))
    return data, expected


def normalize(events):
    """
    Events as comparable tuples, with consecutive BodyData merged.
    """
    out = []
    for event in events:
        if isinstance(event, RequestHead):
            out.append(
                (
                    "head",
                    event.method,
                    event.target,
                    event.version,
                    event.headers,
                    event.content_length,
                    event.chunked,
                )
            )
        elif isinstance(event, BodyData):
            assert event.data
            if out and out[-1][0] == "body":
                out[-1] = ("body", out[-1][1] + event.data)
            else:
                out.append(("body", event.data))
        else:
            assert isinstance(event, EndOfRequest)
            out.append(("end", event.trailers))
    return out


def feed(pieces, limits=None):
    """
    Feed C{pieces} one at a time, reading events after each; return them.
    """
    reader = RequestReader(limits)
    events = []
    for piece in pieces:
        reader.receive(piece)
        while (event := reader.next_event()) is not NEED_DATA:
            if event is CLOSED:
                break
            events.append(event)
    return normalize(events)


def split(data, cuts):
    cuts = sorted(set(c % (len(data) + 1) for c in cuts))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)], strict=True)]


@SETTINGS
@given(requests(), st.lists(st.integers(0, 10**6), max_size=8))
def test_anySplitSameEvents(request, cuts):
    """
    A valid request gives the expected events whole, split at every byte
    boundary (when small), and split at random points.
    """
    data, expected = request
    assert feed([data]) == expected
    assert feed(split(data, cuts)) == expected
    if len(data) <= 160:
        for i in range(1, len(data)):
            assert feed([data[:i], data[i:]]) == expected


@SETTINGS
@given(
    st.lists(requests(keep_alive=True), min_size=1, max_size=6),
    st.lists(st.integers(0, 10**6), max_size=10),
)
def test_pipelinedSequence(reqs, cuts):
    """
    Pipelined keep-alive requests parse to the concatenation of their
    events, however the stream is split.
    """
    data = b"".join(d for d, _ in reqs)
    expected = [e for _, evs in reqs for e in evs]
    assert feed([data]) == expected
    assert feed(split(data, cuts)) == expected


SMALL = Limits(
    max_request_line=64,
    max_header_bytes=128,
    max_header_count=8,
    max_body_size=1000,
    max_chunk_line=32,
    max_trailer_bytes=64,
)
BOUND = SMALL.max_request_line + SMALL.max_header_bytes + 2 * MAX_EMPTY_LINES + 8


def hostile_run(pieces, eof):
    """
    Feed C{pieces}; only ProtocolError may escape, every loop ends, and
    whenever the reader waits for more it holds at most BOUND bytes.
    """
    reader = RequestReader(SMALL)
    total = sum(len(p) for p in pieces)
    budget = 2 * total + 10
    try:
        for piece in pieces:
            reader.receive(piece)
            while (event := reader.next_event()) is not NEED_DATA:
                budget -= 1
                assert budget > 0, "no progress"
                if event is CLOSED:
                    break
            assert reader.buffered <= BOUND
        if eof:
            reader.receive_eof()
            while reader.next_event() is not CLOSED:
                budget -= 1
                assert budget > 0, "no progress after EOF"
    except ProtocolError as e:
        assert e.status in (400, 413, 414, 417, 431, 501, 505)
        with_same = None
        try:
            reader.next_event()
        except ProtocolError as again:
            with_same = again
        assert with_same is e


@SETTINGS
@given(st.lists(st.binary(max_size=200), max_size=6), st.booleans())
def test_arbitraryBytes(pieces, eof):
    """
    Random bytes never raise anything but ProtocolError and never stall.
    """
    hostile_run(pieces, eof)


@SETTINGS
@given(requests(), st.data(), st.booleans())
def test_mutatedRequests(request, data, eof):
    """
    Valid requests with bytes flipped, inserted or deleted never raise
    anything but ProtocolError and never stall.
    """
    raw = bytearray(request[0])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.sampled_from(list(b"\r\n \t:;\x00,0aZ\x80")))
        if op == "insert":
            raw[at:at] = bytes([byte])
        elif at < len(raw):
            if op == "flip":
                raw[at] = byte
            else:
                del raw[at]
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=5))
    hostile_run(split(bytes(raw), cuts), eof)


#: Limits that only a request's field count can exceed.
FEW = Limits(max_header_count=2)


def outcome(data, limits=None):
    """
    Every event of C{data} fed whole (heads with all their fields), or the
    status and message of the L{ProtocolError} it raises.
    """
    reader = RequestReader(limits)
    reader.receive(data)
    reader.receive_eof()
    events = []
    try:
        while (event := reader.next_event()) is not CLOSED:
            events.append(event)
    except ProtocolError as e:
        return ("error", e.status, str(e))
    return events


@SETTINGS
@given(requests(), st.data())
def test_sectionCacheChangesNothing(request, data):
    """
    A request parses to the same events, or the same error, whether its
    header section is new to the process, seen once, or remembered; also
    with its bytes mutated, and with limits other than those it was first
    parsed under.
    """
    raw = bytearray(request[0])
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.sampled_from([b"\r\n", b" ", b":", b"Host: b\r\n"]))
    raw = bytes(raw)
    limits = data.draw(st.sampled_from([None, SMALL, FEW]))
    _head._sections.clear()
    _head._seen.clear()
    cold = outcome(raw, limits)
    assert outcome(raw, limits) == cold
    assert outcome(raw, limits) == cold
    assert outcome(raw, limits) == cold
    # Remembered under the defaults, then parsed under smaller limits.
    _head._sections.clear()
    _head._seen.clear()
    coldFew = outcome(raw, FEW)
    for _ in range(3):
        outcome(raw)
    assert outcome(raw, FEW) == coldFew
