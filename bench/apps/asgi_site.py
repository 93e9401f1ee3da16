"""
The benchmark's C{site} shape as a plain ASGI application for uvicorn: the
hello of L{bench.apps.asgi_hello} at C{/}, a dynamic page reading the query and
setting a cookie at C{/dynamic}, a JSON answer at C{/json}, a health check, and
files from C{$BENCH_STATIC_DIR} under C{/static/} (read per request, as a
minimal file route would; uvicorn has no static file server of its own).  A
dictionary dispatches by path: the least an ASGI site can do, so the figure
flatters uvicorn rather than the other way round.
"""

import json
import os
from urllib.parse import parse_qs

from bench.apps.asgi_hello import app as hello

_STATIC = os.environ.get("BENCH_STATIC_DIR", "")


def _head(status, contentType, length, extra=()):
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", contentType),
                    (b"content-length", b"%d" % (length,)), *extra],
    }  # fmt: skip


async def _answer(send, status, contentType, body, extra=()):
    await send(_head(status, contentType, len(body), extra))
    await send({"type": "http.response.body", "body": body})


async def dynamic(scope, receive, send):
    """
    Greet the C{name} query argument and set it as a cookie.
    """
    query = parse_qs(scope["query_string"].decode("latin-1"))
    name = query.get("name", ["world"])[0]
    cookie = (b"set-cookie", f"name={name}; Path=/".encode())
    await _answer(send, 200, b"text/plain; charset=utf-8",
                  f"Hello, {name}!\n".encode(), (cookie,))


async def document(scope, receive, send):
    """
    A small JSON document, serialised per request.
    """
    body = json.dumps({"message": "Hello, world!", "path": scope["path"]})
    await _answer(send, 200, b"application/json", body.encode("utf-8"))


async def health(scope, receive, send):
    """
    The health check.
    """
    await _answer(send, 200, b"text/plain", b"ok")


async def static(scope, receive, send):
    """
    A file below C{$BENCH_STATIC_DIR}, or 404.
    """
    name = scope["path"][len("/static/"):]
    path = os.path.join(_STATIC, name)
    if "/" in name or not name or not os.path.isfile(path):
        await _answer(send, 404, b"text/plain", b"not found\n")
        return
    with open(path, "rb") as f:
        body = f.read()
    await _answer(send, 200, b"application/octet-stream", body)


_ROUTES = {"/dynamic": dynamic, "/json": document, "/health": health}


async def app(scope, receive, send):
    """
    Dispatch by path.
    """
    if scope["type"] != "http":
        return await hello(scope, receive, send)
    path = scope["path"]
    handler = _ROUTES.get(path)
    if handler is None:
        handler = static if path.startswith("/static/") else hello
    await handler(scope, receive, send)
