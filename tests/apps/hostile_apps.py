"""
The resources and the WSGI application that the hostile-client suite
(C{tests/test_hostile_*.py}, issue #14) mounts in its real server, loaded
with C{--python-path tests/apps} by the C{class:} and C{wsgi:} mount kinds.
"""

import time
from urllib.parse import parse_qs

from web2 import http, resource, stream
from web2.http_headers import MimeType

_TEXT = MimeType("text", "plain", {"charset": "utf-8"})


class Echo(resource.LeafResource):
    """
    The request body is the response body: C{http.Response(200, None,
    request.stream)}, for POST and PUT.  A GET says what it is.
    """

    def render(self, request):
        return http.Response(200, {"content-type": _TEXT}, "echo: POST or PUT a body\n")

    def http_POST(self, request):
        return http.Response(200, None, request.stream)

    http_PUT = http_POST


class Discard(resource.LeafResource):
    """
    Reads the whole request body and throws it away, then answers how many
    bytes it read: an application that keeps up with any client.
    """

    def render(self, request):
        return http.Response(200, {"content-type": _TEXT}, "discard: POST a body\n")

    def http_POST(self, request):
        received = [0]

        def count(data):
            received[0] += len(data)

        d = stream.readStream(request.stream, count)
        d.addCallback(lambda _: http.Response(
            200, {"content-type": _TEXT}, f"{received[0]}\n"))
        return d

    http_PUT = http_POST


#: The longest a request to L{sleepy} may sleep, so that no test can leave
#: a thread of the server's pool asleep for long.
MAX_SLEEP = 10.0


def sleepy(environ, start_response):
    """
    A WSGI application that blocks its thread: it sleeps C{s} seconds (the
    query parameter, 2 by default, at most L{MAX_SLEEP}) before answering.
    """
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        seconds = min(float(query.get("s", ["2"])[0]), MAX_SLEEP)
    except ValueError:
        seconds = 2.0
    time.sleep(max(seconds, 0.0))
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"slept\n"]
