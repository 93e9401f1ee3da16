"""
The drain and a connection whose response is out while its request body
is still unread (a C{413} answered from the declared length, before the
body): nothing is left to wait for but a client that may never send the
body, so the drain closes it at once instead of holding the server's stop
until the drain's deadline (issue #14, found with web2-dav's declared huge
PUT).
"""

from _core_helpers import Connection
from twisted.trial.unittest import SynchronousTestCase

from web2 import http, resource


class Refuse(resource.LeafResource):
    """
    Refuses any body from its declared length, without reading it.
    """

    def http_PUT(self, request):
        return http.Response(413, None, b"too large")


class Root(resource.Resource):
    child_refuse = Refuse()


def put(length):
    return (b"PUT /refuse HTTP/1.1\r\nHost: example.com\r\n"
            b"Content-Length: %d\r\n\r\n" % length)


class UnreadBodyDrainTests(SynchronousTestCase):
    def test_answeredWithBodyUnreadClosedAtOnce(self):
        conn = Connection(Root())
        conn.send(put(2 * 1024 ** 3))
        [response] = conn.responses()
        self.assertEqual(response.status, 413)
        self.assertFalse(conn.closed)
        d = conn.factory.drain(10)
        self.assertTrue(conn.closed)
        # The close lingers, reading and discarding what the client
        # still sends, so that it gets the response rather than a reset.
        conn.send(b"x" * 1000)
        self.assertEqual(conn.responses(), [response])
        self.assertNoResult(d)
        conn.lose()
        self.successResultOf(d)

    def test_bodyBeingReadStillFinishes(self):
        """
        A request whose body the application still reads is not cut
        short: it is answered with C{Connection: close}, then closed.
        """
        class Echo(resource.LeafResource):
            def http_PUT(self, request):
                return http.Response(200, None, request.stream)

        root = Root()
        root.putChild("echo", Echo())
        conn = Connection(root)
        conn.send(b"PUT /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\nhello")
        conn.factory.drain(10)
        self.assertFalse(conn.closed)
        conn.send(b"world")
        [response] = conn.responses()
        self.assertEqual((response.status, response.body), (200, b"helloworld"))
        self.assertTrue(conn.closed)
