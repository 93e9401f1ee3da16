# -*- test-case-name: test_client -*-
"""
L{HTTPConnectionPool}: kept-alive client connections, per
C{(scheme, host, port)}, with a bound per key and an idle expiry.

Rules:
 1. At most C{maxPerHost} connections per key exist at once (connecting,
    busy or idle); a request beyond that waits, first come first served,
    for one to come back or to close.
 2. An idle connection is closed after C{idleTimeout} seconds, and dropped
    at once if the server closes it (or sends anything) while idle.
 3. The most recently used idle connection is handed out first (it is the
    least likely to have been closed by the server meanwhile).
"""

from __future__ import annotations

from collections import deque

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger

from ._errors import ConnectError, ConnectTimeout

log = Logger(namespace=__name__)


class _Key:
    """
    The connections of one key: idle ones, how many exist, who waits.
    """

    def __init__(self):
        self.idle = []  # (protocol, expiry call), most recent last
        self.count = 0
        self.waiting = deque()


class HTTPConnectionPool:
    """
    A pool of L{HTTP11ClientProtocol} connections.

    @ivar maxPerHost: the most connections per key.
    @ivar idleTimeout: seconds an idle connection is kept.
    @ivar connectTimeout: seconds a connection (name lookup, TCP and the
        start of TLS) may take.
    """

    def __init__(self, reactor, protocolFactory, maxPerHost=10, idleTimeout=60.0,
                 connectTimeout=10.0):
        """
        @param reactor: the reactor (for timers).
        @param protocolFactory: a callable making an L{HTTP11ClientProtocol}.
        @param maxPerHost: see L{maxPerHost}; default 10.
        @param idleTimeout: see L{idleTimeout}; default 60 s.
        @param connectTimeout: see L{connectTimeout}; default 10 s.
        """
        self._reactor = reactor
        self._protocolFactory = protocolFactory
        self.maxPerHost = maxPerHost
        self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout
        self._keys: dict = {}

    def _state(self, key) -> _Key:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key()
        return state

    def stats(self, key) -> tuple[int, int, int]:
        """
        C{(connections, idle, waiting)} for C{key}, for tests and metrics.
        """
        state = self._keys.get(key)
        if state is None:
            return (0, 0, 0)
        return (state.count, len(state.idle), len(state.waiting))

    def connection(self, key, endpoint):
        """
        A connection for C{key}: an idle one, a new one through
        C{endpoint}, or the next one freed when the key is at its bound.

        @return: a Deferred firing with a connected L{HTTP11ClientProtocol}
            (cancelling it gives up the wait), or failing with
            L{ConnectError}.
        """
        state = self._state(key)
        while state.idle:
            protocol, expiry = state.idle.pop()
            if expiry.active():
                expiry.cancel()
            if protocol.connected:
                return defer.succeed(protocol)
        if state.count < self.maxPerHost:
            return self._connect(key, state, endpoint)
        waiter = defer.Deferred(lambda d: _discard(state.waiting, entry))
        entry = (waiter, endpoint)
        state.waiting.append(entry)
        return waiter

    def _connect(self, key, state, endpoint):
        state.count += 1
        factory = Factory.forProtocol(self._protocolFactory)
        d = endpoint.connect(factory)
        timer = self._reactor.callLater(self.connectTimeout, d.cancel)

        def connected(protocol):
            if timer.active():
                timer.cancel()
            protocol.onDone = lambda p, reusable: self._done(key, p, reusable)
            protocol.onLost = lambda p: self._lost(key, p)
            return protocol

        def failed(failure):
            if timer.active():
                timer.cancel()
            else:
                failure = ConnectTimeout(f"no connection within {self.connectTimeout} s")
            state.count -= 1
            self._next(key, state)
            if isinstance(failure, ConnectError):
                raise failure
            if failure.check(defer.CancelledError):
                return failure
            raise ConnectError(f"cannot connect to {key[1]}:{key[2]}: {failure.getErrorMessage()}")

        d.addCallbacks(connected, failed)
        return d

    def _done(self, key, protocol, reusable):
        state = self._state(key)
        protocol.onDone = None
        if not reusable:
            self._forget(key, state, protocol)
            return
        protocol.onDone = lambda p, r: self._done(key, p, r)
        while state.waiting:
            waiter, _ = state.waiting.popleft()
            waiter.callback(protocol)
            return
        expiry = self._reactor.callLater(self.idleTimeout, self._expire, key, protocol)
        state.idle.append((protocol, expiry))

    def _forget(self, key, state, protocol):
        if getattr(protocol, "_counted", True):
            protocol._counted = False
            state.count -= 1
            self._next(key, state)

    def _lost(self, key, protocol):
        state = self._state(key)
        for i, (p, expiry) in enumerate(state.idle):
            if p is protocol:
                del state.idle[i]
                if expiry.active():
                    expiry.cancel()
                break
        self._forget(key, state, protocol)

    def _expire(self, key, protocol):
        state = self._state(key)
        for i, (p, _) in enumerate(state.idle):
            if p is protocol:
                del state.idle[i]
                protocol.transport.loseConnection()
                return

    def _next(self, key, state):
        """
        A place is free: connect for the first waiter.
        """
        if state.waiting and state.count < self.maxPerHost:
            waiter, endpoint = state.waiting.popleft()
            self._connect(key, state, endpoint).chainDeferred(waiter)

    def closeCachedConnections(self):
        """
        Close every idle connection.

        @return: a Deferred firing when they are closed.
        """
        waits = []
        for state in self._keys.values():
            for protocol, expiry in state.idle:
                if expiry.active():
                    expiry.cancel()
                d = defer.Deferred()
                previous = protocol.onLost

                def lost(p, d=d, previous=previous):
                    if previous is not None:
                        previous(p)
                    d.callback(None)

                protocol.onLost = lost
                protocol.transport.loseConnection()
                waits.append(d)
            state.idle = []
        return defer.gatherResults(waits).addCallback(lambda _: None)


def _discard(queue, entry):
    try:
        queue.remove(entry)
    except ValueError:
        pass
