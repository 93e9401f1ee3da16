# -*- test-case-name: test_websocket -*-
"""
WebSocket (RFC 6455, with permessage-deflate of RFC 7692) on web2's
HTTP/1.1 channel, built on the sans-I/O C{wsproto}: install the extra
C{web2-core[websocket]}.

A resource answers the opening handshake (an HTTP GET with C{Upgrade:
websocket}); accepting it writes the C{101 Switching Protocols} response
and the channel hands the connection over (L{HTTPChannelRequest.switchProtocols}):
from then on the bytes go to a L{WebSocket}, never to the HTTP reader.

Three layers, each usable on its own:

  - L{checkHandshake}: the protocol checks (426, 400, 405), a response to
    send or C{None};
  - L{WebSocketHandshake}: one valid upgrade request waiting for a
    decision, L{WebSocketHandshake.accept} (with a subprotocol and extra
    headers) or L{WebSocketHandshake.reject} (any status); its
    C{response} Deferred is what C{render} returns;
  - L{WebSocketResource}: a resource that checks the handshake and the
    origin (403) and runs a handler per connection, which may be an
    C{async def}, return a Deferred, or neither.

A L{WebSocket} delivers whole messages (C{str} for text, C{bytes} for
binary) through L{WebSocket.receive} or C{async for}, and sends with
backpressure: L{WebSocket.send} returns a Deferred that waits while the
output the client has not taken is over C{writeHighWater}.  Every limit
and timeout is a parameter of L{WebSocketOptions}.  Hostile input ends the
connection with the close code RFC 6455 gives it and one log line: 1002
for a protocol error (an unmasked client frame, a bad opcode, a fragmented
control frame), 1007 for invalid UTF-8 or deflate data, 1009 for a frame,
a message or an inflated message over its limit.  Memory stays bounded: a
client that sends faster than the application receives, or that never
reads what the server sends (pings answered by pongs), stops being read.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections import OrderedDict
from enum import IntEnum

try:
    from wsproto.connection import Connection, ConnectionState, ConnectionType
    from wsproto.events import (
        BytesMessage,
        CloseConnection,
        Ping,
        Pong,
        TextMessage,
    )
    from wsproto.extensions import Extension, PerMessageDeflate
    from wsproto.frame_protocol import CloseReason, Opcode, RsvBits
except ImportError as e:  # pragma: no cover (the extra is missing)
    raise ImportError(
        "web2.websocket needs wsproto: install web2-core[websocket]"
    ) from e

from twisted.internet import defer, interfaces, protocol
from twisted.internet.error import ConnectionLost
from twisted.internet.tcp import Server as _TCPServer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import _wire, http, responsecode
from web2.http_headers import Headers
from web2.iweb import IResource

log = Logger(namespace=__name__)

__all__ = [
    "CloseCode",
    "ConnectionClosed",
    "WebSocket",
    "WebSocketHandshake",
    "WebSocketOptions",
    "WebSocketResource",
    "checkHandshake",
    "isUpgradeRequest",
    "sameOrigin",
]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CloseCode(IntEnum):
    """
    The close codes of RFC 6455 section 7.4.1.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    ABNORMAL = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013


#: Codes an application may send in a Close frame.
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013})


class ConnectionClosed(Exception):
    """
    The WebSocket connection is closed (or closing): nothing more can be
    received or sent.

    @ivar code: the close code (L{CloseCode}, or an application's 3000-4999).
    @ivar reason: the close reason, C{str}.
    """

    def __init__(self, code: int, reason: str = ""):
        Exception.__init__(self, code, reason)
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"ConnectionClosed({self.code}, {self.reason!r})"


class WebSocketOptions:
    """
    The limits and timeouts of WebSocket connections.  Each is a
    constructor parameter with a documented default.
    """

    def __init__(
        self,
        *,
        maxMessageSize: int = 1024 * 1024,
        maxFrameSize: int | None = None,
        maxQueuedMessages: int = 16,
        writeHighWater: int = 65536,
        compression: bool = True,
        compressionWindowBits: int = 12,
        compressionMemLevel: int = 5,
        maxDecompressedSize: int | None = None,
        pingInterval: float | None = 20.0,
        idleTimeout: float | None = 60.0,
        closeTimeout: float = 10.0,
        sendTimeout: float = 60.0,
        reactor=None,
    ):
        """
        @param maxMessageSize: bytes in one received message (after
            decompression); beyond it the connection closes with 1009.
        @param maxFrameSize: payload bytes of one received frame, judged by
            its header before any of it is read; beyond it 1009.  By
            default C{maxMessageSize}.
        @param maxQueuedMessages: whole messages received and not yet taken
            by L{WebSocket.receive}; at this many the socket is not read
            (and nothing more is parsed) until the application takes one.
        @param writeHighWater: bytes of output the client has not taken
            above which L{WebSocket.send} waits and the socket is not read
            (so that answers to pings cannot pile up).  On TCP it becomes
            the transport's C{bufferSize}, which is also the most one read
            takes from the socket.
        @param compression: accept permessage-deflate when offered.
        @param compressionWindowBits: the largest LZ77 window (9 to 15) the
            server compresses with, and asks the client to compress with
            when it may: a connection's deflate state grows with it (with
            C{compressionMemLevel}, 12 and 5 make about 32 KiB instead of
            zlib's default 256 KiB).
        @param compressionMemLevel: zlib's C{memLevel} (1 to 9) for the
            server's compressor.
        @param maxDecompressedSize: bytes one compressed message may inflate
            to (a deflate bomb closes with 1009, having inflated at most
            this much); by default C{maxMessageSize}.
        @param pingInterval: seconds without input after which the server
            pings (keep-alive through proxies and NATs); C{None} for none.
        @param idleTimeout: seconds without any input (messages, pings or
            pongs) after which the connection closes with 1001; C{None}
            for no limit.
        @param closeTimeout: seconds the peer has to answer a Close and
            end the connection before it is cut off.
        @param sendTimeout: seconds the output may stay over
            C{writeHighWater} before the connection is cut off.
        @param reactor: the reactor for timers; the global one by default.
        """
        if maxMessageSize < 1:
            raise ValueError("maxMessageSize must be positive")
        self.maxMessageSize = maxMessageSize
        self.maxFrameSize = maxMessageSize if maxFrameSize is None else maxFrameSize
        self.maxQueuedMessages = max(1, maxQueuedMessages)
        self.writeHighWater = writeHighWater
        self.compression = compression
        if not 9 <= compressionWindowBits <= 15:
            raise ValueError("compressionWindowBits must be from 9 to 15")
        if not 1 <= compressionMemLevel <= 9:
            raise ValueError("compressionMemLevel must be from 1 to 9")
        self.compressionWindowBits = compressionWindowBits
        self.compressionMemLevel = compressionMemLevel
        self.maxDecompressedSize = (
            maxMessageSize if maxDecompressedSize is None else maxDecompressedSize
        )
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
        self.closeTimeout = closeTimeout
        self.sendTimeout = sendTimeout
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor


# The handshake (RFC 6455 section 4.2.1)


def _tokens(headers, name) -> list[str]:
    values = headers.getRawHeaders(name) or []
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def isUpgradeRequest(request) -> bool:
    """
    Whether C{request} asks to upgrade to WebSocket (its C{Upgrade} field
    names C{websocket}); valid or not is L{checkHandshake}'s question.
    """
    return "websocket" in _tokens(request.headers, "upgrade")


def _plain(code: int, text: str, headers=()) -> http.Response:
    response = http.Response(
        code, {"content-type": http.MimeType("text", "plain", {"charset": "utf-8"})},
        f"{code} {text}\n",
    )
    for name, value in headers:
        response.headers.setRawHeaders(name, [value])
    return response


def _validKey(key) -> bool:
    if key is None:
        return False
    try:
        return len(base64.b64decode(key.strip().encode("ascii"), validate=True)) == 16
    except (ValueError, UnicodeEncodeError):
        return False


def checkHandshake(request):
    """
    The checks of RFC 6455 section 4.2.1 on an opening handshake.

    @return: C{None} for a valid handshake; otherwise the response to
        send: 405 for a method other than GET, 400 for HTTP/1.0, a body, a
        C{Connection} without C{upgrade} or a bad C{Sec-WebSocket-Key},
        426 (with C{Upgrade: websocket}) for a request that does not ask
        for WebSocket, 426 with C{Sec-WebSocket-Version: 13} for another
        version.
    """
    headers = request.headers
    if "websocket" not in _tokens(headers, "upgrade"):
        return _plain(426, "this resource speaks WebSocket only", (
            ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")))
    if request.method != "GET":
        response = _plain(405, "a WebSocket handshake is a GET")
        response.headers.setRawHeaders("allow", ["GET"])
        return response
    if tuple(request.clientproto) < (1, 1):
        return _plain(400, "a WebSocket handshake needs HTTP/1.1")
    stream = getattr(request, "stream", None)
    if stream is not None and stream.length != 0:
        return _plain(400, "a WebSocket handshake has no body")
    if "upgrade" not in _tokens(headers, "connection"):
        return _plain(400, "Connection: upgrade is missing")
    versions = headers.getRawHeaders("sec-websocket-version") or []
    if [v.strip() for v in versions] != ["13"]:
        return _plain(426, "unsupported WebSocket version", (("Sec-WebSocket-Version", "13"),))
    keys = headers.getRawHeaders("sec-websocket-key") or []
    if len(keys) != 1 or not _validKey(keys[0]):
        return _plain(400, "bad Sec-WebSocket-Key")
    return None


def sameOrigin(origin, request) -> bool:
    """
    Whether C{origin} (an C{Origin} field value) is the origin of the
    request's own site: same scheme, host and port.  A policy for
    L{WebSocketResource}'s C{origins} argument (C{origins=sameOrigin})
    against cross-site WebSocket hijacking: a page of another site that a
    logged-in user visits cannot open a WebSocket carrying the user's
    cookies.  A request without C{Origin} (not sent by a browser) passes.
    """
    if origin is None:
        return True
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return False
    if port is None:
        port = 443 if scheme == "https" else 80
    return (scheme, parts.hostname.lower(), port) == (
        request.scheme, (request.host or "").lower(), request.port)


def _acceptKey(key: str) -> bytes:
    digest = hashlib.sha1(key.strip().encode("ascii") + _GUID).digest()
    return base64.b64encode(digest)


# Limits inside wsproto's frame decoder: two extensions, enabled on every
# connection.  wsproto gives the payload of a data frame as it arrives,
# piece by piece, so nothing here holds more than a read's worth of input.

_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY)


class _Limits(Extension):
    """
    Not an extension negotiated with the peer: the frame and message size
    limits, checked by wsproto's decoder on every frame header (before the
    payload is read) and every piece of payload.
    """

    name = "web2-limits"

    def __init__(self, maxFrame: int, maxMessage: int):
        self.maxFrame = maxFrame
        self.maxMessage = maxMessage
        self.size = 0
        self.control = False

    def enabled(self) -> bool:
        return True

    def offer(self):
        return False

    def frame_inbound_header(self, proto, opcode, rsv, payload_length):
        self.control = opcode.iscontrol()
        if not self.control:
            if payload_length > self.maxFrame:
                return CloseReason.MESSAGE_TOO_BIG
            if opcode in _DATA_OPCODES:
                self.size = 0
        return RsvBits(False, False, False)

    def frame_inbound_payload_data(self, proto, data):
        if not self.control:
            self.size += len(data)
            if self.size > self.maxMessage:
                return CloseReason.MESSAGE_TOO_BIG
        return data


class _BoundedDeflate(PerMessageDeflate):
    """
    permessage-deflate whose inflating is bounded: each call inflates at
    most what the message may still grow by, plus one byte to tell that
    it is over (1009), so a small bomb never becomes a large buffer.
    """

    def __init__(self, maxSize: int, memLevel: int = 5):
        PerMessageDeflate.__init__(self)
        self.maxSize = maxSize
        self.memLevel = memLevel
        self._inflated = 0

    def frame_outbound(self, proto, opcode, rsv, data, fin):
        if (
            self._compressor is None
            and opcode in _DATA_OPCODES
        ):
            # wsproto's compressor would take zlib's default memLevel (8):
            # with a 15-bit window that is 256 KiB per connection.
            self._compressor = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED,
                -self.server_max_window_bits, self.memLevel)
        return PerMessageDeflate.frame_outbound(self, proto, opcode, rsv, data, fin)

    def frame_inbound_header(self, proto, opcode, rsv, payload_length):
        result = PerMessageDeflate.frame_inbound_header(self, proto, opcode, rsv, payload_length)
        if opcode in _DATA_OPCODES:
            self._inflated = 0
        return result

    def _inflate(self, data: bytes):
        budget = self.maxSize - self._inflated
        try:
            out = self._decompressor.decompress(data, budget + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        if len(out) > budget:
            return CloseReason.MESSAGE_TOO_BIG
        self._inflated += len(out)
        return out

    def frame_inbound_payload_data(self, proto, data):
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        return self._inflate(bytes(data))

    def frame_inbound_complete(self, proto, fin):
        if not fin:
            return None
        if not self._inbound_is_compressible or not self._inbound_compressed:
            self._inbound_compressed = None
            return None
        out = self._inflate(b"\x00\x00\xff\xff")
        if self.client_no_context_takeover:
            self._decompressor = None
        self._inbound_compressed = None
        return out


def _negotiateDeflate(offers: list[str], maxSize: int, windowBits: int, memLevel: int):
    """
    Accept the first permessage-deflate offer (RFC 7692 section 7) we can:
    its parameters known, each once, its window sizes ones zlib can use.
    The server's compression window is at most C{windowBits}, and so is
    the client's when it lets us choose (it offered
    C{client_max_window_bits}): the window is what a connection's deflate
    state costs in memory.

    @return: C{(extension, response header value)} or C{(None, None)}.
    """
    for offer in offers:
        name, _, rest = offer.partition(";")
        if name.strip().lower() != "permessage-deflate":
            continue
        params = {}
        try:
            for item in rest.split(";"):
                if not item.strip():
                    continue
                key, eq, value = item.partition("=")
                key = key.strip().lower()
                value = value.strip().strip('"') if eq else None
                if key in params or key not in (
                    "server_no_context_takeover", "client_no_context_takeover",
                    "server_max_window_bits", "client_max_window_bits",
                ):
                    raise ValueError(key)
                if key.endswith("_takeover") and value is not None:
                    raise ValueError(key)
                if key.endswith("_bits") and value is not None:
                    if not value.isdigit() or not 8 <= int(value) <= 15:
                        raise ValueError(key)
                    value = int(value)
                params[key] = value
        except ValueError:
            continue
        if params.get("server_max_window_bits") == 8:
            # zlib cannot compress a raw stream with an 8-bit window.
            continue
        if "server_max_window_bits" in params and params["server_max_window_bits"] is None:
            continue
        response = ["permessage-deflate"]
        for key in ("server_no_context_takeover", "client_no_context_takeover"):
            if key in params:
                response.append(key)
        serverBits = min(params.get("server_max_window_bits") or 15, windowBits)
        if serverBits < 15 or "server_max_window_bits" in params:
            response.append(f"server_max_window_bits={serverBits}")
        if "client_max_window_bits" in params:
            clientBits = max(9, min(params["client_max_window_bits"] or 15, windowBits))
            response.append(f"client_max_window_bits={clientBits}")
        value = "; ".join(response)
        ext = _BoundedDeflate(maxSize, memLevel)
        ext.finalize(value)
        return ext, value
    return None, None


def _headerPairs(headers) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Headers):
        return [(n, v) for n, values in headers.getAllRawHeaders() for v in values]
    return [(str(n), str(v)) for n, v in headers]


class WebSocketHandshake:
    """
    One valid opening handshake (see L{checkHandshake}), waiting for the
    application to L{accept} or L{reject} it.

    @ivar request: the upgrade request.
    @ivar origin: its C{Origin} field, or C{None}.
    @ivar subprotocols: the subprotocols the client offered, in its order.
    @ivar extensionOffers: the extensions it offered, raw.
    @ivar response: a Deferred that fires with the response C{render}
        returns: the C{101} after L{accept}, the refusal after L{reject}.
    @ivar decided: whether L{accept} or L{reject} was called.
    """

    decided = False

    def __init__(self, request, options: WebSocketOptions | None = None):
        self.request = request
        self.options = options if options is not None else WebSocketOptions()
        headers = request.headers
        origins = headers.getRawHeaders("origin")
        self.origin = origins[0] if origins else None
        self.subprotocols = [
            t.strip() for v in headers.getRawHeaders("sec-websocket-protocol") or []
            for t in v.split(",") if t.strip()
        ]
        self.extensionOffers = [
            t.strip() for v in headers.getRawHeaders("sec-websocket-extensions") or []
            for t in v.split(",") if t.strip()
        ]
        self.response = defer.Deferred()

    def _decide(self):
        if self.decided:
            raise RuntimeError("This handshake was already accepted or rejected")
        self.decided = True

    def accept(self, subprotocol: str | None = None, headers=None) -> WebSocket:
        """
        Accept: write the C{101} response now and take over the connection.

        @param subprotocol: the subprotocol to speak, one the client offered.
        @param headers: extra response headers: a L{Headers}, or C{(name,
            value)} pairs of C{str}.
        @return: the open L{WebSocket}.
        @raise ValueError: the subprotocol was not offered, or a header
            could corrupt the response.
        @raise ConnectionClosed: the client is gone.
        """
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered")
        request = self.request
        chan = request.chanRequest
        switch = getattr(chan, "switchProtocols", None)
        if self.decided:
            raise RuntimeError("This handshake was already accepted or rejected")
        if switch is None:
            self.reject(501, "this connection cannot switch to WebSocket")
            raise ConnectionClosed(CloseCode.ABNORMAL, "no WebSocket on this connection")
        options = self.options
        key = request.headers.getRawHeaders("sec-websocket-key")[0]
        pairs = [
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", _acceptKey(key)),
        ]
        extensions = []
        accepted = []
        if options.compression and self.extensionOffers:
            deflate, value = _negotiateDeflate(
                self.extensionOffers, options.maxDecompressedSize,
                options.compressionWindowBits, options.compressionMemLevel)
            if deflate is not None:
                extensions.append(deflate)
                accepted.append(value)
                pairs.append((b"Sec-WebSocket-Extensions", value.encode("latin-1")))
        if subprotocol is not None:
            pairs.append((b"Sec-WebSocket-Protocol", subprotocol.encode("latin-1")))
        for name, value in _headerPairs(headers):
            pairs.append((name.encode("latin-1"), value.encode("latin-1")))
        head = _wire.serialize_response_head(101, pairs)
        self._decide()
        extensions.append(_Limits(options.maxFrameSize, options.maxMessageSize))
        ws = WebSocket(request, options, subprotocol, accepted, extensions)
        try:
            chan.switchProtocols(head, ws)
        except ConnectionLost:
            # The client left while the application was deciding.
            self.response.callback(_plain(400, "the client went away"))
            raise ConnectionClosed(CloseCode.ABNORMAL, "the client went away") from None
        self._ws = ws
        self.response.callback(http.Response(responsecode.SWITCHING_PROTOCOLS))
        return ws

    def reject(self, status: int = 403, body=None, headers=None) -> None:
        """
        Refuse with an HTTP response; the connection stays HTTP.

        @param status: its status code (4xx or 5xx).
        @param body: its body, C{bytes} or C{str}; a short plain-text
            one naming the status by default.
        @param headers: extra headers, as for L{accept}.
        """
        self._decide()
        if body is None:
            response = _plain(status, responsecode.reasonPhrase(status) or "refused")
        else:
            response = http.Response(status, None, body)
        for name, value in _headerPairs(headers):
            response.headers.addRawHeader(name, value)
        self.response.callback(response)


@implementer(interfaces.IPushProducer)
class WebSocket(protocol.Protocol):
    """
    One open WebSocket connection (made by L{WebSocketHandshake.accept}).

    @ivar request: the upgrade request.
    @ivar subprotocol: the subprotocol chosen, or C{None}.
    @ivar extensions: the extensions accepted (response header values).
    @ivar closeCode: the final close code once the connection is gone:
        the code of the peer's Close frame, or the one the server failed
        the connection with (1002, 1007, 1009, 1001), or 1006 when it
        ended without a Close.  C{None} until then.
    @ivar closeReason: the final close reason, C{str}, or C{None}.
    """

    closeCode = None
    closeReason = None
    _failedWith = None
    _closeSentAt = None
    _writePausedAt = None
    _readingPaused = False
    _writePaused = False
    _pumping = False
    _timer = None
    _gone = False
    _lastPingAt = None
    _receivedClose = None
    _sentClose = None

    def __init__(self, request, options, subprotocol, accepted, extensions):
        self.request = request
        self.options = options
        self.subprotocol = subprotocol
        self.extensions = accepted
        self._reactor = options.reactor
        self._conn = Connection(ConnectionType.SERVER, extensions=extensions)
        # Lists, not deques: they hold a handful of items at most (at most
        # maxQueuedMessages), and an empty deque costs an idle connection
        # 760 bytes where a list costs 56.
        self._messages = []
        self._receivers = []
        self._sendWaiters = []
        self._closeWaiters = []
        self._pings = OrderedDict()
        self._pingCount = 0
        self._parts = []
        self._peer = None

    # Connection life (the channel hands the transport over)

    def connectionMade(self):
        transport = self.transport
        self._lastInput = self._reactor.seconds()
        peer = transport.getPeer()
        self._peer = getattr(peer, "host", peer)
        sink = _tcpDescriptor(transport)
        if sink is not None:
            # The transport pauses us above this much unsent output.
            sink.bufferSize = self.options.writeHighWater
        transport.registerProducer(self, True)
        self._schedule()

    def dataReceived(self, data):
        if self._gone or self._failedWith is not None or (
                self._conn.state is ConnectionState.CLOSED):
            return
        self._lastInput = self._reactor.seconds()
        self._conn.receive_data(data)
        self._pump()

    def readConnectionLost(self):
        # The client half-closed without a Close frame: nothing more will
        # come; end the connection (1006 unless a Close was received).
        self.transport.loseConnection()

    def connectionLost(self, reason=protocol.connectionDone):
        if self._gone:
            return
        self._gone = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._receivedClose is not None:
            code, why = self._receivedClose
        elif self._failedWith is not None:
            code, why = self._failedWith
        else:
            code, why = CloseCode.ABNORMAL, ""
        self.closeCode, self.closeReason = code, why
        closed = ConnectionClosed(code, why)
        self._closeEverything(closed)

    def _closeEverything(self, closed):
        receivers, self._receivers = self._receivers, []
        for d in receivers:
            d.errback(Failure(closed))
        waiters, self._sendWaiters = self._sendWaiters, []
        for d in waiters:
            d.errback(Failure(closed))
        pings, self._pings = self._pings, OrderedDict()
        for d, _ in pings.values():
            d.errback(Failure(closed))
        closers, self._closeWaiters = self._closeWaiters, []
        for d in closers:
            d.callback(closed)

    def _write(self, data):
        """
        On a plain TCP connection with nothing queued, the frame goes
        straight to the socket (as the HTTP channel's responses do), saving
        the reactor an epoll registration and a wake-up per message; what
        the socket does not take is queued with the transport, which keeps
        the order and applies the high-water mark.
        """
        transport = self.transport
        if (
            transport.__class__ is _TCPServer
            and not transport.dataBuffer
            and not transport._tempDataBuffer
            and transport.connected
            and not transport.disconnecting
        ):
            try:
                sent = transport.socket.send(data)
            except OSError:
                # Full (EAGAIN), or an error the transport will meet and
                # report its own way.
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    # Input

    def _pump(self):
        """
        Take events from wsproto while the application keeps up and the
        client reads our output; what is not parsed stays in wsproto's
        buffer (at most one read: the socket is not read meanwhile).
        """
        if self._pumping:
            return
        if self._mustWait():
            self._updateReading()
            return
        self._pumping = True
        try:
            conn = self._conn
            for event in conn.events():
                if self._gone:
                    return
                cls = event.__class__
                if cls is TextMessage or cls is BytesMessage:
                    self._messagePart(event)
                elif cls is Ping:
                    if conn.state is ConnectionState.OPEN:
                        self._write(conn.send(event.response()))
                elif cls is Pong:
                    self._pong(event.payload)
                elif cls is CloseConnection:
                    self._closeReceived(event)
                    return
                if self._mustWait():
                    break
        finally:
            self._pumping = False
        self._updateReading()

    def _mustWait(self) -> bool:
        # Once our Close is sent, messages are dropped rather than queued:
        # only the peer's Close is still awaited, so keep reading for it.
        return self._writePaused or (
            self._closeSentAt is None
            and len(self._messages) >= self.options.maxQueuedMessages)

    def _updateReading(self):
        if self._gone:
            return
        wait = self._mustWait()
        if wait and not self._readingPaused:
            self._readingPaused = True
            self.transport.pauseProducing()
        elif not wait and self._readingPaused:
            self._readingPaused = False
            self.transport.resumeProducing()
            # What is already buffered first.
            self._pump()

    def _messagePart(self, event):
        if self._closeSentAt is not None:
            # We are closing: what arrives now is not delivered.
            return
        if event.message_finished:
            parts = self._parts
            if parts:
                parts.append(event.data)
                data = ("" if event.__class__ is TextMessage else b"").join(parts)
                self._parts = []
            else:
                data = event.data
            if data.__class__ is bytearray:
                data = bytes(data)
            if self._receivers:
                self._receivers.pop(0).callback(data)
            else:
                self._messages.append(data)
        else:
            self._parts.append(event.data)

    def _closeReceived(self, event):
        conn = self._conn
        if conn.state in (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING):
            # Not the peer's Close: wsproto failed the input (ParseFailed).
            self._fail(int(event.code), event.reason)
            return
        code = int(event.code)
        self._receivedClose = (code, event.reason or "")
        if conn.state is ConnectionState.REMOTE_CLOSING:
            # Answer with the same code, then close the TCP connection (the
            # server closes first, RFC 6455 section 7.1.1).
            self._write(conn.send(event.response()))
        self._closeSentAt = self._closeSentAt or self._reactor.seconds()
        self._endTCP()

    def _endTCP(self):
        """
        Close the TCP connection once our output (the Close among it) is
        out; closeTimeout, counted from the Close, cuts off a client that
        does not take it.
        """
        self.transport.unregisterProducer()
        self.transport.loseConnection()
        self._schedule()

    def _fail(self, code: int, reason: str):
        """
        Fail the connection (RFC 6455 section 7.1.7): log, send a Close
        with C{code}, close the TCP connection without waiting for the
        answer (nothing more from this peer is parsed).
        """
        log.info(
            "WebSocket from {peer} failed: {code} {reason}",
            peer=self._peer, code=code, reason=reason,
        )
        self._failedWith = (code, reason)
        conn = self._conn
        if conn.state is ConnectionState.OPEN:
            try:
                self._write(conn.send(CloseConnection(code=code, reason=reason[:100])))
            except Exception:  # pragma: no cover (wsproto refuses an odd code)
                pass
        self._closeSentAt = self._closeSentAt or self._reactor.seconds()
        self._endTCP()

    def receive(self) -> defer.Deferred:
        """
        The next message: C{str} for a text message, C{bytes} for binary.

        @return: a Deferred that fails with L{ConnectionClosed} once the
            connection is closed and no message is left.
        """
        messages = self._messages
        if messages:
            data = messages.pop(0)
            if self._readingPaused and not self._pumping:
                self._updateReading()
            return defer.succeed(data)
        if self._gone:
            return defer.fail(ConnectionClosed(self.closeCode, self.closeReason))
        d = defer.Deferred()
        self._receivers.append(d)
        return d

    def __aiter__(self):
        return self

    def __anext__(self):
        return self.receive().addErrback(_stopIteration)

    # Output

    @property
    def isOpen(self) -> bool:
        """
        Whether messages can still be sent: no Close was sent or received.
        """
        return not self._gone and self._conn.state is ConnectionState.OPEN

    def send(self, data) -> defer.Deferred:
        """
        Send a message: text for C{str}, binary for C{bytes}.

        @return: a Deferred that fires once the output the client has not
            taken is under C{writeHighWater} again (at once in the common
            case); it fails with L{ConnectionClosed} when the connection is
            closing or closed.
        """
        if not self.isOpen:
            return defer.fail(self._closedError())
        if isinstance(data, str):
            event = TextMessage(data=data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            event = BytesMessage(data=bytes(data))
        else:
            raise TypeError(f"send() takes str or bytes, not {type(data).__name__}")
        self._write(self._conn.send(event))
        if not self._writePaused:
            return defer.succeed(None)
        d = defer.Deferred()
        self._sendWaiters.append(d)
        return d

    def _closedError(self) -> ConnectionClosed:
        """
        Why nothing can be sent: the final code once the connection is
        gone; before that the peer's Close, the failure, or our Close.
        """
        if self.closeCode is not None:
            return ConnectionClosed(self.closeCode, self.closeReason)
        for known in (self._receivedClose, self._failedWith, self._sentClose):
            if known is not None:
                return ConnectionClosed(*known)
        return ConnectionClosed(CloseCode.ABNORMAL, "")

    def ping(self, payload: bytes = b"") -> defer.Deferred:
        """
        Send a ping.

        @param payload: up to 125 bytes; a counter by default.
        @return: a Deferred that fires with the round trip in seconds when
            the matching pong arrives.
        """
        if not self.isOpen:
            return defer.fail(self._closedError())
        if not payload:
            self._pingCount += 1
            payload = struct.pack("!Q", self._pingCount)
        payload = bytes(payload)
        if len(payload) > 125:
            raise ValueError("a ping payload is at most 125 bytes")
        d = defer.Deferred()
        if payload in self._pings:
            # Same payload pending: share its answer.
            previous, _ = self._pings[payload]
            previous.chainDeferred(d)
            return d
        self._pings[payload] = (d, self._reactor.seconds())
        self._write(self._conn.send(Ping(payload=payload)))
        return d

    def _pong(self, payload):
        pings = self._pings
        if payload not in pings:
            return
        now = self._reactor.seconds()
        # A pong answers its ping and every earlier one (RFC 6455 allows
        # answering only the latest).
        while pings:
            key, (d, sentAt) = pings.popitem(last=False)
            d.callback(now - sentAt)
            if key == payload:
                break

    def close(self, code: int = 1000, reason: str = "") -> defer.Deferred:
        """
        Start the close handshake (nothing happens if it has started).

        @param code: 1000, 1001, 1003, 1007 to 1013, or 3000 to 4999.
        @param reason: a short text (at most 123 bytes of UTF-8 are sent).
        @return: L{whenClosed}.
        """
        if not (int(code) in _SENDABLE or 3000 <= int(code) <= 4999):
            raise ValueError(f"{code} is not a close code an application may send")
        conn = self._conn
        if not self._gone and conn.state is ConnectionState.OPEN:
            self._write(conn.send(CloseConnection(code=int(code), reason=reason)))
            self._sentClose = (int(code), reason)
            self._closeSentAt = self._reactor.seconds()
            self._schedule()
            # Read on for the peer's Close, even with the queue full.
            self._updateReading()
        return self.whenClosed()

    def whenClosed(self) -> defer.Deferred:
        """
        @return: a new Deferred that fires with a L{ConnectionClosed} (its
            final code and reason) when the connection is gone; it never
            fails.
        """
        if self._gone:
            return defer.succeed(ConnectionClosed(self.closeCode, self.closeReason))
        d = defer.Deferred()
        self._closeWaiters.append(d)
        return d

    def drain(self):
        """
        The server shuts down gracefully: close with 1001.
        """
        if not self._gone and self._conn.state is ConnectionState.OPEN:
            self.close(CloseCode.GOING_AWAY, "server shutting down")

    # IPushProducer: the transport says when its buffer passes
    # writeHighWater (pause) and when it has drained (resume).

    def pauseProducing(self):
        if self._writePaused:
            return
        self._writePaused = True
        self._writePausedAt = self._reactor.seconds()
        self._updateReading()
        self._schedule()

    def resumeProducing(self):
        if not self._writePaused:
            return
        self._writePaused = False
        self._writePausedAt = None
        waiters, self._sendWaiters = self._sendWaiters, []
        for d in waiters:
            d.callback(None)
        self._updateReading()

    def stopProducing(self):
        pass

    # Timers: one DelayedCall, at the earliest deadline; input only moves
    # the idle deadline later, so it is checked when the call fires.

    def _deadline(self):
        options = self.options
        times = []
        if self._closeSentAt is not None:
            times.append(self._closeSentAt + options.closeTimeout)
        elif self._conn.state is ConnectionState.OPEN:
            if options.idleTimeout is not None:
                times.append(self._lastInput + options.idleTimeout)
            if options.pingInterval is not None:
                last = self._lastInput
                if self._lastPingAt is not None and self._lastPingAt > last:
                    last = self._lastPingAt
                times.append(last + options.pingInterval)
        if self._writePausedAt is not None:
            times.append(self._writePausedAt + options.sendTimeout)
        return min(times) if times else None

    def _schedule(self):
        if self._gone:
            return
        when = self._deadline()
        timer = self._timer
        if when is None:
            if timer is not None and timer.active():
                timer.cancel()
            self._timer = None
            return
        delay = max(0.0, when - self._reactor.seconds())
        if timer is not None and timer.active():
            if timer.getTime() <= when:
                return
            timer.cancel()
        self._timer = self._reactor.callLater(delay, self._timedOut)

    def _timedOut(self):
        self._timer = None
        if self._gone:
            return
        options = self.options
        now = self._reactor.seconds()
        if self._writePausedAt is not None and now >= self._writePausedAt + options.sendTimeout:
            log.info(
                "WebSocket client {peer} left our output unread for {timeout}s; aborting",
                peer=self._peer, timeout=options.sendTimeout,
            )
            self._abort()
            return
        if self._closeSentAt is not None:
            if now >= self._closeSentAt + options.closeTimeout:
                log.info(
                    "WebSocket client {peer} did not finish closing in {timeout}s; aborting",
                    peer=self._peer, timeout=options.closeTimeout,
                )
                self._abort()
                return
        elif self._conn.state is ConnectionState.OPEN:
            if options.idleTimeout is not None and now >= self._lastInput + options.idleTimeout:
                log.info("WebSocket client {peer} idle for {timeout}s; closing",
                         peer=self._peer, timeout=options.idleTimeout)
                self.close(CloseCode.GOING_AWAY, "idle timeout")
                return
            if options.pingInterval is not None:
                last = max(self._lastInput, self._lastPingAt or 0.0)
                if now >= last + options.pingInterval and not self._writePaused:
                    self._lastPingAt = now
                    self.ping().addErrback(lambda f: None)
        self._schedule()

    def _abort(self):
        self.transport.unregisterProducer()
        self.transport.abortConnection()


def _stopIteration(failure):
    failure.trap(ConnectionClosed)
    raise StopAsyncIteration


def _tcpDescriptor(transport):
    """
    The TCP transport under C{transport} (itself, or under TLS), whose
    C{bufferSize} decides when a streaming producer is paused.
    """
    for _ in range(4):
        if transport is None:
            return None
        if hasattr(transport, "_tempDataLen") and hasattr(transport, "bufferSize"):
            return transport
        transport = getattr(transport, "transport", None)
    return None


@implementer(IResource)
class WebSocketResource:
    """
    A leaf resource that answers WebSocket handshakes and runs C{handler}
    for each one.

    C{handler(handshake)} gets a L{WebSocketHandshake}; it may be a plain
    function, return a Deferred, or be an C{async def}.  It calls
    C{handshake.accept()} (which gives the L{WebSocket}) or
    C{handshake.reject(status)}.  Returning without either refuses the
    handshake with 403; failing before either answers 500.  After the
    accept, when the handler finishes the connection is closed with 1000
    (1011, logged, if it failed): an C{async def} handler simply loops on
    C{receive()} until the client leaves.
    """

    def __init__(self, handler, *, origins=None, subprotocols=None, **options):
        """
        @param handler: called with each valid L{WebSocketHandshake}.
        @param origins: the C{Origin} values allowed (for example
            C{{"https://example.com"}}), or a function C{(origin, request)
            -> bool} such as L{sameOrigin}; C{None} allows any.  A request
            without C{Origin} (not from a browser) is allowed.  A refused
            origin gets 403.
        @param subprotocols: the subprotocols the server speaks, by
            preference: C{accept()} without a subprotocol picks the first
            of these the client offered.
        @param options: keyword arguments of L{WebSocketOptions}.
        """
        self.handler = handler
        if origins is None or callable(origins):
            self.origins = origins
        else:
            self.origins = frozenset(origins)
        self.subprotocols = list(subprotocols or ())
        self.options = WebSocketOptions(**options)

    def checkOrigin(self, origin, request) -> bool:
        """
        Whether to accept a handshake from C{origin} (C{None} when the
        request has no C{Origin}).
        """
        origins = self.origins
        if origin is None or origins is None:
            return True
        if callable(origins):
            return bool(origins(origin, request))
        return origin in origins

    def locateChild(self, request, segments):
        return self, ()

    def renderHTTP(self, request):
        problem = checkHandshake(request)
        if problem is not None:
            return problem
        handshake = WebSocketHandshake(request, self.options)
        if not self.checkOrigin(handshake.origin, request):
            log.info("WebSocket handshake from origin {origin} refused", origin=handshake.origin)
            return _plain(403, "origin not allowed")
        if self.subprotocols:
            handshake.accept = _preferring(handshake, self.subprotocols)
        try:
            result = self.handler(handshake)
            if _isCoroutine(result):
                result = defer.Deferred.fromCoroutine(result)
        except Exception:
            result = defer.fail()
        if isinstance(result, defer.Deferred):
            result.addBoth(self._handlerDone, handshake)
        else:
            self._handlerDone(result, handshake)
        return handshake.response

    def _handlerDone(self, result, handshake):
        ws = getattr(handshake, "_ws", None)
        if not handshake.decided:
            if isinstance(result, Failure):
                log.failure("WebSocket handler failed before deciding", result)
                handshake.reject(500, "the WebSocket handler failed; it was logged")
            else:
                handshake.reject(403)
            return None
        if ws is None:
            if isinstance(result, Failure) and not result.check(ConnectionClosed):
                log.failure("WebSocket handler failed", result)
            return None
        if isinstance(result, Failure):
            if result.check(ConnectionClosed):
                return None
            log.failure("WebSocket handler failed", result)
            if ws.isOpen:
                ws.close(CloseCode.INTERNAL_ERROR, "internal error")
            return None
        if ws.isOpen:
            ws.close(CloseCode.NORMAL)
        return None


def _preferring(handshake, serverProtocols):
    accept = handshake.accept

    def acceptPreferring(subprotocol=None, headers=None):
        if subprotocol is None:
            for candidate in serverProtocols:
                if candidate in handshake.subprotocols:
                    subprotocol = candidate
                    break
        ws = accept(subprotocol, headers)
        return ws

    return acceptPreferring


def _isCoroutine(value) -> bool:
    return hasattr(value, "send") and hasattr(value, "__await__")
