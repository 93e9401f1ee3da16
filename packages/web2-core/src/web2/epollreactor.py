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

C{python -m web2} installs it by default on Linux (C{--reactor} chooses
another); under C{twistd}, choose it with C{twistd --reactor=web2 web2 ...}.
"""

from __future__ import annotations

import errno
import sys

from twisted.internet import epollreactor
from twisted.internet.posixbase import _NO_FILEDESC
from twisted.python import log


class LeanEPollReactor(epollreactor.EPollReactor):
    """
    L{twisted.internet.epollreactor.EPollReactor} without a logging
    context per event (see the module's docstring).
    """

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


def install():
    """
    Install L{LeanEPollReactor} as the global reactor.
    """
    from twisted.internet.main import installReactor

    installReactor(LeanEPollReactor())


__all__ = ["LeanEPollReactor", "install"]
