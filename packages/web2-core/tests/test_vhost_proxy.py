"""
Tests for L{web2.vhost} and L{web2.proxy}: host-based dispatch, fixed
public URLs, and forwarding headers trusted only from trusted peers.
"""

from __future__ import annotations

from _core_helpers import Connection
from twisted.internet import address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from web2 import resource, vhost
from web2.proxy import TrustedProxies, TrustedProxyResource


class Named(resource.Resource):
    addSlash = True

    def __init__(self, name):
        self.name = name

    def render(self, request):
        return f"{self.name} {request.scheme}://{request.host}:{request.port} " \
               f"{getattr(request.remoteAddr, 'host', None)}"

    def child_dir(self, request):
        return Named(self.name + "/dir")


def fetch(root, raw, peer="127.0.0.1"):
    conn = Connection(root)
    conn.transport = StringTransport(
        hostAddress=address.IPv4Address("TCP", "127.0.0.1", 8080),
        peerAddress=address.IPv4Address("TCP", peer, 4000),
    )
    conn.channel.makeConnection(conn.transport)
    conn.send(raw)
    [response] = conn.responses()
    return response


class NameVirtualHostTests(SynchronousTestCase):
    def setUp(self):
        self.root = vhost.NameVirtualHost()
        self.root.addHost("example.com", Named("example"))
        self.root.addHost("other.org", Named("other"))

    def test_byHost(self):
        r = fetch(self.root, b"GET / HTTP/1.1\r\nHost: other.org\r\n\r\n")
        self.assertTrue(r.body.startswith(b"other "))

    def test_nested(self):
        r = fetch(self.root, b"GET / HTTP/1.1\r\nHost: www.EXAMPLE.com.\r\n\r\n")
        self.assertTrue(r.body.startswith(b"example "))

    def test_unknownHost404(self):
        r = fetch(self.root, b"GET / HTTP/1.1\r\nHost: nowhere.net\r\n\r\n")
        self.assertEqual(r.status, 404)

    def test_default(self):
        self.root.default = Named("default")
        r = fetch(self.root, b"GET / HTTP/1.1\r\nHost: nowhere.net\r\n\r\n")
        self.assertTrue(r.body.startswith(b"default "))


class VHostURIRewriteTests(SynchronousTestCase):
    def test_redirectUsesPublicURL(self):
        root = resource.Resource()
        root.putChild("app", vhost.VHostURIRewrite("https://public.example/base/", Named("app")))
        r = fetch(root, b"GET /app/dir HTTP/1.1\r\nHost: internal:8080\r\n\r\n")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("location"), "https://public.example/base/dir/")

    def test_badURI(self):
        self.assertRaises(ValueError, vhost.VHostURIRewrite, "/relative", Named("x"))


class TrustedProxyTests(SynchronousTestCase):
    def root(self, trusted=("127.0.0.1",), header="x-forwarded",
             fields=("for", "proto", "host", "prefix")):
        return TrustedProxyResource(Named("app"), TrustedProxies(trusted, header, fields))

    def test_xForwardedFromTrustedPeer(self):
        r = fetch(self.root(), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
                  b"X-Forwarded-Host: www.example.com\r\n\r\n")
        self.assertEqual(r.body, b"app https://www.example.com:443 203.0.113.7")

    def test_spoofedFromUntrustedPeer(self):
        """
        The same headers from a peer outside the trusted ranges change
        nothing.
        """
        r = fetch(self.root(), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n",
                  peer="198.51.100.1")
        self.assertEqual(r.body, b"app http://internal:80 198.51.100.1")

    def test_spoofedChainTakesFirstUntrusted(self):
        """
        A client's own X-Forwarded-For entry is not believed: the nearest
        untrusted hop is the client.
        """
        r = fetch(self.root(("127.0.0.1", "10.0.0.0/8")), b"GET / HTTP/1.1\r\nHost: h\r\n"
                  b"X-Forwarded-For: 1.2.3.4, 203.0.113.9, 10.0.0.5\r\n\r\n")
        self.assertTrue(r.body.endswith(b" 203.0.113.9"))

    def test_forwardedRFC7239(self):
        r = fetch(self.root(header="forwarded"), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b'Forwarded: for="[2001:db8:cafe::17]:4711";proto=https;host=example.org\r\n\r\n')
        self.assertEqual(r.body, b"app https://example.org:443 2001:db8:cafe::17")

    def test_prefixInRedirects(self):
        r = fetch(self.root(), b"GET /dir HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Prefix: /myapp\r\n\r\n")
        self.assertEqual(r.header("location"), "http://internal/myapp/dir/")

    def test_fieldsWithoutXForwardedFor(self):
        """
        A trusted proxy that sets X-Forwarded-Proto or X-Forwarded-Prefix
        but no X-Forwarded-For (nginx's common C{proxy_set_header
        X-Forwarded-Proto $scheme} alone) is believed for those fields; the
        client stays the peer.  They used to be ignored without a word.
        """
        r = fetch(self.root(), b"GET /dir HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-Proto: https\r\nX-Forwarded-Prefix: /myapp\r\n\r\n")
        self.assertEqual(r.header("location"), "https://internal/myapp/dir/")
        r = fetch(self.root(), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-Proto: https\r\n\r\n")
        self.assertEqual(r.body, b"app https://internal:443 127.0.0.1")
        # From an untrusted peer, still nothing.
        r = fetch(self.root(), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-Proto: https\r\n\r\n", peer="198.51.100.1")
        self.assertEqual(r.body, b"app http://internal:80 198.51.100.1")

    def test_defaultFieldsIgnoreHost(self):
        """
        By default only for and proto are believed: a client's own
        X-Forwarded-Host passes through a proxy that does not set it, so it
        is not trusted unless the operator says the proxy sets it.
        """
        root = TrustedProxyResource(Named("app"), TrustedProxies(("127.0.0.1",)))
        r = fetch(root, b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Host: evil.example\r\n"
                  b"X-Forwarded-Proto: https\r\n\r\n")
        self.assertEqual(r.body, b"app https://internal:443 203.0.113.7")

    def test_otherFamilyIgnored(self):
        """
        With the X-Forwarded family chosen, a Forwarded header (which a
        client can send through a proxy that does not write it) changes
        nothing, and the other way round.
        """
        r = fetch(self.root(), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"Forwarded: for=10.1.1.1;host=evil.example;proto=https\r\n\r\n")
        self.assertEqual(r.body, b"app http://internal:80 127.0.0.1")
        r = fetch(self.root(header="forwarded"), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\n\r\n")
        self.assertEqual(r.body, b"app http://internal:80 127.0.0.1")

    def test_badSettings(self):
        self.assertRaises(ValueError, TrustedProxies, header="both")
        self.assertRaises(ValueError, TrustedProxies, fields=("for", "cookie"))

    def test_offByDefault(self):
        """
        A site without the wrapper ignores forwarding headers entirely.
        """
        r = fetch(Named("app"), b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\n\r\n")
        self.assertTrue(r.body.endswith(b" 127.0.0.1"))
