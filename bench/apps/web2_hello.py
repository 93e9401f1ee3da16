"""
The web2 resources the benchmark mounts with C{--mount /=class:...}.

L{Hello} answers C{GET} with a fixed 14-byte body and drains a C{POST} body,
answering its size (the 100 MiB upload scenario).  Kept tiny on purpose: it
measures the server, not the application.
"""

from web2 import http, http_headers, resource
from web2.stream import readStream

_BODY = b"Hello, world!\n"


def _plainHeaders():
    # The raw value, as the twisted.web peer sets it with setHeader.
    headers = http_headers.Headers()
    headers.setRawHeaders("content-type", ["text/plain"])
    return headers


class Hello(resource.Resource):
    """
    Hello, world.
    """

    addSlash = False

    def render(self, request):
        return http.Response(200, _plainHeaders(), _BODY)

    def http_POST(self, request):
        received = [0]

        def count(data):
            received[0] += len(data)

        d = readStream(request.stream, count)
        return d.addCallback(
            lambda _: http.Response(200, _plainHeaders(), b"%d\n" % (received[0],))
        )
