"""
Test helpers of web2-core.  The shared ones live in the public
L{web2.testing}; this module keeps the short names web2-core's tests use,
and the resources several of them answer with.
"""

from web2 import http, resource
from web2.testing import ChannelConnection as Connection
from web2.testing import LiveServer, inThread, parseResponses, rawExchange
from web2.testing import ParsedResponse as Response

__all__ = ["Connection", "Ignore", "LiveServer", "Pipe", "Response", "inThread",
           "parseResponses", "rawExchange"]


class Pipe(resource.LeafResource):
    """
    Answers a POST with the request body itself, unread: an echo, as a
    proxy answers (issue #14's piped bodies).
    """

    def http_POST(self, request):
        return http.Response(200, None, request.stream)


class Ignore(resource.LeafResource):
    """
    Answers a POST at once without reading the body.
    """

    def http_POST(self, request):
        return http.Response(200, None, b"not read")
