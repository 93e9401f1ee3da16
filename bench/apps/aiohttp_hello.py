"""
The aiohttp peer: C{python aiohttp_hello.py PORT}. C{GET /} says hello, C{POST /}
drains the body and answers its byte count. No access log.

C{python aiohttp_hello.py PORT site DIR} serves the benchmark's C{site} shape
the aiohttp way: routes for C{/}, C{/dynamic}, C{/json} and C{/health}, and a
static route for DIR at C{/static/} (there is no WSGI app: aiohttp has no
WSGI container).

C{python aiohttp_hello.py PORT ws} adds a WebSocket echo at C{/ws}.
"""

import sys

from aiohttp import web

_BODY = b"Hello, world!\n"


async def hello(request):
    """
    The hello-world handler.
    """
    return web.Response(body=_BODY, content_type="text/plain")


async def upload(request):
    """
    Drain the request body in chunks and answer its size.
    """
    total = 0
    while True:
        data = await request.content.readany()
        if not data:
            break
        total += len(data)
    return web.Response(body=b"%d\n" % (total,), content_type="text/plain")


async def dynamic(request):
    """
    Greet the C{name} query argument and set it as a cookie.
    """
    name = request.query.get("name", "world")
    response = web.Response(text=f"Hello, {name}!\n", content_type="text/plain")
    response.set_cookie("name", name, path="/")
    return response


async def document(request):
    """
    A small JSON document, serialised per request.
    """
    return web.json_response({"message": "Hello, world!", "path": request.path})


async def wsecho(request):
    """
    Echo every WebSocket message until the client leaves.
    """
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type == web.WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == web.WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


async def health(request):
    """
    The health check.
    """
    return web.Response(text="ok", content_type="text/plain")


def main(port, role="hello", staticDir=None):
    """
    Serve on 127.0.0.1:C{port} until terminated.
    """
    application = web.Application(client_max_size=1 << 30)
    application.router.add_get("/", hello)
    application.router.add_post("/", upload)
    if role == "site":
        application.router.add_get("/dynamic", dynamic)
        application.router.add_get("/json", document)
        application.router.add_get("/health", health)
        application.router.add_static("/static/", staticDir)
    if role == "ws":
        application.router.add_get("/ws", wsecho)
    web.run_app(
        application, host="127.0.0.1", port=port, access_log=None, print=None
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:])
