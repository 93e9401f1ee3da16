"""
A web2 site with children: each C{child_<name>} attribute of a resource is
the resource at C{<name>} below it.

Run it with::

    twistd -ny children.py

and visit http://localhost:8080/ (set WEB2_EXAMPLE_PORT to use another
port).  It needs web2-static for the file child.
"""

import os
import time
import zlib

from twisted.application import service, strports

from web2 import channel, http, resource, responsecode, server, static
from web2.http_headers import ETag, MimeType


class Child(resource.Resource):
    """
    A page with validators: because it sets Last-Modified and ETag, web2
    answers conditional requests (If-None-Match, If-Modified-Since...) and
    ranges for it without any more code.
    """

    created = time.time()
    text = "Half a league, half a league, half a league onward."

    def render(self, request):
        return http.Response(
            responsecode.OK,
            {
                "last-modified": self.created,
                "etag": ETag(f"{zlib.crc32(self.text.encode('utf-8')):08x}"),
                "content-type": MimeType("text", "plain"),
            },
            self.text,
        )


class Toplevel(resource.Resource):
    addSlash = True

    # A file from the disk: this program's own source.
    child_source = static.File(os.path.abspath(__file__))

    # A resource defined above.
    child_poem = Child()

    # A method: called with the request, it returns the child resource.
    def child_clock(self, request):
        return static.Data(time.ctime().encode("ascii"), "text/plain")

    def render(self, request):
        return http.Response(
            200,
            {"content-type": MimeType("text", "html")},
            """<html><body>
<a href="source">The source code of this example</a><br>
<a href="poem">A defined child</a><br>
<a href="clock">A child made by a method</a>
</body></html>""",
        )


site = server.Site(Toplevel())

port = os.environ.get("WEB2_EXAMPLE_PORT", "8080")
application = service.Application("web2-demo")
strports.service(f"tcp:{port}", channel.HTTPFactory(site)).setServiceParent(
    application
)
