"""
The WebSocket resource of the hostile suite (tests/test_hostile_websocket.py),
mounted with C{class:hostile_ws.Echo}: an echo with small limits and short
timeouts, so that each attack meets them within seconds.
"""

from web2.websocket import WebSocketResource


async def _echo(handshake):
    ws = handshake.accept()
    async for message in ws:
        await ws.send(message)


class Echo(WebSocketResource):
    """
    An echo: messages up to 64 KiB, cut off after 3 s of unread output or
    of an unanswered Close.
    """

    def __init__(self):
        WebSocketResource.__init__(
            self, _echo, maxMessageSize=64 * 1024, sendTimeout=3.0, closeTimeout=2.0,
            pingInterval=None, idleTimeout=30.0)
