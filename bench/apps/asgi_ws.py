"""
The ASGI application uvicorn runs in the benchmark's C{ws} role: the hello
world of L{bench.apps.asgi_hello} for HTTP, and a WebSocket echo at C{/ws}.
"""

from bench.apps.asgi_hello import app as hello


async def app(scope, receive, send):
    """
    Echo every WebSocket message; anything else goes to the hello app.
    """
    if scope["type"] != "websocket":
        await hello(scope, receive, send)
        return
    message = await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
