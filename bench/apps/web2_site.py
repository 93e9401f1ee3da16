"""
The application shape users write, for the C{site} role of the benchmark
(issue #18): resources written as the tutorial teaches, mounted beside other
things in one site, the way C{examples/demo/site.toml} does::

    python -m web2 --mount /=class:bench.apps.web2_site.Hello \\
        --mount /static=static:DIR --mount /wsgi=wsgi:bench.apps.wsgi_hello:app \\
        --mount /dynamic=class:bench.apps.web2_site.Dynamic \\
        --mount /json=class:bench.apps.web2_site.Json --mount /health=text:ok

Unlike L{bench.apps.web2_hello}, nothing here is tuned: the headers are typed
values built in C{render} for every request (a L{MimeType} in a dict, as in
C{examples/intro/simple.py}), the body is a C{str}, and the dynamic page reads
C{request.args} and sets a cookie as a form handler would.  The mounts
themselves are listed in L{bench._servers.siteMounts}.
"""

import json

from web2 import http, resource
from web2.http_headers import Cookie, MimeType


class Hello(resource.Resource):
    """
    The tutorial's first page, answering with the benchmark's 14 bytes.
    """

    addSlash = False

    def render(self, request):
        return http.Response(
            200, {"content-type": MimeType("text", "plain")}, "Hello, world!\n"
        )


class Dynamic(resource.Resource):
    """
    A page that greets the C{name} query argument and remembers it in a cookie.
    """

    addSlash = False

    def render(self, request):
        name = request.args.get("name", ["world"])[0]
        response = http.Response(
            200,
            {"content-type": MimeType("text", "plain", {"charset": "utf-8"})},
            f"Hello, {name}!\n",
        )
        response.headers.setHeader("set-cookie", [Cookie("name", name, path="/")])
        return response


class Json(resource.Resource):
    """
    A small JSON document, serialised per request.
    """

    addSlash = False

    def render(self, request):
        body = json.dumps({"message": "Hello, world!", "path": request.path})
        return http.Response(
            200, {"content-type": MimeType("application", "json")}, body
        )


__all__ = ["Dynamic", "Hello", "Json"]
