"""
A plain ASGI application and a WSGI one, served side by side with static
files by C{test_asgi_site.py}.
"""


async def app(scope, receive, send):
    """
    http: the scope's root_path and path; websocket: an echo.
    """
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "asgi " + message["text"]})
    body = f"asgi {scope['root_path']} {scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def wsgi(environ, start_response):
    body = f"wsgi {environ['SCRIPT_NAME']} {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
