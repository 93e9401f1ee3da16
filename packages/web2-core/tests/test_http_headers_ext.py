"""
Tests for the headers of RFC 6265 (cookies), RFC 9110 11 / 7617 / 7616
(authentication), RFC 6266 (Content-Disposition), RFC 7239 (Forwarded),
X-Forwarded-For and RFC 8288 (Link), using the RFCs' examples.
"""

import calendar

import pytest

from web2.http_headers import Cookie, HeaderParseError, Headers, MimeDisposition


def parse(name, *lines):
    return Headers(rawHeaders={name: list(lines)}).getHeader(name)


def generate(name, value):
    return Headers(headers={name: value}).getRawHeaders(name)


# ---------------------------------------------------------------------------
# Cookies


def test_cookieEqualityIncludesNameAndValue():
    """
    Unlike twisted.web2, cookies with different names or values differ.
    """
    assert Cookie("a", "1") == Cookie("a", "1")
    assert Cookie("a", "1") != Cookie("b", "1")
    assert Cookie("a", "1") != Cookie("a", "2")
    assert Cookie("a", "1") != Cookie("a", "1", path="/")


def test_requestCookieRFC6265():
    """
    RFC 6265 5.4's example request header.
    """
    assert parse("Cookie", "SID=31d4d96e407aad42; lang=en-US") == [
        Cookie("SID", "31d4d96e407aad42"),
        Cookie("lang", "en-US"),
    ]


def test_requestCookieTolerant():
    """
    Spaces are stripped, nameless and '='-less junk is skipped, values keep
    '=' and quotes, several lines are combined.
    """
    assert parse("Cookie", ' a = 1 ;;junk; =x; b=c=d;e="q"', "f=") == [
        Cookie("a", "1"),
        Cookie("b", "c=d"),
        Cookie("e", '"q"'),
        Cookie("f", ""),
    ]
    assert parse("Cookie", "") == []


def test_requestCookieGenerate():
    """
    The request Cookie header is generated as name=value pairs.
    """
    assert generate("Cookie", [Cookie("a", "1"), Cookie("b", "2")]) == ["a=1; b=2"]


SET_COOKIE_EXAMPLES = [
    ("SID=31d4d96e407aad42", Cookie("SID", "31d4d96e407aad42")),
    ("SID=31d4d96e407aad42; Path=/; Domain=example.com",
     Cookie("SID", "31d4d96e407aad42", path="/", domain="example.com")),
    ("SID=31d4d96e407aad42; Path=/; Secure; HttpOnly",
     Cookie("SID", "31d4d96e407aad42", path="/", secure=True, httpOnly=True)),
    ("lang=en-US; Path=/; Domain=example.com",
     Cookie("lang", "en-US", path="/", domain="example.com")),
    ("lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
     Cookie("lang", "en-US", expires=calendar.timegm((2021, 6, 9, 10, 18, 14)))),
    ("lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT", Cookie("lang", "", expires=784111777)),
]  # fmt: skip


@pytest.mark.parametrize("line, cookie", SET_COOKIE_EXAMPLES)
def test_setCookieRFC6265(line, cookie):
    """
    RFC 6265 3.1's Set-Cookie examples parse, and generate back to a line
    that parses to the same cookie.
    """
    assert parse("Set-Cookie", line) == [cookie]
    assert parse("Set-Cookie", *generate("Set-Cookie", [cookie])) == [cookie]


def test_setCookieGenerateAllAttributes():
    """
    Every attribute is generated, Expires as an IMF-fixdate.
    """
    cookie = Cookie("id", "a3fWa", path="/", domain="example.com", expires=784111777,
                    maxAge=3600, secure=True, httpOnly=True, sameSite="lax",
                    partitioned=True)  # fmt: skip
    [line] = generate("Set-Cookie", [cookie])
    assert line == (
        "id=a3fWa; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; "
        "Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Lax; Partitioned"
    )
    cookie.sameSite = "Lax"
    assert parse("Set-Cookie", line) == [cookie]


def test_setCookieParseTolerance():
    """
    Set-Cookie parsing follows RFC 6265 5.2: case-insensitive attributes,
    unusable attribute values ignored, nameless lines dropped.
    """
    cookies = parse(
        "Set-Cookie",
        "a=1; max-age=junk; expires=junk; SAMESITE=weird; domain=.Example.COM; path=rel",
        "no-equals-sign",
        "=nameless",
        "b=2; Max-Age=-1; samesite=none",
    )
    assert cookies == [
        Cookie("a", "1", domain="example.com"),
        Cookie("b", "2", maxAge=-1, sameSite="None"),
    ]


@pytest.mark.parametrize(
    "cookie",
    [
        Cookie("a b", "1"),
        Cookie("a", "1; Domain=evil.example"),
        Cookie("a", "x y"),
        Cookie("a", "1", path="/; Secure"),
        Cookie("a", "1", domain="x\r\nSet-Cookie: b=2"),
        Cookie("a", "1", sameSite="sometimes"),
    ],
)
def test_setCookieInvalidRefused(cookie):
    """
    A cookie whose name, value or attributes would inject attributes or
    lines cannot be generated.
    """
    h = Headers(headers={"Set-Cookie": [cookie]})
    with pytest.raises(ValueError):
        h.toWire()


# ---------------------------------------------------------------------------
# Authentication

DIGEST_RESPONSE = (
    'Digest username="Mufasa", realm="http-auth@example.org", '
    'uri="/dir/index.html", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, '
    'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, '
    'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", '
    'opaque="FQhe/qaU925kfnw4Pspgfw1xG9dVuJNQTHNBU9WdEtOO"'
)
DIGEST_PARAMS = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "uri": "/dir/index.html",
    "algorithm": "SHA-256",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "qop": "auth",
    "response": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    "opaque": "FQhe/qaU925kfnw4Pspgfw1xG9dVuJNQTHNBU9WdEtOO",
}


def test_basicCredentials():
    """
    RFC 7617's example: the token68 survives intact, padding included.
    """
    assert parse("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == (
        "basic",
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    )
    assert parse("Proxy-Authorization", "basic  dGVzdDoxMjPCow==") == (
        "basic",
        "dGVzdDoxMjPCow==",
    )
    assert generate("Authorization", ("basic", "QWxhZGRpbjpvcGVuIHNlc2FtZQ==")) == [
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    ]


def test_bearerCredentials():
    """
    RFC 6750's example token with '.', '-' and '_'.
    """
    assert parse("Authorization", "Bearer mF_9.B5f-4.1JqM") == (
        "bearer",
        "mF_9.B5f-4.1JqM",
    )


def test_digestCredentialsRFC7616():
    """
    RFC 7616 3.9.1's Authorization parses to its parameters, and generates
    with algorithm, qop and nc unquoted and the rest quoted.
    """
    assert parse("Authorization", DIGEST_RESPONSE) == ("digest", DIGEST_PARAMS)
    [line] = generate("Authorization", ("digest", DIGEST_PARAMS))
    assert "algorithm=SHA-256" in line and "qop=auth" in line and "nc=00000001" in line
    assert 'username="Mufasa"' in line and line.startswith("Digest ")
    assert parse("Authorization", line) == ("digest", DIGEST_PARAMS)


def test_credentialsQuotedCommas():
    """
    Commas and escaped quotes inside quoted-strings stay in the value.
    """
    assert parse("Authorization", 'Digest realm="a, b=c", username="x\\"y"') == (
        "digest",
        {"realm": "a, b=c", "username": 'x"y'},
    )


def test_bareScheme():
    """
    A scheme with nothing after it gives empty credentials.
    """
    assert parse("Authorization", "Negotiate") == ("negotiate", "")


@pytest.mark.parametrize(
    "lines",
    [
        ['Digest realm="unterminated'],
        ['Digest realm="x" junk'],
        ["Digest realm=a, realm=b"],
        ["Basic abc", "Basic def"],
        ["Basic abc def"],
        ["Digest =x"],
        [""],
    ],
)
def test_malformedCredentials(lines):
    """
    Malformed Authorization values raise HeaderParseError.
    """
    with pytest.raises(HeaderParseError):
        parse("Authorization", *lines)


def test_challengesRFC7235():
    """
    RFC 7235 4.1's two-challenge example, with an escaped quote.
    """
    line = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'
    assert parse("WWW-Authenticate", line) == [
        ("Newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
        ("Basic", {"realm": "simple"}),
    ]


def test_challengesRFC7616():
    """
    RFC 7616 3.9.1's challenges (two lines, SHA-256 and MD5) parse, and
    generate one line each with algorithm and stale unquoted.
    """
    sha = ('Digest realm="http-auth@example.org", qop="auth, auth-int", '
           'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
           'opaque="FQhe/qaU925kfnw4Pspgfw1xG9dVuJNQTHNBU9WdEtOO"')  # fmt: skip
    md5 = sha.replace("SHA-256", "MD5")
    challenges = parse("WWW-Authenticate", sha, md5)
    assert [c[1]["algorithm"] for c in challenges] == ["SHA-256", "MD5"]
    assert challenges[0] == (
        "Digest",
        {
            "realm": "http-auth@example.org",
            "qop": "auth, auth-int",
            "algorithm": "SHA-256",
            "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            "opaque": "FQhe/qaU925kfnw4Pspgfw1xG9dVuJNQTHNBU9WdEtOO",
        },
    )
    assert generate("WWW-Authenticate", challenges) == [sha, md5]
    assert generate(
        "Proxy-Authenticate", [("Digest", {"realm": "r", "stale": True})]
    ) == ['Digest realm="r", stale=true']


def test_challengesMixed():
    """
    token68 challenges, bare schemes and empty elements mix in one list.
    """
    assert parse("WWW-Authenticate", "Negotiate, ,Basic realm=x, Foo abc==, Bar") == [
        ("Negotiate", {}),
        ("Basic", {"realm": "x"}),
        ("Foo", "abc=="),
        ("Bar", {}),
    ]
    assert generate("WWW-Authenticate", [("Negotiate", {}), ("Foo", "abc==")]) == [
        "Negotiate",
        "Foo abc==",
    ]


@pytest.mark.parametrize(
    "line",
    [
        'Basic realm="x" Digest',
        'Basic realm="x", realm="y"',
        'Basic realm="x", =y',
        ",=",
    ],
)
def test_malformedChallenges(line):
    """
    Malformed challenge lists raise HeaderParseError.
    """
    with pytest.raises(HeaderParseError):
        parse("WWW-Authenticate", line)


def test_authGenerateRefusesBadToken68():
    """
    Credentials that are not a token68 cannot be generated raw.
    """
    with pytest.raises(ValueError):
        Headers(headers={"Authorization": ("basic", "a b")}).toWire()


# ---------------------------------------------------------------------------
# Content-Disposition (RFC 6266)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Attachment; filename=example.html",
         MimeDisposition("attachment", filename="example.html")),
        ('INLINE; FILENAME= "an example.html"',
         MimeDisposition("inline", filename="an example.html")),
        ("attachment; filename*= UTF-8''%e2%82%ac%20rates",
         MimeDisposition("attachment", filename="\u20ac rates")),
        ("attachment; filename=\"EURO rates\"; filename*=utf-8''%e2%82%ac%20rates",
         MimeDisposition("attachment", filename="\u20ac rates")),
        ('form-data; name="field1"; filename="a;b.txt"',
         MimeDisposition("form-data", name="field1", filename="a;b.txt")),
    ],
)  # fmt: skip
def test_contentDispositionRFC6266(line, expected):
    """
    RFC 6266 5's examples; filename* wins over filename.
    """
    value = parse("Content-Disposition", line)
    assert value == expected
    assert (
        parse("Content-Disposition", *generate("Content-Disposition", value))
        == expected
    )


def test_contentDispositionGenerate():
    """
    A non-ASCII filename is sent as filename* with an ASCII fallback.
    """
    assert generate(
        "Content-Disposition", MimeDisposition("attachment", filename="\u20ac rates")
    ) == ["attachment; filename=\"_ rates\"; filename*=UTF-8''%E2%82%AC%20rates"]
    assert MimeDisposition("inline").filename is None


@pytest.mark.parametrize(
    "line",
    ["attachment; filename", "attachment; filename=a; filename=b",
     "attachment; filename*=UTF-8''%ff", "; filename=a", "attachment filename=a"],
)  # fmt: skip
def test_contentDispositionMalformed(line):
    """
    Malformed dispositions raise HeaderParseError.
    """
    with pytest.raises(HeaderParseError):
        parse("Content-Disposition", line)


# ---------------------------------------------------------------------------
# Forwarded (RFC 7239) and X-Forwarded-For


@pytest.mark.parametrize(
    "lines, expected",
    [
        (['for="_gazonk"'], [{"for": "_gazonk"}]),
        (['For="[2001:db8:cafe::17]:4711"'], [{"for": "[2001:db8:cafe::17]:4711"}]),
        (["for=192.0.2.60;proto=http;by=203.0.113.43"],
         [{"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}]),
        (["for=192.0.2.43, for=198.51.100.17"],
         [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}]),
        (['for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown'],
         [{"for": "192.0.2.43"}, {"for": "[2001:db8:cafe::17]"}, {"for": "unknown"}]),
        (["for=a", "for=b;host=example.com"],
         [{"for": "a"}, {"for": "b", "host": "example.com"}]),
    ],
)  # fmt: skip
def test_forwardedRFC7239(lines, expected):
    """
    RFC 7239's examples, quoted IPv6 addresses included, round trip.
    """
    assert parse("Forwarded", *lines) == expected
    assert parse("Forwarded", *generate("Forwarded", expected)) == expected


def test_forwardedGenerateQuotes():
    """
    Values that are not tokens (IPv6, ports) are quoted.
    """
    assert generate("Forwarded", [{"for": "[2001:db8::1]:80", "proto": "https"}]) == [
        'for="[2001:db8::1]:80";proto=https'
    ]


@pytest.mark.parametrize(
    "line", ["for", "for=a;for=b", 'for="unterminated', "for=[::1]", "for=a b"]
)
def test_forwardedMalformed(line):
    """
    Malformed Forwarded values (including repeated pairs) are refused.
    """
    with pytest.raises(HeaderParseError):
        parse("Forwarded", line)


def test_xForwardedFor():
    """
    X-Forwarded-For is a plain comma list of addresses.
    """
    assert parse("X-Forwarded-For", "203.0.113.195, 2001:db8::1", "10.0.0.1,") == [
        "203.0.113.195",
        "2001:db8::1",
        "10.0.0.1",
    ]
    assert generate("X-Forwarded-For", ["1.2.3.4", "::1"]) == ["1.2.3.4, ::1"]


# ---------------------------------------------------------------------------
# Link (RFC 8288)


@pytest.mark.parametrize(
    "line, expected",
    [
        ('<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"',
         [("http://example.com/TheBook/chapter2", {"rel": "previous", "title": "previous chapter"})]),
        ('</>; rel="http://example.net/foo"', [("/", {"rel": "http://example.net/foo"})]),
        ('</terms>; rel="copyright"; anchor="#foo"',
         [("/terms", {"rel": "copyright", "anchor": "#foo"})]),
        ("</TheBook/chapter2>; rel=\"previous\"; title*=UTF-8'de'letztes%20Kapitel, "
         "</TheBook/chapter4>; rel=\"next\"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel",
         [("/TheBook/chapter2", {"rel": "previous", "title": "letztes Kapitel"}),
          ("/TheBook/chapter4", {"rel": "next", "title": "n\u00e4chstes Kapitel"})]),
        ('<http://example.org/>; rel="start http://example.net/relation/other"',
         [("http://example.org/", {"rel": "start http://example.net/relation/other"})]),
        ('</a,b>; rel=x; rel=y; crossorigin', [("/a,b", {"rel": "x", "crossorigin": None})]),
    ],
)  # fmt: skip
def test_linkRFC8288(line, expected):
    """
    RFC 8288 3.5's examples (title* decoded, later duplicates ignored,
    commas inside <> kept), and their round trips.
    """
    assert parse("Link", line) == expected
    assert parse("Link", *generate("Link", expected)) == expected


@pytest.mark.parametrize("line", ["http://x", "<http://x", '<a>; rel="x', "<a> <b>"])
def test_linkMalformed(line):
    """
    Malformed Link values raise HeaderParseError.
    """
    with pytest.raises(HeaderParseError):
        parse("Link", line)


@pytest.mark.timeout(30)
def test_hugeCookieAndAuthLinear():
    """
    Huge Cookie headers and challenge lists parse in linear time.
    """
    n = 100_000
    assert len(parse("Cookie", "; ".join(f"c{i}=v" for i in range(n)))) == n
    params = ", ".join(f"p{i}=v" for i in range(n))
    assert len(parse("WWW-Authenticate", "X " + params)[0][1]) == n
    assert len(parse("Authorization", "X " + params)[1]) == n
