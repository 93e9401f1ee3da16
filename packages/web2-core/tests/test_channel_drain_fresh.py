"""
The drain and a connection accepted just before it (issue #17: a reload's
old worker, or SIGTERM, must not close a connection whose client is sending
its first request): that request is answered with C{Connection: close}; a
connection idle after a request is still closed at once.
"""

from _core_helpers import Connection
from twisted.trial.unittest import SynchronousTestCase

from web2 import http, resource


class Root(resource.Resource):
    def render(self, request):
        return http.Response(200, None, b"answer")


def get():
    return b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"


class FreshConnectionDrainTests(SynchronousTestCase):
    def test_freshConnectionAnsweredThenClosed(self):
        conn = Connection(Root())
        d = conn.factory.drain(10)
        self.assertFalse(conn.closed)
        self.assertNoResult(d)
        conn.send(get())
        [response] = conn.responses()
        self.assertEqual((response.status, response.body), (200, b"answer"))
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(conn.closed)
        conn.lose()
        self.successResultOf(d)

    def test_idleAfterARequestClosedAtOnce(self):
        conn = Connection(Root())
        conn.send(get())
        self.assertEqual(len(conn.responses()), 1)
        conn.factory.drain(10)
        self.assertTrue(conn.closed)

    def test_freshConnectionBoundedByTheDrainTimeout(self):
        conn = Connection(Root())
        d = conn.factory.drain(3)
        conn.clock.advance(4)
        self.assertTrue(conn.closed or conn.transport.disconnecting)
        conn.lose()
        self.successResultOf(d)
