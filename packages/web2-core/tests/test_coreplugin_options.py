"""
Tests for the options of web2-core's own plugin (--trusted-proxy, --gzip,
--vhost), through the real plugin host and a channel.
"""

from __future__ import annotations

import gzip

import pytest
from _core_helpers import Connection
from twisted.internet import address
from twisted.internet.testing import StringTransport

from web2 import coreplugin, resource, server
from web2.config import ConfigError


class Page(resource.Resource):
    def __init__(self, name):
        self.name = name

    def render(self, request):
        body = (f"{self.name} {request.scheme} {request.host} "
                f"{getattr(request.remoteAddr, 'host', '')} ") * 40
        return body


class Root(resource.Resource):
    addSlash = True
    child_a = Page("a")
    child_b = Page("b")

    def render(self, request):
        return "root"


class FakeConfig:
    def __init__(self, **options):
        self.options = options


def site(**options):
    config = FakeConfig(**options)
    base = Root()
    root = coreplugin.web2_wrap_root(base, config) or base
    return server.Site(root, responseFilters=coreplugin.web2_response_filters(config) or ())


def fetch(site, raw, peer="127.0.0.1"):
    conn = Connection(site=site)
    conn.transport = StringTransport(
        hostAddress=address.IPv4Address("TCP", "127.0.0.1", 8080),
        peerAddress=address.IPv4Address("TCP", peer, 4000),
    )
    conn.channel.makeConnection(conn.transport)
    conn.send(raw)
    [response] = conn.responses()
    return response


def test_optionsDeclared():
    names = {o.name for o in coreplugin.web2_options()}
    assert {"trusted-proxy", "gzip", "vhost"} <= names


def test_trustedProxy():
    r = fetch(site(**{"trusted-proxy": ["127.0.0.1"]}),
              b"GET /a HTTP/1.1\r\nHost: in\r\nX-Forwarded-For: 203.0.113.5\r\n"
              b"X-Forwarded-Proto: https\r\n\r\n")
    assert r.body.startswith(b"a https in 203.0.113.5 ")


def test_untrustedPeerIgnored():
    r = fetch(site(**{"trusted-proxy": ["10.0.0.0/8"]}),
              b"GET /a HTTP/1.1\r\nHost: in\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n")
    assert r.body.startswith(b"a http in 127.0.0.1 ")


def test_badProxyRange():
    with pytest.raises(ConfigError):
        site(**{"trusted-proxy": ["not-an-address"]})


def test_gzip():
    r = fetch(site(gzip=True), b"GET /a HTTP/1.1\r\nHost: in\r\nAccept-Encoding: gzip\r\n\r\n")
    assert r.header("content-encoding") == "gzip"
    assert gzip.decompress(r.body).startswith(b"a http in")


def test_vhost():
    s = site(vhost=["b.example=/b"])
    assert fetch(s, b"GET / HTTP/1.1\r\nHost: b.example\r\n\r\n").body.startswith(b"b http b.example")
    assert fetch(s, b"GET /a HTTP/1.1\r\nHost: other\r\n\r\n").body.startswith(b"a http other")


def test_badVhost():
    with pytest.raises(ConfigError):
        site(vhost=["nonsense"])
