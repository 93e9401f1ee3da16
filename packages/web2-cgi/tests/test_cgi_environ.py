"""
Tests for the CGI meta-variables of a request (RFC 3875 section 4.1), with
the request made by a real web2 channel and site.
"""

from __future__ import annotations

import base64
import json

from _cgi_helpers import MemoryConnection
from twisted.cred import checkers, portal
from zope.interface import implementer

from web2 import http
from web2.auth import BasicCredentialFactory, HTTPAuthResource
from web2.cgi.environ import createCGIEnvironment, translatePath
from web2.iweb import IResource
from web2.resource import Resource, StopTraversal


@implementer(IResource)
class EnvLeaf:
    """
    Answers with the environment it would give a script, as JSON.
    """

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def locateChild(self, request, segments):
        return self, StopTraversal

    def renderHTTP(self, request):
        try:
            env = createCGIEnvironment(request, **self.kwargs)
        except ValueError as e:
            return http.StatusResponse(400, str(e))
        return http.Response(200, None, json.dumps(env))


def envFor(lines, root=None, body=b"", **kwargs):
    if root is None:
        root = Resource()
        root.putChild("cgi", EnvLeaf(**kwargs))
    head = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
    out = MemoryConnection(root).send(head + body)
    status = int(out.split(b" ", 2)[1])
    payload = out.partition(b"\r\n\r\n")[2]
    return status, (json.loads(payload) if status == 200 else payload)


def test_standardVariables():
    status, env = envFor(["GET /cgi/extra/path?a=1&b=%20 HTTP/1.1", "Host: example.com:8080",
                          "X-Custom: yes", "Accept: a", "Accept: b"],
                         documentRoot="/srv/www")
    assert status == 200
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == "/cgi"
    assert env["PATH_INFO"] == "/extra/path"
    assert env["PATH_TRANSLATED"] == "/srv/www/extra/path"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["SERVER_NAME"] == "example.com"
    assert env["SERVER_PORT"] == "8080"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_SOFTWARE"].startswith("web2/")
    assert env["REMOTE_ADDR"] == "192.0.2.7"
    assert env["HTTP_X_CUSTOM"] == "yes"
    assert env["HTTP_ACCEPT"] == "a, b"
    assert env["HTTP_HOST"] == "example.com:8080"
    assert env["REQUEST_URI"] == "/cgi/extra/path?a=1&b=%20"
    assert "CONTENT_LENGTH" not in env and "CONTENT_TYPE" not in env
    assert "HTTPS" not in env


def test_onlyPathFromTheServerEnvironment(monkeypatch):
    monkeypatch.setenv("WEB2_SECRET_TOKEN", "hunter2")
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h"], path="/bin")
    assert "WEB2_SECRET_TOKEN" not in env
    assert env["PATH"] == "/bin"
    assert "HOME" not in env and "PYTHONPATH" not in env
    assert "PATH_INFO" not in env and "PATH_TRANSLATED" not in env


def test_extraVariables():
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h"], extra={"LANG": "C.UTF-8"})
    assert env["LANG"] == "C.UTF-8"


def test_httpoxy():
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h", "Proxy: http://evil.example:666/"])
    assert "HTTP_PROXY" not in env


def test_underscoreHeadersDropped():
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h", "X_Forwarded_For: 1.2.3.4"])
    assert "HTTP_X_FORWARDED_FOR" not in env


def test_authorizationNotLeaked():
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h", "Authorization: Basic Zm9vOmJhcg==",
                     "Proxy-Authorization: Basic eDp5"])
    assert "HTTP_AUTHORIZATION" not in env
    assert "HTTP_PROXY_AUTHORIZATION" not in env
    assert "AUTH_TYPE" not in env and "REMOTE_USER" not in env


def test_authorizationPassedWhenConfigured():
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h", "Authorization: Basic Zm9vOmJhcg==",
                     "Proxy-Authorization: Basic eDp5"], passAuthorization=True)
    assert env["HTTP_AUTHORIZATION"] == "Basic Zm9vOmJhcg=="
    assert "HTTP_PROXY_AUTHORIZATION" not in env


def test_bodyVariables():
    status, env = envFor(["POST /cgi HTTP/1.1", "Host: h", "Content-Type: text/plain",
                          "Content-Length: 5"], body=b"hello")
    assert env["CONTENT_LENGTH"] == "5"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_CONTENT_LENGTH" not in env and "HTTP_CONTENT_TYPE" not in env


def test_emptyBodyWithLength():
    _, env = envFor(["POST /cgi HTTP/1.1", "Host: h", "Content-Length: 0"])
    assert env["CONTENT_LENGTH"] == "0"


def test_cookiesJoinedWithSemicolons():
    _, env = envFor(["GET /cgi HTTP/1.1", "Host: h", "Cookie: a=1", "Cookie: b=2"])
    assert env["HTTP_COOKIE"] == "a=1; b=2"


def test_nulInPathRefused():
    status, _ = envFor(["GET /cgi/a%00b HTTP/1.1", "Host: h"])
    assert status == 400


def test_pathTranslatedNeverLeavesTheRoot():
    assert translatePath("/srv/www", "/../../etc/passwd") is None
    assert translatePath("/srv/www", "/a/../b") == "/srv/www/b"
    assert translatePath(None, "/a") is None
    assert translatePath("/srv/www", "") is None


def test_authenticatedUser():
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"secret")

    @implementer(portal.IRealm)
    class Realm:
        def requestAvatar(self, avatarId, mind, *interfaces):
            return interfaces[0], object(), lambda: None

    inner = Resource()
    inner.putChild("cgi", EnvLeaf())
    guarded = HTTPAuthResource(inner, [BasicCredentialFactory("r")],
                               portal.Portal(Realm(), [checker]), [IResource])
    token = base64.b64encode(b"alice:secret").decode()
    status, env = envFor(["GET /cgi HTTP/1.1", "Host: h", f"Authorization: Basic {token}"],
                         root=guarded)
    assert status == 200
    assert env["AUTH_TYPE"] == "Basic"
    assert env["REMOTE_USER"] == "alice"
    assert "HTTP_AUTHORIZATION" not in env
