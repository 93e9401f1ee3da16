"""
The inputs of the differential fuzzer (C{_wire_differential}): valid
requests generated from a seed, then damaged.

L{makeCase}C{(seed, index)} gives the same L{Case} on every run and in
every process: one to four pipelined requests from L{makeMessage} (methods,
the four target forms, HTTP/1.0 and 1.1, fields with optional whitespace
and obs-text, no body, a Content-Length body, or a chunked body with
extensions, odd sizes and trailers), three in four of them altered by
structural mutators (L{STRUCTURAL}: framing fields duplicated or
conflicting, bad chunk sizes, extensions and data ends, obs-fold, bare CR
and LF line ends, CTLs, target, Host, version, method and expectation
variants, empty lines before the request line), two in five then by byte
mutators (L{BYTEWISE}: bytes inserted, deleted, replaced or duplicated, a
line end changed, the input cut short), and the result split into pieces
for C{receive()}.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field


@dataclass
class Case:
    """
    One fuzzing input: C{data} fed in the pieces that C{cuts} (offsets into
    it) gives, then the end of input, and taken by web2 in C{mode} (see
    C{_wire_differential.runWeb2}); C{seed} and C{index} regenerate it.
    """

    seed: int
    index: int
    data: bytes
    cuts: tuple
    mode: str = "events"


@dataclass
class Message:
    """
    A request under construction.

    @ivar fields: the field lines, each C{[name, separator, value]}.
    @ivar ends: line endings other than CRLF, by line: 0 the request line,
        M{i} field M{i}, C{-1} the blank line that ends the head.
    @ivar chunks: the chunks of a chunked body, each C{[size line, data,
        what ends the data]}; the last chunk's data is C{None}.
    @ivar trailers: the trailer field lines, like C{fields}.
    @ivar lead: bytes sent before the request line.
    """

    method: bytes
    target: bytes
    version: bytes
    fields: list
    ends: dict = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False
    chunks: list = field(default_factory=list)
    trailers: list = field(default_factory=list)
    lead: bytes = b""

    def render(self) -> bytes:
        ends = self.ends
        out = [self.lead, self.method, b" ", self.target, b" ", self.version]
        out.append(ends.get(0, b"\r\n"))
        for i, (name, sep, value) in enumerate(self.fields, 1):
            out += [name, sep, value, ends.get(i, b"\r\n")]
        out.append(ends.get(-1, b"\r\n"))
        if not self.chunked:
            out.append(self.body)
            return b"".join(out)
        for line, data, end in self.chunks:
            out += [line, b"\r\n"] + ([data, end] if data is not None else [])
        for name, sep, value in self.trailers:
            out += [name, sep, value, b"\r\n"]
        out.append(b"\r\n")
        return b"".join(out)


METHODS = [b"GET"] * 6 + [b"POST"] * 3 + [b"HEAD", b"PUT", b"DELETE", b"OPTIONS"]
METHODS += [b"PATCH", b"PROPFIND", b"M-SEARCH", b"get", b"X~1!"]
PATHS = [b"/", b"/index.html", b"/a/b/c?x=1&y=%20z", b"/%7Euser/", b"//double"]
PATHS += [b"/;p=1?q", b"/a#frag", b"/" + b"x" * 40]
ABSOLUTE = [
    b"http://example.org/",
    b"https://example.org:8443/a?b",
    b"http://[::1]:80/",
]
NAMES = [b"User-Agent", b"Accept", b"accept-encoding", b"X-Custom", b"Cookie", b"X"]
NAMES += [b"a-b_c.d~e", b"Referer", b"Cache-Control", b"!#$%&'*+-.^_`|~"]
VALUES = [b"", b"text/html, */*;q=0.8", b"gzip", b"a=b; c=d", b"value with  spaces"]
VALUES += [b"\xe9t\xe9 obs-text", b'quoted "s"', b"1", b"\tx\ty"]
OWS = [b"", b"", b" ", b" ", b"\t", b"  \t "]
HOSTS = [
    b"example.org",
    b"example.org:8080",
    b"127.0.0.1",
    b"[::1]:80",
    b"",
    b"a-b.c_d",
]
EXTENSIONS = [b"", b"", b"", b";a", b";a=b", b';q="x y"', b";a;b=c", b';n="\\""']
HEX = re.compile(rb"[0-9A-Fa-f]*")


def _field(rng, name: bytes, value: bytes) -> list:
    return [name, b":" + rng.choice(OWS), value + rng.choice(OWS)]


def _chunked(rng, body: bytes) -> list:
    chunks = []
    count = min(len(body) - 1, rng.randint(0, 3))
    cuts = sorted(rng.sample(range(1, len(body)), count))
    for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True):
        size = b"%x" % (b - a)
        if rng.random() < 0.2:
            size = size.upper()
        if rng.random() < 0.1:
            size = b"0" * rng.randint(1, 3) + size
        chunks.append([size + rng.choice(EXTENSIONS), body[a:b], b"\r\n"])
    chunks.append([b"0" + rng.choice(EXTENSIONS), None, None])
    return chunks


def makeMessage(rng: random.Random) -> Message:
    """
    A valid request.
    """
    version = b"HTTP/1.1" if rng.random() < 0.75 else b"HTTP/1.0"
    method = rng.choice(METHODS)
    r = rng.random()
    if r < 0.8:
        target = rng.choice(PATHS)
    elif r < 0.9:
        target = rng.choice(ABSOLUTE)
    elif r < 0.95:
        method, target = b"OPTIONS", b"*"
    else:
        method, target = b"CONNECT", b"example.org:443"
    fields = [
        _field(rng, rng.choice(NAMES), rng.choice(VALUES))
        for _ in range(rng.choice((0, 1, 2, 3, 5)))
    ]
    if version == b"HTTP/1.1" or rng.random() < 0.5:
        host = _field(rng, b"Host", rng.choice(HOSTS))
        fields.insert(rng.randint(0, len(fields)), host)
    r = rng.random()
    if r < 0.15:
        fields.append(_field(rng, b"Connection", b"close"))
    elif r < 0.3:
        value = rng.choice([b"keep-alive", b"Keep-Alive, Upgrade"])
        fields.append(_field(rng, b"Connection", value))
    if rng.random() < 0.05:
        fields.append(_field(rng, b"Expect", b"100-continue"))
    if rng.random() < 0.05:
        fields.append(_field(rng, b"Upgrade", b"websocket"))
    message = Message(method, target, version, fields)
    r = rng.random()
    if r < 0.45:
        return message
    body = rng.randbytes(rng.choice((1, 2, 5, 17, 100)))
    if version == b"HTTP/1.1" and r < 0.8:
        message.fields.append(_field(rng, b"Transfer-Encoding", b"chunked"))
        message.chunked = True
        message.chunks = _chunked(rng, body)
        if rng.random() < 0.3:
            message.trailers = [
                _field(rng, rng.choice(NAMES), rng.choice(VALUES))
                for _ in range(rng.randint(1, 2))
            ]
    else:
        message.fields.append(_field(rng, b"Content-Length", b"%d" % len(body)))
        message.body = body
    return message


# --------------------------------------------------------------------------
# Structural mutators: each alters one message in place
# --------------------------------------------------------------------------


def _someField(rng, m: Message, name: bytes | None = None):
    candidates = [f for f in m.fields if name is None or f[0].lower() == name.lower()]
    return rng.choice(candidates) if candidates else None


def _setField(rng, m: Message, name: bytes, value: bytes) -> None:
    """
    Give a C{name} field C{value}, or add one (sometimes beside the first).
    """
    f = _someField(rng, m, name)
    if f is None or rng.random() < 0.3:
        m.fields.insert(rng.randint(0, len(m.fields)), _field(rng, name, value))
    else:
        f[2] = value


def mutateLength(rng, m: Message) -> None:
    n = len(m.body) if not m.chunked else rng.randint(0, 9)
    value = rng.choice(
        [
            b"+%d" % n,
            b"0x%x" % n,
            b"%d %d" % (n, n),
            b"-1",
            b"",
            b"%d, %d" % (n, n),
            b"%d,%d" % (n, n + 1),
            b"%d," % n,
            b"0%d" % n,
            b"%d\t,%d" % (n, n),
            b"%018d" % n,
            b"%019d" % n,
            b"%021d" % n,
            b"%d" % (n + 1),
            b"%d" % max(0, n - 1),
            b"%d.0" % n,
        ]
    )
    _setField(rng, m, b"Content-Length", value)


def mutateCoding(rng, m: Message) -> None:
    value = rng.choice(
        [
            b"chunked",
            b"Chunked",
            b"CHUNKED",
            b"chunked,",
            b", chunked",
            b"",
            b"chunked, chunked",
            b"gzip, chunked",
            b"chunked, gzip",
            b"identity",
            b"gzip , chunked",
            b" , chunked ,",
            b"chunked;q=1",
            b"xchunked",
            b'"chunked"',
        ]
    )
    _setField(rng, m, b"Transfer-Encoding", value)
    if not m.chunked and rng.random() < 0.5:
        m.chunked = True
        m.chunks = _chunked(rng, m.body or b"x")


def mutateChunk(rng, m: Message) -> None:
    if not m.chunked:
        return mutateCoding(rng, m)
    chunk = rng.choice(m.chunks)
    digits = HEX.match(chunk[0]).group()
    ext = chunk[0][len(digits) :]
    r = rng.random()
    if r < 0.3 and chunk[1] is not None:
        data, end = chunk[1], chunk[2]
        chunk[1], chunk[2] = rng.choice(
            [
                (data + b"?", end),
                (data[:-1], end),
                (data, b"\n"),
                (data, b"\r"),
                (data, b""),
                (data, b"\r\r\n"),
                (data, b" \r\n"),
                (data, b"XX"),
                (data, b"\n\n"),
            ]
        )
        return
    width = rng.choice((15, 16, 16, 17, 17, 17, 18, 20))
    chunk[0] = rng.choice(
        [
            digits.rjust(width, b"0") + ext,
            digits.rjust(width, b"0") + ext,
            digits + ext + rng.choice([b" ", b"\t", b"  "]),
            digits + rng.choice([b" ", b"\t"]) + ext,
            digits
            + rng.choice(
                [
                    b"; a",
                    b";a =b",
                    b";a= b",
                    b";",
                    b";=",
                    b";a=",
                    b';a="x',
                    b";a=b c",
                    b";\x80",
                    b";a\rb",
                    b";a,b",
                    b';a="\\\x01"',
                    b";a=b;c",
                    b";A-1=~",
                ]
            ),
            b"0x" + digits + ext,
            b"-" + digits + ext,
            ext,
            b"%x" % (int(digits or b"0", 16) + 1) + ext,
            digits.upper() + ext,
        ]
    )


def mutateTrailers(rng, m: Message) -> None:
    if not m.chunked:
        return mutateChunk(rng, m)
    name = rng.choice(
        [b"Content-Length", b"Transfer-Encoding", b"Host", b"X-Trailer", b"Expires"]
    )
    value = rng.choice([b"5", b"chunked", b"a", b"x\x01y", b""])
    m.trailers.append(_field(rng, name, value))
    if rng.random() < 0.3:
        m.trailers.append([b" folded", b"", b""])


def mutateLineEnd(rng, m: Message) -> None:
    line = rng.choice([0, -1] + list(range(1, len(m.fields) + 1)) * 3)
    m.ends[line] = rng.choice([b"\n", b"\n", b"\n", b"\r", b"\r\r\n", b"\n\r"])


def mutateVersion(rng, m: Message) -> None:
    m.version = rng.choice(
        [
            b"HTTP/1.2",
            b"HTTP/1.9",
            b"HTTP/2.0",
            b"HTTP/0.9",
            b"HTTP/3.1",
            b"HTTP/1",
            b"http/1.1",
            b"HTTP/1.1 ",
            b"HTTP/11",
            b"HTTP/1.10",
            b"HTTP /1.1",
        ]
    )


def mutateMethod(rng, m: Message) -> None:
    m.method = rng.choice(
        [b"CONNECT", b"OPTIONS", b"G\x80T", b"GE T", b"", b"GET\t", b"(GET)", b"g"]
    )


def mutateTarget(rng, m: Message) -> None:
    m.target = rng.choice(
        [
            b"*",
            b"http://",
            b"http://u@h/",
            b"http://h:80",
            b"HTTP://H/",
            b"h:80",
            b"example.org:443",
            b"a",
            b"mailto:x",
            b"/a b",
            b"/\x7f",
            b"/\xe9",
            b"",
            b"http://a b/",
            b"http://[::1]/",
            b"ftp://x/y",
            b"http://h/#f",
            b"a:b:80",
            b"u@h:80",
            b"h:",
            b":80",
            b"//h/",
        ]
    )


def mutateHost(rng, m: Message) -> None:
    value = rng.choice(
        [
            b"a b",
            b"a/b",
            b"a@b",
            b"[::1]:80",
            b"a:80",
            b"\xe9",
            b"a?b",
            b"a#b",
            b"",
            b"a:b:c",
            b"a\\b",
            b'a"b',
        ]
    )
    f = _someField(rng, m, b"Host")
    r = rng.random()
    if r < 0.3:
        if f is not None:
            m.fields.remove(f)
    elif r < 0.5 or f is None:
        m.fields.append(_field(rng, b"Host", value))
    else:
        f[2] = value


def mutateConnection(rng, m: Message) -> None:
    value = rng.choice(
        [
            b"close",
            b"keep-alive",
            b"Keep-Alive",
            b"keep-alive, close",
            b"",
            b",",
            b"upgrade",
            b"CLOSE",
            b"te, close",
        ]
    )
    m.fields.append(_field(rng, b"Connection", value))


def mutateExpect(rng, m: Message) -> None:
    value = rng.choice(
        [
            b"100-continue",
            b"100-Continue",
            b"foo",
            b"100-continue, foo",
            b"",
            b",",
            b"100-continue,",
        ]
    )
    m.fields.append(_field(rng, b"Expect", value))


def mutateFold(rng, m: Message) -> None:
    f = _someField(rng, m)
    if f is None:
        m.fields.append([b" folded", b"", b""])
    else:
        f[2] += b"\r\n" + rng.choice([b" ", b"\t", b"  "]) + b"more"


def mutateControl(rng, m: Message) -> None:
    f = _someField(rng, m)
    if f is None:
        f = _field(rng, b"X", b"v")
        m.fields.append(f)
    ctl = bytes([rng.choice([0, 1, 8, 11, 12, 13, 14, 27, 31, 127])])
    at = rng.randint(0, len(f[2]))
    f[2] = f[2][:at] + ctl + f[2][at:]


def mutateName(rng, m: Message) -> None:
    f = _someField(rng, m)
    if f is not None:
        f[0] = rng.choice(
            [
                f[0] + b" ",
                b" " + f[0],
                f[0] + b"\t",
                b"",
                f[0] + b"\x80",
                f[0][:1] + b"(" + f[0][1:],
                f[0] + b"\x00",
            ]
        )


def mutateLead(rng, m: Message) -> None:
    m.lead = rng.choice([b"\r\n", b"\r\n\r\n", b"\r\n" * 4, b"\r\n" * 5, b"\n", b" "])


def mutateCase(rng, m: Message) -> None:
    f = _someField(rng, m)
    if f is not None:
        f[0] = rng.choice([f[0].upper(), f[0].lower(), f[0].swapcase()])


def mutateDuplicate(rng, m: Message) -> None:
    f = _someField(rng, m)
    if f is not None:
        m.fields.insert(rng.randint(0, len(m.fields)), list(f))


#: The structural mutators, as often as they are listed.
STRUCTURAL = [
    mutateLength,
    mutateLength,
    mutateCoding,
    mutateCoding,
    mutateChunk,
    mutateChunk,
    mutateChunk,
    mutateChunk,
    mutateChunk,
    mutateTrailers,
    mutateLineEnd,
    mutateLineEnd,
    mutateVersion,
    mutateMethod,
    mutateTarget,
    mutateTarget,
    mutateHost,
    mutateConnection,
    mutateExpect,
    mutateFold,
    mutateControl,
    mutateName,
    mutateLead,
    mutateDuplicate,
    mutateCase,
]


# --------------------------------------------------------------------------
# Byte mutators: each alters the rendered input in place
# --------------------------------------------------------------------------

SPECIAL_BYTES = b'\r\n \t\x00\x01\x0b\x7f\x80\x85\xa0\xff:;,"=0aF'


def _insert(rng, data: bytearray) -> None:
    at = rng.randint(0, len(data))
    data[at:at] = bytes([rng.choice(SPECIAL_BYTES)])


def _delete(rng, data: bytearray) -> None:
    if data:
        at = rng.randrange(len(data))
        del data[at : at + rng.choice((1, 1, 1, 2, 4))]


def _replace(rng, data: bytearray) -> None:
    if data:
        data[rng.randrange(len(data))] = rng.choice(SPECIAL_BYTES)


def _duplicate(rng, data: bytearray) -> None:
    if data:
        at = rng.randrange(len(data))
        data[at:at] = data[at : at + rng.randint(1, 12)]


def _lineEnd(rng, data: bytearray) -> None:
    ends = [m.start() for m in re.finditer(b"\r\n", data)]
    if ends:
        at = rng.choice(ends)
        data[at : at + 2] = rng.choice([b"\n", b"\r", b"\n\r", b"\r\r\n", b"\r\n "])


def _truncate(rng, data: bytearray) -> None:
    if data:
        del data[rng.randrange(len(data)) :]


#: The byte mutators, as often as they are listed.
BYTEWISE = [
    _insert,
    _insert,
    _delete,
    _replace,
    _replace,
    _duplicate,
    _lineEnd,
    _lineEnd,
    _truncate,
]


def makeCase(seed: int, index: int) -> Case:
    """
    Input number C{index} of the run seeded with C{seed}.
    """
    rng = random.Random(seed * 0x9E3779B97F4A7C15 + index)
    messages = [makeMessage(rng) for _ in range(rng.choice((1, 1, 1, 2, 3, 4)))]
    for message in messages[:-1]:
        # Earlier requests of a pipeline let the later ones be read.
        message.fields = [f for f in message.fields if f[0] != b"Connection"]
        if message.version == b"HTTP/1.0":
            message.version = b"HTTP/1.1"
            if not any(f[0] == b"Host" for f in message.fields):
                message.fields.append(_field(rng, b"Host", b"h"))
    r = rng.random()
    if r >= 0.25:
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            rng.choice(STRUCTURAL)(rng, rng.choice(messages))
    data = bytearray(b"".join(m.render() for m in messages))
    if r >= 0.6:
        for _ in range(rng.choice((1, 1, 2, 3))):
            rng.choice(BYTEWISE)(rng, data)
    data = bytes(data)
    n = len(data)
    r = rng.random()
    if r < 0.4 or n < 2:
        cuts = ()
    elif r < 0.95 or n > 300:
        cuts = tuple(sorted(rng.sample(range(1, n), min(n - 1, rng.randint(1, 6)))))
    else:
        cuts = tuple(range(1, n))
    mode = rng.choice(("events", "events", "shortcut", "discard"))
    return Case(seed, index, data, cuts, mode)
