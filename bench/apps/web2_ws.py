"""
The web2 application of the benchmark's C{ws} role, mounted with
C{--mount /=class:bench.apps.web2_ws.Root}: the hello world at C{/} (the
harness's readiness check) and a WebSocket echo at C{/ws}, written the way
the WebSocket guide teaches (an C{async def} handler).
"""

from bench.apps.web2_hello import Hello
from web2 import resource
from web2.websocket import WebSocketResource


async def echo(handshake):
    """
    Echo every message until the client leaves.
    """
    ws = handshake.accept()
    async for message in ws:
        await ws.send(message)


class Root(Hello):
    """
    Hello at C{/}, the echo at C{/ws}.
    """

    def __init__(self):
        self.putChild("ws", WebSocketResource(echo))

    def locateChild(self, request, segments):
        return resource.Resource.locateChild(self, request, segments)
