# -*- test-case-name: test_channel -*-
"""
The HTTP/1.1 channel: the Twisted protocol that feeds bytes to the sans-I/O
reader of L{web2._wire} and carries one request at a time to the site.

Rules of this module, in the order they matter:

 1. Requests are processed one at a time and answered strictly in order.
    Pipelined requests are parsed only after the response before them is
    finished; until then their bytes wait in the reader's buffer, and when
    that buffer passes C{maxBufferedBytes} the transport stops reading.
 2. Output the client has not taken is bounded too: while more than
    C{maxUnsentBytes} of it wait in the transport, no further request is
    answered and the socket is not read (the I{send hold}); the hold ends
    when the transport's buffer has drained, and C{sendTimeout} without
    the client taking any of it ends the connection.  A response that
    streams through a producer is paused by the transport instead.
 3. A request body flows with backpressure: the request's body stream pauses
    the channel (and so the socket) when the application does not read.
 4. Every exit closes cleanly: a protocol error is answered with its status
    and C{Connection: close}; an unread body is drained within a bound or
    the connection is closed; a connection that is to close half-closes its
    write side and discards input for at most C{lingerTimeout} seconds.
    The client's FIN is a half-close too: the requests read before it are
    answered, and the application is not told of it (HTTP's rule, and
    HAProxy's; nginx aborts a proxied request instead).  A failed write,
    a reset or a timeout ends a request early; the connection cap bounds
    how many such requests a client can leave running.
 5. Connections take turns (L{web2.channel._turns}): the first request of
    each batch read is answered at once; every further one draws on a
    round of C{maxRequestsPerRound} requests that all connections share
    and the reactor renews each iteration, and at most
    C{maxRequestsPerTurn} are answered in a row.  A connection left
    without a draw waits in a queue served in order at the start of the
    next rounds, so that clients pipelining thousands of small requests
    delay a quiet connection's request by about one round, not by all of
    their turns.  Under TLS, which hands the channel each record on its
    own, the request answered without a draw is one per round.
 6. Each phase has its own timeout: C{headerTimeout} from the first byte of a
    request until its head is complete (408), C{bodyTimeout} between pieces
    of a body and C{minBodyRate} over the whole of it (408), C{idleTimeout}
    between requests (silent close), and C{sendTimeout} while the client
    does not read our output (abort: in the send hold, while a response's
    producer is held paused, while a file waits for the socket, and after
    a close that still has output to deliver).  A body timer runs only
    while the server waits for the client, never while the application
    holds the body paused.
"""

from __future__ import annotations

import socket
import sys
import weakref

from twisted.internet import defer, interfaces, main, protocol
from twisted.internet.tcp import Server as _TCPServer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import classImplements, implementer

from web2 import _wire
from web2.channel._deadlines import RESOLUTION, Deadlines
from web2.channel._producers import (
    _TCP_NOTSENT_LOWAT,
    _DrainWatch,
    _SendfileProducer,  # noqa: F401 (re-exported)
)
from web2.channel._request import HTTPChannelRequest
from web2.channel._turns import TurnQueue
from web2.http_headers import Headers

log = Logger(namespace=__name__)

_REQUEST_HEAD = _wire.RequestHead
_BODY_DATA = _wire.BodyData
_END = _wire.EndOfRequest
_NEED_DATA = _wire.NEED_DATA
_CLOSED = _wire.CLOSED


class _SharedFailure(Failure):
    """
    A failure made once and handed to every connection that ends the same
    way.  L{check} answers a question about classes by C{isinstance}:
    L{Failure.check} formats the qualified name of each class it is asked
    about, and Twisted's TCP transport asks one at every close (about 2%
    of a C{Connection: close} request's time).
    """

    def check(self, *errorTypes):
        for errorType in errorTypes:
            if not isinstance(errorType, type):
                # A name given as a string: Failure's own comparison.
                return Failure.check(self, *errorTypes)
        value = self.value
        for errorType in errorTypes:
            if isinstance(value, errorType):
                return errorType
        return None


# Shared, as the reactor's own disconnection failures are: making one per
# close measurably slowed Connection: close requests (by about a tenth).
_CONNECTION_DONE = _SharedFailure(main.CONNECTION_DONE)

__all__ = ["HTTPChannel", "HTTPChannelRequest", "HTTPFactory"]


def _errorResponse(status: int, reason: str, extraHeaders=()) -> bytes:
    body = f"{status} {reason}\n".encode("utf-8", "replace")
    headers = [
        (b"Content-Type", b"text/plain; charset=utf-8"),
        (b"Content-Length", str(len(body)).encode()),
        (b"Connection", b"close"),
        *extraHeaders,
    ]
    return _wire.serialize_response_head(status, headers) + body


#: Listening sockets given our options, each with how many of the
#: connections accepted next may still lack them (see _setSocketOptions).
_noDelayListeners: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NODELAY_INHERITED = sys.platform.startswith("linux")



def _acceptQueueBound() -> int:
    """
    More connections than a Linux listening socket holds unaccepted: its
    backlog is capped at C{net.core.somaxconn} when it listens (the one to
    assume for a socket someone else listened on, as systemd does), and the
    queue can hold one more; twice that, for a setting lowered since the
    socket listened and for handshakes completing on several CPUs at once.
    """
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return 2 * (int(f.read()) + 1)
    except (OSError, ValueError):
        return 131072


_ACCEPT_QUEUE_BOUND = _acceptQueueBound() if _NODELAY_INHERITED else 0


_UNKNOWN = object()


def _bufferingDescriptor(transport):
    """
    The file descriptor under C{transport} and any wrapping of it (TLS)
    whose buffer holds the output the client has not taken yet, or C{None}
    for a transport without one (the in-memory ones of tests).
    """
    for _ in range(4):
        if transport is None or hasattr(transport, "_tempDataLen"):
            return transport
        transport = getattr(transport, "transport", None)
    return None


def _setSocketOptions(transport, notSentBytes):
    """
    Turn Nagle's algorithm off for a TCP connection (directly, or under
    TLS): a response written in pieces must not wait for the client's
    delayed acknowledgement.  On Linux, also cap at C{notSentBytes} the
    output the kernel accepts beyond what it has sent (C{TCP_NOTSENT_LOWAT};
    C{0} leaves the kernel's default): without it, a client that reads
    nothing has the kernel take megabytes of answers (the send buffer grows
    to C{net.ipv4.tcp_wmem}'s maximum) before the channel's own bound on
    unsent output (rule 2) sees any of it.

    On Linux a connection takes its options from the listening socket when
    its handshake completes, so the options are set there too, at the first
    connection: every later handshake inherits them.  The connections that
    completed theirs before wait in the accept queue, first in first out,
    and there are at most as many as the queue holds: that many more
    accepted connections get the options set one by one, and the rest of
    the listener's life needs no system call for them.
    """
    tcp = transport if transport.__class__ is _TCPServer else getattr(transport, "transport", None)
    if tcp.__class__ is not _TCPServer:
        return
    listener = getattr(tcp.server, "socket", None) if _NODELAY_INHERITED else None
    owed = None if listener is None else _noDelayListeners.get(listener)
    if owed == 0:
        return
    lowat = notSentBytes if _TCP_NOTSENT_LOWAT is not None and notSentBytes else None
    try:
        tcp.setTcpNoDelay(True)
        if lowat is not None:
            tcp.socket.setsockopt(socket.IPPROTO_TCP, _TCP_NOTSENT_LOWAT, lowat)
        if listener is None:
            return
        if owed is None:
            # The first connection: every handshake from now on inherits them.
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if lowat is not None:
                listener.setsockopt(socket.IPPROTO_TCP, _TCP_NOTSENT_LOWAT, lowat)
            owed = _ACCEPT_QUEUE_BOUND + 1
        _noDelayListeners[listener] = owed - 1
    except OSError:
        pass


class HTTPChannel:
    """
    One HTTP/1.x connection (a Twisted L{IProtocol}).  Its settings come
    from the factory; see L{HTTPFactory} for what each means.
    """

    # The compiled build makes this class an extension type whose fields are
    # these slots (channel/http.pxd: keep the two lists the same): its
    # methods touch a connection's state some sixty times a request, and
    # compiled code looks an attribute up by name each time.  So every state
    # is set in __init__, none is a class attribute.  The settings below
    # stay class attributes: the factory's subclass of this class sets them
    # (and site, reactor, factory and the shared _deadlines and _turns), so
    # that an idle connection carries none of them itself.
    __slots__ = (
        "transport", "connected", "draining", "_answered", "_current", "_slot",
        "_abortCall", "_waitingTurn", "_freeRound", "_reader", "_outgoing",
        "_outgoingSize", "_sendAfterPoll", "_waitingForPollEnd", "_outputQueued",
        "_sendHeld", "_sendHeldUnsent", "_drainWatch", "_sink", "_phase", "_phaseStart",
        "_bodyWaitStart", "_paused", "_bodyPaused", "_inLoop", "_closeAfterLoop",
        "_fromReactor", "_discardBody", "_drained", "_bodyReceived", "_bodyWaited",
        "_closing", "_readClosed", "_hostInfo", "_peer", "_secure", "__dict__",
        "__weakref__",
    )  # fmt: skip

    allowPersistentConnections = True
    maxBufferedBytes = 65536
    maxUnsentBytes = 65536
    maxKernelUnsentBytes = 131072
    maxRequestsPerTurn = 16
    maxRequestsPerRound = 128
    maxDrainBytes = 1024 * 1024
    headerTimeout = 20.0
    bodyTimeout = 60.0
    minBodyRate = 500.0
    idleTimeout = 60.0
    sendTimeout = 60.0
    lingerTimeout = 5.0
    limits = _wire.Limits()
    chanRequestFactory = HTTPChannelRequest

    _deadlines = None
    _turns = None
    factory = None
    site = None
    reactor = None

    def __init__(self, site=None, reactor=None):
        if site is not None:
            self.site = site
        if reactor is not None:
            self.reactor = reactor
        self.transport = None
        self.connected = 0
        self.draining = False
        #: Whether a request was ever taken from this connection.
        self._answered = False
        self._current = None
        self._slot = None
        self._abortCall = None
        self._waitingTurn = False
        self._freeRound = -1
        self._reader = None
        self._outgoing = None
        self._outgoingSize = 0
        # The reactor's sendAfterPoll (plain TCP under a reactor that has
        # it), and whether this connection's output waits for it.
        self._sendAfterPoll = None
        self._waitingForPollEnd = False
        # Whether output went to the transport's buffer since it was last
        # seen empty (all of it went straight to the socket otherwise: no
        # need to look at the buffer before the next request).
        self._outputQueued = False
        self._sendHeld = False
        self._sendHeldUnsent = 0
        self._drainWatch = None
        # Under a transport that is not plain TCP (TLS, a test's): where its
        # output waits, found once (see _bufferingDescriptor).
        self._sink = _UNKNOWN
        self._phase = "idle"
        self._phaseStart = 0.0
        self._bodyWaitStart = 0.0
        self._paused = False
        self._bodyPaused = False
        self._inLoop = False
        self._closeAfterLoop = False
        self._fromReactor = False
        self._discardBody = False
        self._drained = 0
        self._bodyReceived = 0
        self._bodyWaited = 0.0
        self._closing = False
        self._readClosed = False
        self._hostInfo = None
        self._peer = None
        self._secure = None

    # IProtocol, as twisted.internet.protocol.Protocol has it

    def makeConnection(self, transport):
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def logPrefix(self) -> str:
        return self.__class__.__name__

    # Connection lifetime

    def connectionMade(self):
        self._reader = _wire.RequestReader(self.limits)
        transport = self.transport
        _setSocketOptions(transport, self.maxKernelUnsentBytes)
        if transport.__class__ is _TCPServer:
            self._sendAfterPoll = getattr(transport.reactor, "sendAfterPoll", None)
        self._enterPhase("head")

    def dataReceived(self, data):
        if self._closing:
            return
        self._reader.receive(data)
        self._fromReactor = True
        try:
            if self.transport.__class__ is _TCPServer or not self.isSecure():
                # One call per read of the socket: its first request is
                # answered at once (rule 5).
                self._processEvents()
            else:
                # TLS calls once per record, which a client can make one
                # request each: one free request a round.
                self._processEvents(self._turnQueue().free(self))
        finally:
            self._fromReactor = False

    def readConnectionLost(self):
        self._readClosed = True
        if self._closing:
            self._cancelTimer()
            self.transport.loseConnection()
            return
        self._reader.receive_eof()
        self._fromReactor = True
        try:
            self._processEvents()
        finally:
            self._fromReactor = False

    def writeConnectionLost(self):
        # Our own write side finished closing after _loseConnection: the
        # response is out.  Keep discarding input until the peer closes or
        # the linger phase ends (aborting here would reset the connection
        # and destroy the tail of the response in flight).
        pass

    def connectionLost(self, reason):
        self._closing = True
        self._cancelTimer()
        self._drainWatch = None
        if self._abortCall is not None and self._abortCall.active():
            self._abortCall.cancel()
        current = self._current
        # No current request from here on: a response the application
        # finishes while it hears of the loss (a proxy answering as it
        # cancels its upstream) must not move this dead channel on to the
        # idle phase and its deadline.
        self._current = None
        if current is not None:
            request, current.request = current.request, None
            if not current.completed and request is not None:
                # Also after an abort: the request learns its response
                # never arrived whole.
                request.connectionLost(reason)
        factory = getattr(self, "factory", None)
        if factory is not None:
            factory._channelClosed(self)

    def getHostInfo(self):
        if self._hostInfo is None:
            self._hostInfo = (self.transport.getHost(), self.isSecure())
        return self._hostInfo

    def getPeer(self):
        """
        The client's address, asked of the transport once per connection
        (a TCP transport makes a new address object at every call).
        """
        peer = self._peer
        if peer is None:
            peer = self._peer = self.transport.getPeer()
        return peer

    def isSecure(self):
        secure = self._secure
        if secure is None:
            # providedBy, not adaptation: the question is what this
            # transport is, and asking the adapter hooks costs far more.
            secure = self._secure = interfaces.ISSLTransport.providedBy(self.transport)
        return secure

    def _send(self, data, now=False):
        """
        Write C{data}.  While the event loop works through a buffer of
        pipelined requests, responses are collected and sent together when
        it stops (one system call for a whole pipeline); under a reactor
        that sends after its poll (L{_sendAfterPoll}), they wait for that;
        otherwise, or with C{now}, they go at once.
        """
        if (
            not now
            and self.transport.producer is None
            and (self._inLoop or (self._sendAfterPoll is not None and self._sendAtPollEnd()))
        ):
            outgoing = self._outgoing
            if outgoing is None:
                outgoing = self._outgoing = []
                self._outgoingSize = 0
            outgoing.append(data)
            self._outgoingSize += len(data)
            if self._outgoingSize > 16384:
                # Not a pipeline of small responses, or a long one: send
                # now, so that what the client does not take is counted
                # (rule 2) and the transport's own flow control sees it.
                self._flush()
            return
        if self._outgoing:
            self._outgoing.append(data)
            self._flush()
            return
        self._write(data)

    def _sendPair(self, head, body):
        """
        Send a response head and a large body now, without joining them
        (a copy of the body): one C{sendmsg} gathers both on a plain TCP
        connection.
        """
        if self._outgoing:
            self._flush()
        transport = self.transport
        if self._directOK(transport):
            try:
                sent = transport.socket.sendmsg((head, body))
            except OSError:
                # Full (EAGAIN), or an error the transport will meet and
                # report its own way.
                sent = 0
            if sent >= len(head):
                rest = body[sent - len(head):] if sent - len(head) < len(body) else b""
                if rest:
                    transport.write(rest)
                    self._checkUnsent(transport)
                return
            head = head[sent:]
        transport.writeSequence((head, body))
        self._checkUnsent(transport)

    @staticmethod
    def _directOK(transport):
        """
        Whether bytes may go straight to C{transport}'s socket: a plain TCP
        connection, open, with nothing queued that they would overtake.
        """
        return (
            transport.__class__ is _TCPServer
            and not transport.dataBuffer
            and not transport._tempDataBuffer
            and transport.producer is None
            and transport.connected
            and not transport.disconnecting
        )

    def _sendAtPollEnd(self):
        """
        Leave what is collected to the reactor, to send with the rest of
        its poll's output (see L{web2.epollreactor.LeanEPollReactor.sendAfterPoll}).

        @return: whether it will; outside its poll, the reactor says no,
            and the caller sends now.
        """
        if self._waitingForPollEnd:
            return True
        if self._sendAfterPoll(self):
            self._waitingForPollEnd = True
            return True
        return False

    def sendCollected(self):
        """
        The reactor's poll is over: send what this connection collected
        during it, then close if a close waits (see L{_loseConnection}).
        """
        self._waitingForPollEnd = False
        self._flush()
        if self._closeAfterLoop:
            self._closeAfterLoop = False
            self._closeSocketNow()

    def _flush(self):
        """
        Send what the event loop collected.
        """
        outgoing = self._outgoing
        if outgoing:
            data = outgoing[0] if len(outgoing) == 1 else b"".join(outgoing)
            # Dropped rather than cleared: an idle connection holds no list.
            self._outgoing = None
            self._write(data)

    def _write(self, data):
        """
        On a plain TCP connection with nothing queued, the bytes go straight
        to the socket, as asyncio's transports do, saving the reactor a round
        of epoll registration and a wake-up per response; whatever the
        socket does not take is queued with the transport as usual, so
        ordering is kept.
        """
        transport = self.transport
        if self._directOK(transport):
            try:
                sent = transport.socket.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                # Let the transport meet and report the error its own way.
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)
        self._checkUnsent(transport)

    # Output the client has not taken (rule 2)

    def _unsentBytes(self):
        """
        How many bytes of our output wait in the transport for the client.
        """
        sink = self.transport
        if sink.__class__ is not _TCPServer:
            sink = self._sink
            if sink is _UNKNOWN:
                sink = self._sink = _bufferingDescriptor(self.transport)
            if sink is None:
                return 0
        return len(sink.dataBuffer) - sink.offset + sink._tempDataLen

    def _checkUnsent(self, transport):
        """
        After output went to the transport's buffer: hold when it passed
        C{maxUnsentBytes}, unless a response's producer is registered (the
        transport pauses that one itself, and L{_SendWatch} times it).
        """
        self._outputQueued = True
        if (
            not self._sendHeld
            and transport.producer is None
            and self._unsentBytes() > self.maxUnsentBytes
        ):
            self._holdForOutput()

    def _holdForOutput(self):
        """
        Stop answering and reading until the client takes what it was sent
        (the send hold); C{sendTimeout} bounds a client that takes none.
        """
        self._flush()
        self._sendHeld = True
        self._sendHeldUnsent = self._unsentBytes()
        self._pauseTransport()
        self._enterPhase("send")
        self._watchOutput()

    def _watchOutput(self):
        """
        Ask the transport to say when its buffer has drained, if no
        response producer holds its one producer slot (such a producer,
        resumed on the drain, tells us itself: L{_outputMayHaveDrained}).
        """
        sink = _bufferingDescriptor(self.transport)
        if sink is None or sink.producer is not None or self._drainWatch is not None:
            return
        self._drainWatch = watch = _DrainWatch(self, sink)
        # A pull producer: resumed at once (still full, so nothing
        # happens) and then each time the buffer is empty.
        sink.registerProducer(watch, False)

    def _unwatchOutput(self):
        """
        Give up the transport's producer slot: a response producer wants
        it, or the connection is closing (a registered producer would keep
        the transport from closing).
        """
        watch = self._drainWatch
        if watch is not None:
            self._drainWatch = None
            if watch.sink.producer is watch:
                watch.sink.unregisterProducer()

    def _unregisterProducer(self):
        """
        A response producer leaves the transport's slot: during a send hold
        the slot goes back to watching the drain.
        """
        self.transport.unregisterProducer()
        if self._sendHeld:
            self._watchOutput()

    def _outputMayHaveDrained(self):
        """
        The transport's buffer drained (or a producer was resumed): end the
        send hold if the client took what it was sent.
        """
        if not self._sendHeld or self._closing or self._unsentBytes():
            return
        self._sendHeld = False
        self._unwatchOutput()
        current = self._current
        if current is None:
            self._phase = "next"
        elif not current.bodyComplete and not self._bodyPaused:
            self._enterPhase("body")
        else:
            self._phase = "busy"
        self._resumeTransport()
        self._processEvents()

    # The event loop

    def _processEvents(self, free=1):
        if self._inLoop:
            return
        self._inLoop = True
        try:
            self._runEvents(free)
        except _wire.ProtocolError as e:
            self._protocolError(e)
        finally:
            self._inLoop = False
            phase = self._phase
            if (phase == "next" or phase == "idle") and not self._closing:
                self._betweenRequests(phase)
            if self._outgoing or self._closeAfterLoop:
                # What this run produced, and the close it asked for, go
                # with the rest of the poll's output (a close, after it).
                if self._sendAfterPoll is None or not self._sendAtPollEnd():
                    self.sendCollected()

    def _betweenRequests(self, phase):
        """
        The event loop stopped with no request under way: time the wait for
        the next one.
        """
        if self._waitingTurn:
            # Whole requests wait for the server (rule 5), not for the
            # client: no client timeout runs until the turn comes.
            self._enterPhase("turn")
        elif self._reader.buffered:
            # Part of a new request is here: its head must now be complete
            # within headerTimeout (from its first byte, so a head that
            # trickles in does not restart the clock).
            self._enterPhase("head")
        elif phase == "next":
            self._enterPhase("idle")

    def _runEvents(self, free):
        # free: how many requests may start without drawing on the round
        # (rule 5): the first of a batch just read, none in a queued turn.
        # drawn: how many this run drew on the round and has not started;
        # given back when the run ends.
        reader = self._reader
        turns = self._turns
        if turns is None:
            turns = self._turnQueue()
        turn = self.maxRequestsPerTurn
        drawn = 0
        try:
            while not self._closing and not self._bodyPaused and not self._sendHeld:
                current = self._current
                if current is not None:
                    if current.bodyComplete:
                        # Rule 1: nothing more is parsed until this response is done.
                        if reader.buffered > self.maxBufferedBytes:
                            self._pauseTransport()
                        return
                else:
                    if self._outputQueued:
                        # Rule 2: no next request while the client leaves its
                        # answers to the last ones unread.
                        unsent = self._unsentBytes()
                        if not unsent:
                            self._outputQueued = False
                        elif unsent > self.maxUnsentBytes:
                            self._holdForOutput()
                            return
                    if reader.buffered:
                        if self._waitingTurn:
                            # Rule 5: queued for a turn; read ahead only so far.
                            if reader.buffered > self.maxBufferedBytes:
                                self._pauseTransport()
                            return
                        if free <= 0 and drawn <= 0:
                            if turn > 0:
                                drawn = turns.draw(turn)
                            if drawn <= 0:
                                self._waitForTurn()
                                return
                event = reader.next_event()
                kind = event.__class__
                if kind is _REQUEST_HEAD:
                    turn -= 1
                    if free > 0:
                        free -= 1
                    else:
                        drawn -= 1
                    self._startRequest(event)
                elif kind is _BODY_DATA:
                    self._bodyData(current, event.data)
                elif kind is _END:
                    self._bodyEnd(current, event.trailers)
                elif event is _NEED_DATA:
                    if current is not None and not current.bodyComplete:
                        # Waiting for more of the body: bodyTimeout applies.
                        if self._phase != "body":
                            self._enterPhase("body")
                    self._resumeTransport()
                    return
                else:  # CLOSED
                    self._peerDone()
                    return
        finally:
            if drawn > 0:
                turns.giveBack(drawn)

    def _turnQueue(self):
        turns = self._turns
        if turns is None:
            # A channel made without a factory queues on its own.
            turns = self._turns = TurnQueue(self.reactor, self.maxRequestsPerRound)
        return turns

    def _waitForTurn(self):
        """
        Queue for a turn: the requests already read wait until the round
        reaches this connection.
        """
        self._waitingTurn = True
        self._turnQueue().wait(self)

    def _takeTurn(self):
        """
        This connection's turn in a round (see L{TurnQueue}).
        """
        self._waitingTurn = False
        try:
            self._processEvents(0)
        except Exception:
            # What dataReceived's caller would do: log it and drop this
            # connection, not the rest of the round.
            log.failure("Unhandled error in a connection's turn")
            self._closing = True
            self.transport.abortConnection()

    def _startRequest(self, head):
        self._discardBody = False
        length = head.content_length
        if length != 0:
            # The body's accounts (only a request with a body uses them).
            self._drained = 0
            self._bodyReceived = 0
            self._bodyWaited = 0.0
        chan = self.chanRequestFactory(self, head)
        self._current = chan
        self._phase = "busy"
        self._answered = True
        headers = Headers.fromWire(head.headers)
        request = self.site(
            chan, head.method, head.target, head.version, length, headers,
        )
        chan.request = request
        if length == 0:
            # No body: take its EndOfRequest now, so that a response
            # finished during process() moves straight on to the next
            # request.  The request still hears of the end after process().
            self._reader.end_empty_body()
            chan.bodyComplete = True
        try:
            request.process()
        except Exception:
            log.failure("Unhandled error processing {target}", target=head.target)
            if not chan.headersWritten:
                self._send(_errorResponse(500, "Internal Server Error"))
            self._closeAfterResponse(chan)
            return
        if length == 0 and not chan.finished and not self._discardBody:
            request.handleContentComplete([])

    def _bodyData(self, chan, data):
        if self._discardBody or chan.finished:
            self._drained += len(data)
            if self._drained > self.maxDrainBytes:
                if chan.finished:
                    self._loseConnection()
                else:
                    # The response is still being written: stop reading
                    # and close once it is done, never cut it short.
                    chan.persistent = False
                    self._phase = "busy"  # no bodyTimeout: input is paused
                    self._pauseBody()
            return
        self._bodyReceived += len(data)
        if self._phase == "body":
            self._phaseStart = self.reactor.seconds()
        chan.request.handleContentChunk(data)

    def _bodyEnd(self, chan, trailers):
        chan.bodyComplete = True
        self._leaveBodyWait()
        if not self._discardBody and not chan.finished:
            chan.request.handleContentComplete(trailers)
        if chan.finished:
            self._nextRequest(chan)
        elif not self._sendHeld:
            # The application is still working: no timer bounds it, only
            # sendTimeout once it writes and the client stops reading.
            self._phase = "busy"

    def _requestFinished(self, chan):
        if chan is not self._current:
            return
        if not chan.persistent:
            self._closeAfterResponse(chan)
        elif chan.bodyComplete:
            self._nextRequest(chan)
        else:
            # The response went out before the body was read: drain it
            # (bounded by maxDrainBytes) so the next request is found.
            self._discardBody = True
            self._resumeBody()

    def _nextRequest(self, chan):
        self._current = None
        # The request refers to its channel request and back: part the two
        # now that the channel is done, so that reference counting frees a
        # finished request at once instead of the cyclic collector later.
        chan.request = None
        if self.draining:
            self._loseConnection()
            return
        if self._sendHeld:
            # The end of the hold goes on to the next request.
            return
        if self._inLoop:
            self._phase = "next"
            return
        self._enterPhase("idle")
        self._processEvents()

    def _peerDone(self):
        """
        The reader will give no more requests: close once idle.
        """
        if self._current is None:
            self._loseConnection()

    def _closeAfterResponse(self, chan):
        self._current = None
        chan.request = None
        if not chan.head.keep_alive and chan.bodyComplete and not self._reader.buffered:
            # The client asked to close, its request was read whole and it
            # sent nothing more: no input can arrive to make our close a
            # reset, so there is nothing to linger for.
            self._readClosed = True
        self._loseConnection()

    # Flow control

    def _pauseTransport(self):
        if not self._paused:
            self._paused = True
            self.transport.pauseProducing()

    def _resumeTransport(self):
        if self._paused and not self._bodyPaused and not self._sendHeld:
            self._paused = False
            self.transport.resumeProducing()

    def _pauseBody(self):
        self._bodyPaused = True
        self._pauseTransport()
        # The application stopped reading: the client's silence from now
        # on is not the client's fault, so no body timer runs until the
        # application reads again (the phase restarts then).
        self._leaveBodyWait()

    def _leaveBodyWait(self):
        if self._phase == "body":
            self._bodyWaited += self.reactor.seconds() - self._bodyWaitStart
            self._phase = "busy"

    def _resumeBody(self):
        if self._bodyPaused:
            self._bodyPaused = False
        self._resumeTransport()
        self._processEvents()

    # Errors and closing

    def _protocolError(self, error):
        # Its traceback holds the frames it came through, and they the bytes
        # just received and this channel; the reader keeps the error (and a
        # request may keep a Failure of it): a reference cycle that held
        # every refused connection, and its last chunk, until the garbage
        # collector ran (a header flood grew the server by megabytes a
        # second).  The error is logged below and needs no traceback.
        error.__traceback__ = None
        peer = self.transport.getPeer()
        log.info(
            "Bad request from {peer}: {status} {reason}",
            peer=getattr(peer, "host", peer), status=error.status, reason=error.reason,
        )
        current = self._current
        if current is not None and current.headersWritten and current._pendingHead is None:
            # The response is on the wire: the error ends the connection
            # after it.  The body stream fails, so that a response made of
            # the request body (an echo, a proxy) is aborted rather than
            # ended as if whole.
            current.persistent = False
            if current.finished:
                self._loseConnection()
            else:
                self._discardBody = True
                self._failRequest(current, error)
            return
        if current is not None and not current.finished:
            # Mid-request (a malformed body), before anything of the
            # response left: the application's response is superseded by
            # the error's, and its body stream fails.
            current.finished = current.superseded = True
            self._failRequest(current, error)
        elif current is not None:
            current.request = None
        self._current = None
        extra = ()
        if error.status == 503:
            extra = ((b"Retry-After", b"5"),)
        self._send(_errorResponse(error.status, error.reason, extra))
        self._loseConnection()

    @staticmethod
    def _failRequest(chan, error):
        """
        The request's body stream fails with C{error}, and the request and
        C{chan} part: they refer to each other, and the channel is done
        with this request (the normal ends part them too, L{_nextRequest}).
        Kept, the pair held the channel and its connection in a reference
        cycle until the garbage collector ran (issue #14).
        """
        request, chan.request = chan.request, None
        if request is not None:
            request.connectionLost(Failure(error))

    def _loseConnection(self):
        """
        Close after what was written: half-close and linger so that a client
        still sending does not get a reset that destroys our response.
        """
        if self._closing:
            return
        self._closing = True
        if self._current is not None:
            # A finished response whose unread body was being drained.
            self._current.request = None
        self._current = None
        self._endSendHold()
        self._resumeTransportForLinger()
        half = interfaces.IHalfCloseableDescriptor.providedBy(self.transport)
        if half and not self._readClosed:
            self._flush()
            self.transport.loseWriteConnection()
            self._enterPhase("linger")
        else:
            # Nothing to linger for: the peer has closed its side already
            # (or the transport cannot half-close).
            self._cancelTimer()
            if (
                self._fromReactor
                and self._inLoop
                and self.transport.__class__ is _TCPServer
            ):
                # Closed at the end of the reactor's call, when nothing of
                # the application is running any more (see _closeAfterLoop);
                # from inside application code (a response finished by a
                # Deferred), the transport closes on its next round.  What
                # was collected is sent first (sendCollected).
                self._closeAfterLoop = True
                return
            self._flush()
            self.transport.loseConnection()

    def _closeSocketNow(self):
        """
        Close a plain TCP connection whose output all went to the socket
        at once, as the reactor would on its next round, saving that round
        and two changes to the epoll set; otherwise let the transport
        finish writing first.
        """
        transport = self.transport
        if self._directOK(transport):
            # Both the epoll removal and Twisted's shutdown() before close()
            # stay: a process forked without exec (multiprocessing, say)
            # shares the socket, and then close() alone would neither send
            # the FIN nor take the socket out of the epoll set.
            transport.stopReading()
            transport.stopWriting()
            transport.connectionLost(_CONNECTION_DONE)
        else:
            transport.loseConnection()

    def _endSendHold(self):
        """
        The connection closes: the hold is over, and the transport's producer
        slot free (a producer left registered keeps a transport from closing).
        """
        self._sendHeld = False
        self._unwatchOutput()

    def _resumeTransportForLinger(self):
        self._bodyPaused = False
        if self._paused:
            self._paused = False
            self.transport.resumeProducing()

    def abortConnection(self):
        self._closing = True
        self._cancelTimer()
        self._endSendHold()
        self.transport.abortConnection()

    # Leaving HTTP (101 Switching Protocols): called by
    # HTTPChannelRequest.switchProtocols only, so nothing here runs for an
    # ordinary request.

    def _switchProtocols(self, chan, head, protocol):
        """
        Send the C{101} head C{head} and hand the connection to C{protocol}:
        from now on it gets the transport, the bytes that followed the
        request in the reader's buffer, and all later input.  HTTP is over
        on this connection (C{_closing} stops the event loop and every HTTP
        path), its deadlines stop, and its producer slot is freed.

        @param protocol: an L{IProtocol}; if it has C{readConnectionLost()}
            it hears of the client's half-close, and if it has C{drain()} a
            graceful shutdown of the factory calls it.
        """
        self._send(head, now=True)
        self._current = None
        chan.request = None
        self._closing = True
        self._cancelTimer()
        self._endSendHold()
        rest = self._reader.take_buffered()
        channelLost = self.__class__.connectionLost

        def connectionLost(reason):
            try:
                protocol.connectionLost(reason)
            finally:
                channelLost(self, reason)

        self.dataReceived = protocol.dataReceived
        self.readConnectionLost = getattr(
            protocol, "readConnectionLost", self.transport.loseConnection)
        self.connectionLost = connectionLost
        self.drain = getattr(protocol, "drain", self.transport.loseConnection)
        self._bodyPaused = False
        if self._paused:
            self._paused = False
            self.transport.resumeProducing()
        protocol.makeConnection(self.transport)
        if rest:
            protocol.dataReceived(rest)
        if self._readClosed:
            self.readConnectionLost()

    # Timeouts (rule 5).  One deadline at most, in a slot shared with other
    # connections (channel/_deadlines.py: up to a quarter second late, no
    # DelayedCall per connection), rescheduled lazily: a phase change only
    # records the phase and its start, so a request that arrives whole and
    # is answered at once touches no timer at all.

    _PHASE_LIMITS = {
        "idle": "idleTimeout",
        "head": "headerTimeout",
        "body": "bodyTimeout",
        "busy": None,
        # Between two requests while the event loop runs: the loop goes on
        # to the next request if it is already here, and only when it
        # stops does the connection enter "idle" or "head" (in
        # _processEvents), so a pipeline of requests touches no clock.
        "next": None,
        # Waiting for a turn (rule 5): the server's delay, not the client's.
        "turn": None,
        "linger": "lingerTimeout",
        # The send hold (rule 2): renewed while the client takes some.
        "send": "sendTimeout",
    }

    def _phaseLimit(self, phase):
        attr = self._PHASE_LIMITS[phase]
        return None if attr is None else getattr(self, attr)

    def _enterPhase(self, phase):
        attr = self._PHASE_LIMITS[phase]
        limit = None if attr is None else getattr(self, attr)
        now = self.reactor.seconds()
        self._phase = phase
        self._phaseStart = now
        if phase == "body":
            self._bodyWaitStart = now
        if limit is None:
            return
        slot = self._slot
        deadlines = self._deadlines
        if deadlines is None:
            # A channel made without a factory: slots of its own.
            deadlines = self._deadlines = Deadlines(self.reactor)
        if slot is None:
            self._slot = deadlines.add(self, now + limit, now)
        elif deadlines.fireTime(slot) >= now + limit + RESOLUTION:
            # The deadline moved a slot or more earlier (never so for an
            # infinite limit: no slot fires after infinity).
            deadlines.remove(self, slot)
            self._slot = deadlines.add(self, now + limit, now)

    def deadlineReached(self):
        """
        The slot of this connection's deadline fired (L{Deadlines}).
        """
        self._slot = None
        limit = self._phaseLimit(self._phase)
        if limit is None:
            return
        now = self.reactor.seconds()
        remaining = self._phaseStart + limit - now
        if self._phase == "body" and self.minBodyRate:
            remaining = min(remaining, self._bodyRateLeft(now))
        if remaining > 0:
            self._slot = self._deadlines.add(self, now + remaining, now)
            return
        getattr(self, "_timedOut_" + self._phase)()

    def _bodyRateLeft(self, now):
        """
        Seconds left before the body falls below C{minBodyRate}: like
        Apache's mod_reqtimeout, a body may take C{bodyTimeout} seconds of
        waiting plus one second per C{minBodyRate} bytes received, so a
        client trickling a byte now and then cannot hold the connection
        for ever.  Only time spent waiting for the client counts.
        """
        waited = self._bodyWaited + (now - self._bodyWaitStart)
        allowed = self.bodyTimeout + self._bodyReceived / self.minBodyRate
        return allowed - waited

    def _cancelTimer(self):
        slot = self._slot
        if slot is not None:
            self._slot = None
            self._deadlines.remove(self, slot)

    def _timedOut_idle(self):
        self._closing = True
        self.transport.loseConnection()
        if self._unsentBytes():
            # Output the client never took: it gets sendTimeout more.
            self._abortCall = self.reactor.callLater(self.sendTimeout, self._abortIfOpen)

    def _timedOut_send(self):
        unsent = self._unsentBytes()
        if unsent < self._sendHeldUnsent:
            # The client took some: it has another sendTimeout.
            self._sendHeldUnsent = unsent
            self._enterPhase("send")
            return
        log.info(
            "Client left {unsent} bytes unread for {timeout}s; aborting",
            unsent=unsent, timeout=self.sendTimeout,
        )
        self.abortConnection()

    def _timedOut_head(self):
        self._protocolError(
            _wire.ProtocolError(408, "request head not received in time")
        )

    def _timedOut_body(self):
        current = self._current
        if current is not None and current.headersWritten:
            log.info("Request body stalled after the response started; aborting")
            self.abortConnection()
            return
        slow = self.minBodyRate and self._bodyRateLeft(self.reactor.seconds()) <= 0
        self._protocolError(_wire.ProtocolError(
            408, "request body too slow" if slow else "request body stalled"))

    def _timedOut_linger(self):
        # The peer did not close: stop discarding its input.  loseConnection
        # still flushes our output; a peer that does not read it either is
        # cut off after sendTimeout.
        self.transport.loseConnection()
        self._abortCall = self.reactor.callLater(self.sendTimeout, self._abortIfOpen)

    def _abortIfOpen(self):
        if self.transport.connected:
            self.transport.abortConnection()

    # Graceful shutdown

    def drain(self):
        """
        Finish the request under way (with C{Connection: close}) and close;
        close at once when idle between requests.  A connection that has
        not sent its first request yet is kept to answer that one (with
        C{Connection: close}): it was accepted just before the drain, so
        its client is sending a request now and would otherwise see the
        connection closed without an answer (a reload's old worker, a
        SIGTERM).  Its header timeout and the drain's own deadline still
        bound it.
        """
        self.draining = True
        current = self._current
        if current is None:
            if self._answered:
                self._loseConnection()
        elif current.finished:
            # The response is out and only its unread body is being
            # discarded (a 413 answered before the body, say): nothing is
            # left to wait for but the client, which may never send it.
            self._loseConnection()
        elif not current.headersWritten:
            current.persistent = False


# Declared after the class, not with @implementer: the compiled build's
# extension types take no class decorators.
classImplements(HTTPChannel, interfaces.IProtocol, interfaces.ILoggingContext,
                interfaces.IHalfCloseableProtocol)


class _OverloadedProtocol(protocol.Protocol):
    """
    Answers 503 with Retry-After to a connection beyond the factory's cap.
    """

    def connectionMade(self):
        self.transport.write(
            _errorResponse(
                503, "Service Unavailable: too many connections",
                ((b"Retry-After", b"5"),),
            )
        )
        self.transport.loseConnection()


@implementer(interfaces.IProtocolNegotiationFactory)
class HTTPFactory(protocol.ServerFactory):
    """
    Makes an L{HTTPChannel} per connection, all answering with one site.

    Under TLS it takes part in protocol negotiation (ALPN): Twisted's TLS
    layer asks the factory it wraps for L{acceptableProtocols}, and without
    an answer it refuses every client that offers ALPN (curl, browsers,
    Python's C{ssl} with C{set_alpn_protocols}) with an internal-error
    alert.

    @ivar connections: the set of open channels.
    """

    protocol = HTTPChannel

    def __init__(
        self,
        site,
        *,
        reactor=None,
        limits: _wire.Limits | None = None,
        maxConnections: int | None = 10000,
        maxBufferedBytes: int = 65536,
        maxUnsentBytes: int = 65536,
        maxKernelUnsentBytes: int = 131072,
        maxRequestsPerTurn: int = 16,
        maxRequestsPerRound: int = 128,
        maxDrainBytes: int = 1024 * 1024,
        headerTimeout: float = 20.0,
        bodyTimeout: float = 60.0,
        minBodyRate: float = 500.0,
        idleTimeout: float = 60.0,
        sendTimeout: float = 60.0,
        lingerTimeout: float = 5.0,
        allowPersistentConnections: bool = True,
    ):
        """
        @param site: the request factory, normally a L{web2.server.Site}.
        @param limits: the wire limits (line, header and body sizes).
        @param maxConnections: open connections beyond this get a 503 with
            Retry-After; C{None} for no cap.
        @param maxBufferedBytes: how many bytes of pipelined requests are
            read ahead before the socket stops being read.
        @param maxUnsentBytes: how many bytes of answers the client has not
            taken may wait in the transport before the connection answers
            no further request and stops reading, until they are taken.
        @param maxKernelUnsentBytes: how many bytes not yet sent the kernel
            accepts from a connection (Linux's C{TCP_NOTSENT_LOWAT}; bytes in
            flight to the client come on top); C{0} for the kernel's default,
            which lets a client that reads nothing take megabytes.
        @param maxRequestsPerTurn: how many pipelined requests a connection
            answers in a row before the reactor serves the other connections
            (then it goes on with the rest).
        @param maxRequestsPerRound: how many pipelined requests beyond the
            first of each batch read all connections answer together in one
            reactor iteration; connections that find none left wait in turn
            for the next iterations (the bound on how long a quiet
            connection's request waits behind busy ones).
        @param maxDrainBytes: how much of an unread request body is read and
            discarded to keep the connection; beyond it the connection closes.
        @param headerTimeout: seconds for a request head to arrive (408).
        @param bodyTimeout: seconds of silence allowed inside a body (408).
        @param minBodyRate: bytes per second a body must average once its
            first C{bodyTimeout} seconds are spent (each C{minBodyRate}
            bytes buys a second more); slower is 408.  C{0} turns the rule
            off.  Time the application is not reading does not count.
        @param idleTimeout: seconds a kept-alive connection may sit idle.
        @param sendTimeout: seconds a client may leave our output unread.
        @param lingerTimeout: seconds to discard input after a close.
        """
        if maxRequestsPerTurn < 1 or maxRequestsPerRound < 1:
            # Zero would leave every pipelined request waiting for ever,
            # its round renewed each pass of the reactor.
            raise ValueError(
                f"maxRequestsPerTurn ({maxRequestsPerTurn}) and maxRequestsPerRound "
                f"({maxRequestsPerRound}) must be at least 1")
        if reactor is None:
            from twisted.internet import reactor
        self.site = site
        self.reactor = reactor
        self.maxConnections = maxConnections
        self.connections: set[HTTPChannel] = set()
        self._drainWaiters: list[defer.Deferred] = []
        settings = dict(
            limits=limits or _wire.Limits(),
            maxBufferedBytes=maxBufferedBytes,
            maxUnsentBytes=maxUnsentBytes,
            maxKernelUnsentBytes=maxKernelUnsentBytes,
            maxRequestsPerTurn=maxRequestsPerTurn,
            maxRequestsPerRound=maxRequestsPerRound,
            maxDrainBytes=maxDrainBytes,
            headerTimeout=headerTimeout,
            bodyTimeout=bodyTimeout,
            minBodyRate=minBodyRate,
            idleTimeout=idleTimeout,
            sendTimeout=sendTimeout,
            lingerTimeout=lingerTimeout,
            allowPersistentConnections=allowPersistentConnections,
            factory=self,
            site=site,
            reactor=reactor,
            _deadlines=Deadlines(reactor),
            _turns=TurnQueue(reactor, maxRequestsPerRound),
        )
        # The settings become class attributes of a subclass made for this
        # factory, so an idle connection carries none of them itself.
        # (Its module is named: compiled, there is no caller's frame to read
        # it from.)
        self.protocol = type(self.protocol.__name__, (self.protocol,),
                             {"__module__": self.protocol.__module__, **settings})
        self.draining = False

    @property
    def connectionCount(self) -> int:
        return len(self.connections)

    def acceptableProtocols(self) -> list[bytes]:
        """
        The ALPN protocols this factory's channels speak: HTTP/1.1 only (a
        client offering C{h2} too is answered in HTTP/1.1).

        @see: L{twisted.internet.interfaces.IProtocolNegotiationFactory}
        """
        return [b"http/1.1"]

    def buildProtocol(self, addr):
        if self.draining or (
            self.maxConnections is not None
            and len(self.connections) >= self.maxConnections
        ):
            log.warn(
                "Refusing a connection from {addr}: {count} open (cap {cap})",
                addr=addr, count=len(self.connections), cap=self.maxConnections,
            )
            return _OverloadedProtocol()
        channel = self.protocol()
        self.connections.add(channel)
        return channel

    def _channelClosed(self, channel):
        self.connections.discard(channel)
        if not self.connections and self._drainWaiters:
            waiters, self._drainWaiters = self._drainWaiters, []
            for d in waiters:
                d.callback(None)

    def drain(self, timeout: float = 30.0) -> defer.Deferred:
        """
        Close every connection gracefully: idle ones at once, busy ones
        after their current response (sent with C{Connection: close});
        abort whatever is still open after C{timeout} seconds.

        @return: a Deferred that fires when no connection is left.
        """
        self.draining = True
        if not self.connections:
            return defer.succeed(None)
        d = defer.Deferred()
        self._drainWaiters.append(d)
        for channel in list(self.connections):
            channel.drain()

        def abortTheRest():
            for channel in list(self.connections):
                log.info("Aborting a connection still open at the end of the drain")
                channel.abortConnection()

        timer = self.reactor.callLater(timeout, abortTheRest)
        d.addBoth(lambda r: (timer.cancel() if timer.active() else None, r)[1])
        return d
