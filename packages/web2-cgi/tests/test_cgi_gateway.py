"""
Tests for the shared inbound half: how CGI meta-variables become a web2
request (method, version, length, URL and prefix, headers, addresses),
and how a response becomes a CGI response.
"""

from __future__ import annotations

import pytest

from web2.cgi._gateway import GatewayError, requestFromVariables, responseHead
from web2.http_headers import Headers

BASE = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"}


def req(scriptName=None, defaultLength=0, **variables):
    return requestFromVariables({**BASE, **variables}, scriptName, defaultLength)


def test_rfcScriptNameAndPathInfo():
    info = req(SCRIPT_NAME="/cgi-bin/app.cgi", PATH_INFO="/a b/%x", QUERY_STRING="q=1",
               REQUEST_URI="/cgi-bin/app.cgi/a%20b/%25x?q=1")
    assert info["prefix"] == "/cgi-bin/app.cgi"
    assert info["uri"] == "/a%20b/%25x?q=1"


def test_rfcWithoutPathInfoIsTheRoot():
    info = req(SCRIPT_NAME="/app.cgi", REQUEST_URI="/app.cgi")
    assert (info["prefix"], info["uri"]) == ("/app.cgi", "/")


def test_requestURIWhenNeitherIsGiven():
    info = req(REQUEST_URI="/x/y%2Fz?k=v")
    assert (info["prefix"], info["uri"]) == ("", "/x/y%2Fz?k=v")


def test_queryStringWinsOverRequestURI():
    assert req(REQUEST_URI="/x?old", QUERY_STRING="new")["uri"] == "/x?new"


def test_configuredPrefix():
    info = req("/app", SCRIPT_NAME="/app/x", REQUEST_URI="/app/x/y?z")
    assert (info["prefix"], info["uri"]) == ("/app", "/x/y?z")
    info = req("", SCRIPT_NAME="/whole/path", REQUEST_URI="/whole/path")
    assert (info["prefix"], info["uri"]) == ("", "/whole/path")


def test_configuredPrefixMismatch():
    info = req("/app", REQUEST_URI="/application/x")
    assert (info["prefix"], info["uri"]) == ("", "/application/x")


def test_configuredPrefixWithoutRequestURI():
    info = req("/app", SCRIPT_NAME="/app", PATH_INFO="/p q")
    assert (info["prefix"], info["uri"]) == ("/app", "/p%20q")


@pytest.mark.parametrize("variables", [
    {"REQUEST_METHOD": "G T"}, {"REQUEST_METHOD": ""}, {"SERVER_PROTOCOL": "HTTP/11"},
    {"CONTENT_LENGTH": "1e3"}, {"CONTENT_LENGTH": "9" * 19}, {"REQUEST_URI": "x"},
    {"REQUEST_URI": "/a b"}, {"QUERY_STRING": "a\nb"}, {"PATH_INFO": "/a\0b"},
    {"HTTP_X": "a\r\nb: c"},
])
def test_refused(variables):
    with pytest.raises(GatewayError) as e:
        req(**variables)
    assert e.value.status == 400


def test_lengths():
    assert req()["length"] == 0
    assert req(defaultLength=None)["length"] is None
    info = req(CONTENT_LENGTH="12", CONTENT_TYPE="text/plain")
    assert info["length"] == 12
    assert info["headers"].getRawHeaders("content-length") == ["12"]
    assert info["headers"].getRawHeaders("content-type") == ["text/plain"]


def test_versions():
    assert req()["version"] == (1, 1)
    assert req(SERVER_PROTOCOL="HTTP/1.0")["version"] == (1, 0)
    assert req(SERVER_PROTOCOL="INCLUDED")["version"] == (1, 0)


def test_headers():
    headers = req(HTTP_X_FORWARDED_FOR="1.2.3.4", HTTP_PROXY="evil", HTTP_CONNECTION="close",
                  HTTP_TRANSFER_ENCODING="chunked", HTTP_CONTENT_LENGTH="99",
                  HTTP_ACCEPT="*/*")["headers"]
    assert headers.getRawHeaders("x-forwarded-for") == ["1.2.3.4"]
    assert headers.getRawHeaders("accept") == ["*/*"]
    for name in ("proxy", "connection", "transfer-encoding", "content-length"):
        assert not headers.hasHeader(name), name


def test_addresses():
    info = req(SERVER_NAME="example.com", SERVER_PORT="8443", HTTPS="on",
               REMOTE_ADDR="2001:db8::1", REMOTE_PORT="5555")
    assert (info["host"].host, info["host"].port, info["secure"]) == ("example.com", 8443, True)
    assert (info["remote"].type, info["remote"].host, info["remote"].port) == (
        "TCP", "2001:db8::1", 5555)
    info = req(REQUEST_SCHEME="https")
    assert info["secure"] and info["host"].port == 443
    assert req(HTTPS="off")["secure"] is False


def test_responseHead():
    headers = Headers()
    headers.setRawHeaders("content-type", ["text/plain"])
    headers.setRawHeaders("set-cookie", ["a=1", "b=2"])
    headers.setRawHeaders("connection", ["close"])
    headers.setRawHeaders("transfer-encoding", ["chunked"])
    head = responseHead(404, headers)
    assert head.startswith(b"Status: 404 Not Found\r\n")
    assert head.endswith(b"\r\n\r\n")
    assert head.count(b"Set-Cookie: ") == 2
    assert b"Connection" not in head and b"Transfer-Encoding" not in head


@pytest.mark.parametrize("reason, expected", [
    (b"Custom Reason", b"299 Custom Reason"),
    ("Caf\xe9 latin-1", b"299 Caf\xe9 latin-1"),
    (None, b"299 Unknown Status"),
    (b"", b"299 Unknown Status"),
    (b"split\r\nSet-Cookie: x=1", b"299 Unknown Status"),
    (b"nul\x00", b"299 Unknown Status"),
    ("not latin-1 \u20ac", b"299 Unknown Status"),
])
def test_responseHeadReason(reason, expected):
    """
    An application's own reason phrase (a WSGI status line's) goes on in
    the C{Status:} line, where front ends take it from; one that is empty,
    not latin-1 or could split the head gives way to the standard phrase.
    It used to be the standard phrase always: through nginx's C{scgi_pass}
    and C{fastcgi_pass} and Apache's C{mod_cgi}, C{299 Custom Reason}
    reached clients as C{299 Unknown Status}.
    """
    head = responseHead(299, Headers(), reason)
    assert head.startswith(b"Status: " + expected + b"\r\n")
    assert head.count(b"\r\n") == 2
