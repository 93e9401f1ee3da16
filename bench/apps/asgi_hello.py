"""
The ASGI application uvicorn runs: C{Hello, world!} for C{GET}, a byte count of
the drained body for C{POST}.
"""

_BODY = b"Hello, world!\n"
_HEAD = [(b"content-type", b"text/plain")]


async def app(scope, receive, send):
    """
    Answer one HTTP request; ignore lifespan events.
    """
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = _BODY
    if scope["method"] == "POST":
        total = 0
        more = True
        while more:
            message = await receive()
            total += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"%d\n" % (total,)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": _HEAD + [(b"content-length", b"%d" % (len(body),))],
        }
    )
    await send({"type": "http.response.body", "body": body})
