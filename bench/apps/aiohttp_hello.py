"""
The aiohttp peer: C{python aiohttp_hello.py PORT}. C{GET /} says hello, C{POST /}
drains the body and answers its byte count. No access log.
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


def main(port):
    """
    Serve on 127.0.0.1:C{port} until terminated.
    """
    application = web.Application(client_max_size=1 << 30)
    application.router.add_get("/", hello)
    application.router.add_post("/", upload)
    web.run_app(
        application, host="127.0.0.1", port=port, access_log=None, print=None
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
