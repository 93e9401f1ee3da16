"""
Tests for web2 as a CGI script: L{runCGI} in this process with files for
stdin and stdout, and C{python -m web2.cgi.run} as a real child process
(whose site answers later, so the reactor runs).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap

import pytest
from _cgi_helpers import Echo, parseCGIResponse, parseEcho

from web2 import server
from web2.cgi import runCGI
from web2.cgi.run import loadSite

ENV = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": "/app.cgi",
       "PATH_INFO": "/some/where", "QUERY_STRING": "a=b", "SERVER_NAME": "example.org",
       "SERVER_PORT": "80", "REMOTE_ADDR": "192.0.2.1", "HTTP_HOST": "example.org"}


def run(env, body=b"", **kwargs):
    out = io.BytesIO()
    status = runCGI(server.Site(Echo()), env, io.BytesIO(body), out, beginLogging=False,
                    **kwargs)
    return status, out.getvalue()


def test_get():
    status, out = run(ENV)
    assert status == 0
    assert out.startswith(b"Status: 200 OK\r\n")
    code, headers, body = parseCGIResponse(out)
    echo = parseEcho(body)
    assert echo["path"] == "/some/where"
    assert echo["prefix"] == "/app.cgi"
    assert echo["url"] == "http://example.org/app.cgi/some/where?a=b"
    assert echo["remote"] == "192.0.2.1"
    assert int(headers["content-length"]) == len(body)


def test_bytesEnvironment():
    env = {k.encode(): v.encode() for k, v in ENV.items()}
    env[b"PATH_INFO"] = b"/caf\xc3\xa9"
    _, out = run(env)
    assert parseEcho(parseCGIResponse(out)[2])["path"] == "/caf%C3%A9"


def test_noPathInfoIsTheRoot():
    env = dict(ENV)
    del env["PATH_INFO"]
    _, out = run(env)
    assert parseEcho(parseCGIResponse(out)[2])["path"] == "/"


def test_post():
    body = os.urandom(200000)
    env = dict(ENV, REQUEST_METHOD="POST", PATH_INFO="/post", CONTENT_LENGTH=str(len(body)),
               CONTENT_TYPE="application/octet-stream")
    status, out = run(env, body + b"trailing junk")
    assert parseCGIResponse(out)[2].split() == [
        b"200000", hashlib.sha256(body).hexdigest().encode()]


def test_chunkedBodyWithoutLengthIsReadToTheEnd():
    """
    Apache's mod_cgi passes a chunked request body de-chunked, with no
    CONTENT_LENGTH but HTTP_TRANSFER_ENCODING, and closes stdin at its end:
    the body is all of stdin.
    """
    body = os.urandom(300000)
    env = dict(ENV, REQUEST_METHOD="POST", PATH_INFO="/post",
               HTTP_TRANSFER_ENCODING="chunked", CONTENT_TYPE="application/octet-stream")
    status, out = run(env, body)
    assert status == 0
    assert parseCGIResponse(out)[2].split() == [
        b"300000", hashlib.sha256(body).hexdigest().encode()]


def test_noLengthNoTransferEncodingIsNoBody():
    """
    Without CONTENT_LENGTH or a transfer coding there is no body (RFC
    3875), whatever stdin holds.
    """
    env = dict(ENV, REQUEST_METHOD="POST", PATH_INFO="/post")
    status, out = run(env, b"not a body")
    assert status == 0
    assert parseCGIResponse(out)[2].split() == [
        b"0", hashlib.sha256(b"").hexdigest().encode()]


def test_lengthWinsOverTransferEncoding():
    env = dict(ENV, REQUEST_METHOD="POST", PATH_INFO="/post", CONTENT_LENGTH="3",
               HTTP_TRANSFER_ENCODING="chunked")
    status, out = run(env, b"abcdef")
    assert parseCGIResponse(out)[2].split()[0] == b"3"


def test_truncatedBody():
    env = dict(ENV, REQUEST_METHOD="POST", PATH_INFO="/post", CONTENT_LENGTH="100")
    status, out = run(env, b"short")
    assert status == 1
    assert out == b""


@pytest.mark.parametrize("bad", [{"REQUEST_METHOD": ""}, {"CONTENT_LENGTH": "-5"},
                                 {"SERVER_PROTOCOL": "SPDY/3"}, {"QUERY_STRING": "a b"},
                                 {"HTTP_X_A": "a\nb"}])
def test_badEnvironment(bad):
    status, out = run(dict(ENV, **bad))
    assert parseCGIResponse(out)[0] == 400


def test_loadSite(tmp_path, monkeypatch):
    (tmp_path / "cgisite_mod.py").write_text(textwrap.dedent("""
        from web2 import server
        from web2.resource import Resource
        resource = Resource()
        site = server.Site(resource)
        def factory():
            return resource
        nothing = 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert isinstance(loadSite("cgisite_mod:site"), server.Site)
    assert isinstance(loadSite("cgisite_mod:resource"), server.Site)
    assert isinstance(loadSite("cgisite_mod.factory"), server.Site)
    for name in ("cgisite_mod:nothing", "cgisite_mod:missing", "no_such_module_x:y"):
        with pytest.raises(ValueError):
            loadSite(name)


SLOW_SITE = """
from twisted.internet import reactor, task
from web2 import http, resource, server
from web2.stream import readAll

class Slow(resource.Resource):
    def locateChild(self, request, segments):
        return self, ()

    def render(self, request):
        return task.deferLater(reactor, 0.05, lambda: http.Response(
            200, None, "later " + request.path))

    def http_POST(self, request):
        return readAll(request.stream).addCallback(
            lambda data: http.Response(200, None, b"got %d" % len(data)))

site = server.Site(Slow())
"""


def runModule(tmp_path, env, body=b"", args=None):
    (tmp_path / "cgi_slow_site.py").write_text(SLOW_SITE)
    fullEnv = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "PYTHONPATH": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "web2.cgi.run"] + (args or ["--site", "cgi_slow_site:site"]),
        input=body, env=fullEnv, capture_output=True, timeout=30, cwd=str(tmp_path))


@pytest.mark.slow
def test_moduleRunsTheReactor(tmp_path):
    result = runModule(tmp_path, ENV)
    assert result.returncode == 0, result.stderr
    status, _, body = parseCGIResponse(result.stdout)
    assert (status, body) == (200, b"later /some/where")


@pytest.mark.slow
def test_moduleStreamsALargeBody(tmp_path):
    body = os.urandom(3 * 1024 * 1024)
    env = dict(ENV, REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)))
    result = runModule(tmp_path, env, body)
    assert result.returncode == 0, result.stderr
    assert parseCGIResponse(result.stdout)[2] == b"got %d" % len(body)


@pytest.mark.slow
def test_moduleReadsAChunkedBodyToTheEndOfStdin(tmp_path):
    """
    The CGI entry as Apache's mod_cgi runs it for a chunked POST: no
    CONTENT_LENGTH, HTTP_TRANSFER_ENCODING=chunked, the de-chunked body on
    stdin, which is closed at its end.  The body used to be read as empty.
    """
    body = os.urandom(2 * 1024 * 1024 + 11)
    env = dict(ENV, REQUEST_METHOD="POST", HTTP_TRANSFER_ENCODING="chunked",
               CONTENT_TYPE="application/octet-stream")
    result = runModule(tmp_path, env, body)
    assert result.returncode == 0, result.stderr
    assert parseCGIResponse(result.stdout)[2] == b"got %d" % len(body)


@pytest.mark.slow
def test_moduleWithoutLengthDoesNotWaitForStdin(tmp_path):
    """
    Without CONTENT_LENGTH and without a transfer coding there is no body:
    the script answers although its stdin is never closed (a server may
    leave it open).
    """
    env = dict(ENV, REQUEST_METHOD="POST")
    readEnd, writeEnd = os.pipe()
    try:
        (tmp_path / "cgi_slow_site.py").write_text(SLOW_SITE)
        result = subprocess.run(
            [sys.executable, "-m", "web2.cgi.run", "--site", "cgi_slow_site:site"],
            stdin=readEnd, capture_output=True, timeout=30, cwd=str(tmp_path),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                 "PYTHONPATH": str(tmp_path), **env})
    finally:
        os.close(readEnd)
        os.close(writeEnd)
    assert result.returncode == 0, result.stderr
    assert parseCGIResponse(result.stdout)[2] == b"got 0"


@pytest.mark.slow
def test_moduleWithWeb2Options(tmp_path):
    result = runModule(tmp_path, dict(ENV, PATH_INFO="/t"),
                       args=["--mount", "/t=text:hello from options"])
    assert result.returncode == 0, result.stderr
    assert parseCGIResponse(result.stdout)[2] == b"hello from options"


@pytest.mark.slow
def test_moduleBadSite(tmp_path):
    result = runModule(tmp_path, ENV, args=["--site", "nowhere_at_all:site"])
    assert result.returncode == 1
    assert b"cannot find" in result.stderr
