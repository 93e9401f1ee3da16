"""
Tests for L{web2.wsgi.environ} and L{web2.wsgi.errorstream}: the PEP 3333
environ of a request at any mount point, behind a trusted proxy or not, and
C{wsgi.errors}.
"""

from __future__ import annotations

import wsgiref.util

import pytest
from _wsgi_helpers import Connection, exchange, get, site
from twisted.logger import capturedLogs

from web2.proxy import TrustedProxies, TrustedProxyResource
from web2.wsgi import ErrorStream, FileWrapper, InputStream
from web2.wsgi.environ import headerKey


def capture(request: bytes, **kwargs) -> dict:
    """
    The environ an application sees for C{request}.
    """
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    responses = exchange(app, request, **kwargs)
    assert [r.status for r in responses] == [200], responses
    return seen


def test_requiredKeysAtTheRoot():
    """
    At the root, every key PEP 3333 requires is there, with the request's
    values as native strings.
    """
    environ = capture(get("/a/b?x=1&y=%20"))
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/a/b"
    assert environ["QUERY_STRING"] == "x=1&y=%20"
    assert environ["SERVER_NAME"] == "example.com"
    assert environ["SERVER_PORT"] == "80"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"] == "54321"
    assert environ["REQUEST_URI"] == environ["RAW_URI"] == "/a/b?x=1&y=%20"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.file_wrapper"] is FileWrapper
    assert isinstance(environ["wsgi.input"], InputStream)
    assert isinstance(environ["wsgi.errors"], ErrorStream)
    assert "HTTPS" not in environ
    assert all(type(k) is str for k in environ)
    assert wsgiref.util.request_uri(environ) == "http://example.com/a/b?x=1&y=%20"


def test_rootPathAlone():
    """
    C{/} at the root is an empty SCRIPT_NAME and a PATH_INFO of C{/}, never
    a SCRIPT_NAME of C{/}.
    """
    environ = capture(get("/"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("", "/")


@pytest.mark.parametrize("mount, path, script, pathInfo", [
    ("/app", "/app/x/y", "/app", "/x/y"),
    ("/app", "/app", "/app", ""),
    ("/app", "/app/", "/app", "/"),
    ("/a/b", "/a/b/c", "/a/b", "/c"),
    ("/my app", "/my%20app/x", "/my app", "/x"),
    ("/app", "/app/x/", "/app", "/x/"),
])
def test_mountPoint(mount, path, script, pathInfo):
    """
    Mounted below the root, SCRIPT_NAME is the decoded path of the mount and
    PATH_INFO the rest, as PEP 3333 splits them.
    """
    environ = capture(get(path), mount=mount)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (script, pathInfo)
    assert environ["SCRIPT_NAME"] + environ["PATH_INFO"] == (
        path.replace("%20", " "))


def test_notBelowTheMount():
    """
    A path that only starts with the mount's letters is not below it.
    """
    responses = exchange(lambda e, s: [], get("/application"), mount="/app")
    assert responses[0].status == 404


def test_pathIsBytesAsLatin1():
    """
    PATH_INFO is percent-decoded and its bytes given as latin-1: UTF-8 comes
    through as mojibake the application re-encodes; an encoded slash becomes
    a slash, and the raw target keeps it for those who care.
    """
    environ = capture(get("/app/caf%C3%A9/x%2Fy"), mount="/app")
    assert environ["PATH_INFO"] == "/caf\xc3\xa9/x/y"
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café/x/y"
    assert environ["RAW_URI"] == "/app/caf%C3%A9/x%2Fy"


def test_hostAndPort():
    """
    SERVER_NAME and SERVER_PORT come from the Host header the client sent.
    """
    request = get("/").replace(b"Host: example.com", b"Host: Example.COM:8443")
    environ = capture(request)
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.com", "8443")


def test_headers():
    """
    Request headers become HTTP_* keys, repeated ones joined (cookies with
    ';'); Content-Type and Content-Length get their CGI keys only.
    """
    environ = capture(get("/", method="POST", body=b"a=1", headers=[
        ("X-Custom", "a b"), ("X-Multi", "1"), ("X-Multi", "2"),
        ("Cookie", "a=1"), ("Cookie", "b=2"), ("Authorization", "Basic eDp5"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]))
    assert environ["HTTP_X_CUSTOM"] == "a b"
    assert environ["HTTP_X_MULTI"] == "1, 2"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_AUTHORIZATION"] == "Basic eDp5"
    assert environ["HTTP_HOST"] == "example.com"
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert "HTTP_CONTENT_LENGTH" not in environ


def test_proxyHeaderDropped():
    """
    httpoxy: a client's Proxy header never becomes HTTP_PROXY, which HTTP
    client libraries would take for their proxy setting.
    """
    environ = capture(get("/", headers=[("Proxy", "http://evil.example:8080/")]))
    assert "HTTP_PROXY" not in environ


def test_underscoreHeadersDropped():
    """
    A header name with an underscore is dropped: it would map to the same
    key as its dashed twin, which a front proxy may have vetted.
    """
    environ = capture(get("/", headers=[("X_Forwarded_For", "6.6.6.6")]))
    assert "HTTP_X_FORWARDED_FOR" not in environ


def test_noBodyNoLength():
    """
    A request without a body has no CONTENT_LENGTH nor CONTENT_TYPE.
    """
    environ = capture(get("/"))
    assert "CONTENT_LENGTH" not in environ
    assert "CONTENT_TYPE" not in environ


def test_chunkedBodyHasNoLength():
    """
    A chunked body has no CONTENT_LENGTH, and wsgi.input_terminated says the
    input may be read to its end anyway.
    """
    environ = capture(get("/", method="POST", headers=[("Transfer-Encoding", "chunked")])
                      + b"3\r\nabc\r\n0\r\n\r\n")
    assert "CONTENT_LENGTH" not in environ
    assert environ["wsgi.input_terminated"] is True


def _proxied(root):
    return TrustedProxyResource(root, TrustedProxies(["127.0.0.1"], fields=("for", "proto", "host", "prefix")))


_FORWARDED = [
    ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "public.example"), ("X-Forwarded-Prefix", "/prefix"),
]


def test_behindTrustedProxy():
    """
    Behind a trusted proxy, the scheme, host, port, client address and path
    prefix are the ones the proxy reports, so the application builds the
    URLs its clients use.
    """
    environ = capture(get("/app/x", headers=_FORWARDED), mount="/app", wrap=_proxied)
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTPS"] == "on"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("public.example", "443")
    assert environ["REMOTE_ADDR"] == "203.0.113.9"
    assert environ["HTTP_HOST"] == "public.example"
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/prefix/app", "/x")
    assert wsgiref.util.request_uri(environ) == "https://public.example/prefix/app/x"


def test_untrustedPeerIgnored():
    """
    The same headers from a peer that is not trusted change nothing.
    """
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return []

    conn = Connection(site(app, wrap=_proxied), peer=("192.0.2.7", 4000))
    conn.send(get("/x", headers=_FORWARDED))
    assert conn.responses()[0].status == 200
    assert seen["wsgi.url_scheme"] == "http"
    assert seen["REMOTE_ADDR"] == "192.0.2.7"
    assert seen["SERVER_NAME"] == seen["HTTP_HOST"] == "example.com"
    assert seen["SCRIPT_NAME"] == ""
    assert seen["HTTP_X_FORWARDED_PROTO"] == "https"


def test_headerKey():
    """
    The header-to-key table: dashes become underscores, and the dropped
    names map to nothing.
    """
    assert headerKey("Accept-Language") == "HTTP_ACCEPT_LANGUAGE"
    assert headerKey("Accept-Language") == "HTTP_ACCEPT_LANGUAGE"
    assert headerKey("Proxy") is None
    assert headerKey("Content-Type") is None
    assert headerKey("A_B") is None


def test_errorsGoToTheLog():
    """
    Each line written to wsgi.errors is one error event; flush() emits a
    partial line.
    """
    errors = ErrorStream("GET /x")
    with capturedLogs() as events:
        errors.write("first line\nsecond ")
        errors.writelines(["half\n", "tail"])
        assert [e["line"] for e in events] == ["first line", "second half"]
        errors.flush()
    assert [e["line"] for e in events] == ["first line", "second half", "tail"]
    assert all(e["log_level"].name == "error" for e in events)
    assert events[0]["source"] == "GET /x: "


def test_errorsRefuseBytes():
    """
    wsgi.errors is a text stream, like sys.stderr.
    """
    with pytest.raises(TypeError):
        ErrorStream().write(b"bytes")


def test_errorsBoundAPartialLine():
    """
    Text without newlines is emitted once it passes maxLine, not kept in
    memory without bound.
    """
    errors = ErrorStream(maxLine=10)
    with capturedLogs() as events:
        errors.write("x" * 25)
    assert [e["line"] for e in events] == ["x" * 25]


def test_lengthOfABodyAlreadyHere():
    """
    When the body has arrived whole before the application is called (here
    because traversal waited), CONTENT_LENGTH is still its whole length and
    the input reads all of it.
    """
    from twisted.internet import defer

    from web2.iweb import IResource
    from web2.resource import WrapperResource

    seen = {}
    later = []

    class Later(WrapperResource):
        def hook(self, request):
            d = defer.Deferred()
            later.append(d)
            return d

    def app(environ, start_response):
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return []

    conn = Connection(site(app, wrap=lambda root: Later(IResource(root))))
    conn.send(get("/", method="POST", body=b"0123456789"))
    later[0].callback(None)
    conn.send(b"")
    assert conn.responses()[0].status == 200
    assert seen == {"length": "10", "body": b"0123456789"}
