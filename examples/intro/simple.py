"""
The smallest web2 site: one resource answering at the top of the URL tree.

Run it with::

    twistd -ny simple.py

and visit http://localhost:8080/ (set WEB2_EXAMPLE_PORT to use another
port).
"""

import os

from twisted.application import service, strports

from web2 import channel, http, resource, server
from web2.http_headers import MimeType


class Toplevel(resource.Resource):
    # A directory-like resource: "/" is added to its URL when missing.
    addSlash = True

    def render(self, request):
        return http.Response(
            200,
            {"content-type": MimeType("text", "html")},
            "<html><body>Hello!  This is a web2 demo.</body></html>",
        )


site = server.Site(Toplevel())

# Standard twistd boilerplate: an application with one listening service.
port = os.environ.get("WEB2_EXAMPLE_PORT", "8080")
application = service.Application("web2-demo")
strports.service(f"tcp:{port}", channel.HTTPFactory(site)).setServiceParent(
    application
)
