"""
A resource that reports how web2 sees the request: used by the tests that
put real front-end servers in front of web2.
"""

import json

from web2 import http, resource
from web2.http_headers import MimeType


class Report(resource.Resource):
    addSlash = True

    def render(self, request):
        body = json.dumps({
            "scheme": request.scheme,
            "host": request.host,
            "port": request.port,
            "client": getattr(request.remoteAddr, "host", None),
            "path": request.path,
            "self": request.unparseURL(),
        })
        return http.Response(200, {"content-type": MimeType("application", "json")}, body)

    def child_dir(self, request):
        return Report()
