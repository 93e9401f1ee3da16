# -*- test-case-name: test_epollreactor -*-
"""
An epoll reactor for servers: Twisted's own, minus the legacy logging
context it enters around every event.

Twisted's reactors run each read or write callback inside
C{twisted.python.log.callWithLogger}, which pushes a context dictionary so
that old-style C{log.msg} calls made in the callback are tagged with the
connection's C{logPrefix()} (the C{[HTTPChannel,7,127.0.0.1]} of a legacy
log line).  That is a few dictionary copies and four Python calls per
event; on a small keep-alive request it measured 7-8% of the server's
whole time.  web2 logs through C{twisted.logger}, whose events carry their
own namespace, so it pays for something it does not use.

L{LeanEPollReactor} dispatches each event the way
C{_PollLikeMixin._doReadOrWrite} does (same disconnect, error and
half-close rules; an exception from a callback is logged and disconnects
that selectable), with one difference: no context is entered.  Legacy
C{log.msg} calls made from protocol code log with the system C{-}.

Its TCP ports (L{LeanEPollReactor.listenTCP}) accept connections the way
C{twisted.internet.tcp.Port} does, without the per-round log buffering and
accept generator, and without asking the listening socket for its address
family and type (two enum conversions) for every client; any error of
C{accept()} but "no more clients" is left to Twisted's own code.  On a
C{Connection: close} load that is about 5% of the server's time.

C{python -m web2} installs it by default on Linux (C{--reactor} chooses
another); under C{twistd}, choose it with C{twistd --reactor=web2 web2 ...}.
"""

from __future__ import annotations

import errno
import socket
import sys

from twisted.internet import epollreactor, tcp
from twisted.internet.posixbase import _NO_FILEDESC
from twisted.python import log

from web2._pollsends import PollSends


class LeanEPollReactor(PollSends, epollreactor.EPollReactor):
    """
    L{twisted.internet.epollreactor.EPollReactor} without a logging
    context per event (see the module's docstring).
    """

    def __init__(self):
        super().__init__()
        self._startPollSends()

    _polling = False

    def sendAfterPoll(self, connection):
        """
        Call C{connection.sendCollected()} once every event of the current
        poll has been dispatched, or every timed call and thread result due
        in this turn has run (or L{maxSendsWaiting} other connections have
        asked), instead of now: see L{web2._pollsends}.

        @return: whether it will be called: not outside both (at start-up,
            say), where nothing follows to batch with and the connection
            sends at once.
        """
        if self._polling:
            self._queueSend(connection)
            return True
        return False

    def doPoll(self, timeout):
        if timeout is None:
            timeout = -1
        selectables = self._selectables
        try:
            ready = self._poller.poll(timeout, len(selectables))
        except OSError as err:
            if err.errno == errno.EINTR:
                return
            raise
        pollIn = self._POLL_IN
        self._polling = True
        try:
            self._dispatch(ready, selectables, pollIn)
        finally:
            self._polling = False
        if self._sendsWaiting:
            self._sendWaiting()

    def runUntilCurrent(self):
        # The results threads hand back (a WSGI application's responses)
        # and timed calls come here, a batch a turn: their sends wait for
        # the end of it as a poll's do.
        self._polling = True
        try:
            super().runUntilCurrent()
        finally:
            self._polling = False
        if self._sendsWaiting:
            self._sendWaiting()

    def _dispatch(self, ready, selectables, pollIn):
        for fd, event in ready:
            selectable = selectables.get(fd)
            if selectable is None:
                continue
            try:
                if event == pollIn:
                    # The common event, readable and nothing else: what
                    # _doReadOrWrite does for it, in line.
                    inRead = False
                    try:
                        if selectable.fileno() == -1:
                            why = _NO_FILEDESC
                        else:
                            why = selectable.doRead()
                            inRead = True
                    except BaseException:
                        why = sys.exc_info()[1]
                        log.err()
                    if why:
                        self._disconnectSelectable(selectable, why, inRead)
                else:
                    self._doReadOrWrite(selectable, fd, event)
            except KeyboardInterrupt:
                raise
            except BaseException:
                # What callWithLogger does: an error of one selectable
                # (its connectionLost raising, say) is logged, and the
                # other events of this poll are still handled.
                log.err()

    doIteration = doPoll

    def listenTCP(self, port, factory, backlog=50, interface=""):
        """
        Listen as L{twisted.internet.posixbase.PosixReactorBase.listenTCP}
        does, on a L{LeanPort}.
        """
        listening = LeanPort(port, factory, backlog, interface, self)
        listening.startListening()
        return listening


class LeanPort(tcp.Port):
    """
    A listening TCP port that accepts as L{tcp.Port} does (the same
    transports, the same adaptive number of accepts per round), minus its
    per-round overhead; IPv6 ports and every C{accept()} error other than
    C{EAGAIN} take Twisted's own path (L{tcp.Port.doRead}: the reserved
    descriptor for C{EMFILE}, the log lines).
    """

    _socketKind = None

    def doRead(self):
        if self.addressFamily != socket.AF_INET:
            # Scope ids and the numeric host of IPv6 addresses: Twisted's.
            return tcp.Port.doRead(self)
        listener = self.socket
        kind = self._socketKind
        if kind is None:
            kind = self._socketKind = (
                int(listener.family), int(listener.type), listener.proto,
            )
        family, socketType, proto = kind
        accept = listener._accept
        buildProtocol = self.factory.buildProtocol
        addressType = self._addressType
        transportType = self.transport
        reactor = self.reactor
        limit = self.numberAccepts
        accepted = 0
        try:
            while accepted < limit:
                try:
                    fd, addr = accept()
                except BlockingIOError:
                    break
                except OSError:
                    tcp.Port.doRead(self)
                    return
                # As socket.accept() makes it (the listener is non-blocking,
                # so the client socket keeps the default timeout; the
                # transport makes it non-blocking).
                client = socket.socket(family, socketType, proto, fileno=fd)
                accepted += 1
                protocol = buildProtocol(addressType("TCP", *addr))
                if protocol is None:
                    client.close()
                    continue
                sessionno = self.sessionno
                self.sessionno = sessionno + 1
                protocol.makeConnection(
                    transportType(client, protocol, addr, self, sessionno, reactor)
                )
            # Twisted's scaling of the accepts per round.
            if accepted == limit:
                self.numberAccepts = limit + 20
            else:
                self.numberAccepts = max(1, accepted)
        except BaseException:
            log.deferr()


def install():
    """
    Install L{LeanEPollReactor} as the global reactor.
    """
    from twisted.internet.main import installReactor

    installReactor(LeanEPollReactor())


__all__ = ["LeanEPollReactor", "LeanPort", "install"]
