# -*- test-case-name: test_asgi_websocket -*-
"""
The ASGI C{websocket} scope on web2's WebSocket support
(L{web2.websocket}, the extra C{web2-core[websocket]}; without C{wsproto}
this module does not import and upgrade requests reach the application as
plain C{http} ones).

The mapping:

  - a valid opening handshake (L{web2.websocket.checkHandshake}; an
    invalid one gets its precise error status without the application
    seeing it) starts the application with a C{websocket} scope; its first
    C{receive()} is C{websocket.connect};
  - C{websocket.accept} accepts (subprotocol and extra headers as given);
    C{websocket.close} before it refuses with 403, and the
    C{websocket.http.response} extension refuses with the application's
    own status, headers and body;
  - C{websocket.receive} carries each whole message (C{text} or C{bytes});
    C{websocket.send} sends one and waits while the client is not reading
    (web2's write high-water mark); C{websocket.close} starts the close
    handshake with the application's code and reason;
  - the connection ending is C{websocket.disconnect} with the close code
    and reason, and C{send()} then raises L{ClientDisconnected};
  - an application that ends without deciding is refused (403); one that
    fails before deciding gets 500, after accepting the connection closes
    with 1011, each with one log line; one that returns while the
    connection is open closes it with 1000.

Limits, timeouts, pings and hostile input are web2.websocket's business
(L{web2.websocket.WebSocketOptions}, given to L{ASGIResource}).
"""

from __future__ import annotations

from twisted.logger import Logger
from twisted.python.failure import Failure

from web2 import websocket as _ws
from web2.asgi.cycle import ASGIProtocolError, ClientDisconnected, _checkHeaders
from web2.asgi.scope import websocketScope

__all__ = ["WebSocketCycle", "isUpgrade", "serve"]

log = Logger()

isUpgrade = _ws.isUpgradeRequest

# States.
_CONNECTING, _OPEN, _DENYING, _CLOSED = range(4)


def serve(resource, request):
    """
    Answer the upgrade request C{request} for C{resource}'s application.

    @return: the response to give the site: the handshake's error, or a
        Deferred of the 101 or of the refusal.
    """
    error = _ws.checkHandshake(request)
    if error is not None:
        return error
    handshake = _ws.WebSocketHandshake(request, resource.websocketOptions)
    lifespan = resource.lifespan
    state = lifespan.state if lifespan is not None else None
    scope = websocketScope(request, handshake.subprotocols, state)
    cycle = WebSocketCycle(handshake, resource.runner, appName=resource.name)
    if lifespan is not None:
        lifespan.requestStarted()
        cycle.whenEnded = lifespan.requestEnded
    cycle.run(resource.application, scope)
    return handshake.response


class WebSocketCycle:
    """
    The C{receive}/C{send} pair of one WebSocket connection.

    @ivar handshake: the L{web2.websocket.WebSocketHandshake}.
    @ivar websocket: the open L{web2.websocket.WebSocket} once accepted.
    """

    whenEnded = None
    websocket = None

    def __init__(self, handshake, runner, *, appName="the ASGI application"):
        self.handshake = handshake
        self.runner = runner
        self.appName = appName
        self._state = _CONNECTING
        self._connectSent = False
        self._denial = None
        self._closed = None

    @property
    def _uri(self):
        return self.handshake.request.uri

    def run(self, application, scope):
        try:
            coroutine = application(scope, self.receive, self.send)
        except Exception as e:
            self._ended(e)
            return
        self._task = self.runner.start(coroutine, self._ended)

    async def receive(self):
        """
        ASGI's C{receive}: C{websocket.connect}, then the messages, then
        C{websocket.disconnect}.
        """
        if not self._connectSent:
            self._connectSent = True
            return {"type": "websocket.connect"}
        if self._state != _OPEN:
            if self._closed is None:
                self._closed = (1006, "")
            code, reason = self._closed
            return {"type": "websocket.disconnect", "code": code, "reason": reason}
        try:
            data = await self.runner.wait(self.websocket.receive())
        except _ws.ConnectionClosed as e:
            self._state = _CLOSED
            self._closed = (e.code, e.reason)
            return {"type": "websocket.disconnect", "code": e.code, "reason": e.reason}
        if type(data) is str:
            return {"type": "websocket.receive", "text": data}
        return {"type": "websocket.receive", "bytes": data}

    async def send(self, message):
        """
        ASGI's C{send}.

        @raise ClientDisconnected: the connection is closed.
        @raise ASGIProtocolError: the message is out of order or malformed.
        """
        kind = message["type"]
        state = self._state
        if kind == "websocket.send":
            if state != _OPEN:
                if state == _CONNECTING:
                    raise ASGIProtocolError("websocket.send before websocket.accept")
                raise ClientDisconnected("the WebSocket connection is closed")
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
            if not isinstance(data, (str, bytes)):
                raise ASGIProtocolError("websocket.send needs bytes or text")
            try:
                await self.runner.wait(self.websocket.send(data))
            except _ws.ConnectionClosed as e:
                self._state = _CLOSED
                self._closed = (e.code, e.reason)
                raise ClientDisconnected(f"the WebSocket connection closed ({e.code})"
                                         ) from None
            return
        if kind == "websocket.accept":
            if state != _CONNECTING:
                raise ASGIProtocolError("websocket.accept out of order")
            self._accept(message)
            return
        if kind == "websocket.close":
            if state == _CONNECTING:
                self._state = _CLOSED
                self._closed = (message.get("code", 1000), message.get("reason") or "")
                self.handshake.reject(403)
                return
            if state == _OPEN:
                self._state = _CLOSED
                code = message.get("code", 1000)
                reason = message.get("reason") or ""
                self._closed = (code, reason)
                try:
                    self.websocket.close(code, reason)
                except ValueError as e:
                    raise ASGIProtocolError(f"websocket.close: {e}") from None
                return
            if state == _DENYING:
                raise ASGIProtocolError("websocket.close during a denial response")
            raise ClientDisconnected("the WebSocket connection is closed")
        if kind == "websocket.http.response.start":
            if state != _CONNECTING:
                raise ASGIProtocolError("websocket.http.response.start after the "
                                        "handshake was decided")
            status = message.get("status")
            if type(status) is not int or not 400 <= status <= 599:
                raise ASGIProtocolError(f"a denial response needs a 4xx or 5xx "
                                        f"status, not {status!r}")
            pairs, _ = _checkHeaders(message.get("headers", ()))
            self._denial = (status, pairs, [])
            self._state = _DENYING
            return
        if kind == "websocket.http.response.body":
            if state != _DENYING:
                raise ASGIProtocolError("websocket.http.response.body without "
                                        "websocket.http.response.start")
            status, pairs, chunks = self._denial
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self._state = _CLOSED
                self._closed = (1000, "")
                self.handshake.reject(
                    status, b"".join(chunks),
                    [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs])
            return
        raise ASGIProtocolError(f"unexpected message {kind!r} in a websocket scope")

    def _accept(self, message):
        subprotocol = message.get("subprotocol")
        headers = [(n.decode("latin-1"), v.decode("latin-1"))
                   for n, v in _checkHeaders(message.get("headers", ()))[0]]
        try:
            self.websocket = self.handshake.accept(subprotocol, headers)
        except ValueError as e:
            raise ASGIProtocolError(f"websocket.accept: {e}") from None
        except _ws.ConnectionClosed as e:
            self._state = _CLOSED
            self._closed = (e.code, e.reason)
            raise ClientDisconnected("the client left before the handshake was "
                                     "accepted") from None
        self._state = _OPEN

    def _ended(self, exception):
        ended, self.whenEnded = self.whenEnded, None
        if ended is not None:
            ended()
        handshake = self.handshake
        if not handshake.decided:
            if exception is not None:
                log.failure("{app} failed on the WebSocket handshake of {uri}; answering "
                            "500", Failure(exception, type(exception),
                                           exception.__traceback__),
                            app=self.appName, uri=self._uri)
                handshake.reject(500)
            else:
                log.info("{app} ended without accepting the WebSocket {uri}; answering "
                         "403", app=self.appName, uri=self._uri)
                handshake.reject(403)
            return
        websocket = self.websocket
        if websocket is None:
            return
        if exception is not None and not isinstance(exception, ClientDisconnected):
            if websocket.isOpen:
                log.failure("{app} failed on the WebSocket {uri}; closing it with 1011",
                            Failure(exception, type(exception), exception.__traceback__),
                            app=self.appName, uri=self._uri)
                websocket.close(1011, "internal error")
            else:
                log.debug("{app} ended with {e!r} after the WebSocket {uri} closed",
                          app=self.appName, e=exception, uri=self._uri)
            return
        if websocket.isOpen:
            websocket.close(1000, "")
