# -*- test-case-name: test_asyncioreactor -*-
"""
Twisted's asyncio reactor minus the legacy logging context it enters
around every event: what L{web2.epollreactor} is to Twisted's epoll
reactor, for the sites that need asyncio (ASGI applications).

Twisted's L{AsyncioSelectorReactor} registers every reader and writer with
the event loop as C{callWithLogger(selectable, ...)}, which pushes a copy
of the legacy context dictionary so that old-style C{log.msg} calls made
in the callback are tagged with the connection's C{logPrefix()}.  web2
logs through C{twisted.logger}; here the loop calls the reactor's
dispatch directly.  Legacy C{log.msg} calls made from protocol code log
with the system C{-}.  An exception a read or write raises is logged and
disconnects that selectable, as before.

C{python -m web2} installs it when a plugin asks for asyncio's reactor (an
ASGI mount); under C{twistd}, choose it with
C{twistd --reactor=web2-asyncio web2 ...}.

L{installUvloop} installs it on a uvloop event loop (the C{uvloop}
package, an event loop written in C: about 8% fewer instructions per ASGI
request than asyncio's own loop): C{--reactor web2-uvloop}, and what
web2-asgi asks for when uvloop is installed.  An event loop other than
asyncio's own (uvloop) takes the signal wakeup descriptor while it runs,
the one Twisted's C{SIGCHLD} handling writes to; on such a loop the
reactor reaps its child processes from a Python-level C{SIGCHLD} handler
(which the loop runs when the signal wakes it), or it would never learn
that they ended.
"""

from __future__ import annotations

import asyncio
import errno
import signal

from twisted.internet import process
from twisted.internet._signals import _MultiSignalHandling
from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.internet.base import ReactorBase
from twisted.internet.posixbase import _NO_FILEDESC
from twisted.logger import Logger

from web2._pollsends import PollSends

__all__ = ["LeanAsyncioReactor", "install", "installUvloop"]

log = Logger()


class LeanAsyncioReactor(PollSends, AsyncioSelectorReactor):
    """
    L{AsyncioSelectorReactor} whose readers and writers are called by the
    event loop without a logging context (see the module's docstring).
    """

    def __init__(self, eventloop=None):
        super().__init__(eventloop)
        self._startPollSends()

    def sendAfterPoll(self, connection):
        """
        Call C{connection.sendCollected()} after the callbacks the event
        loop has ready now (the reads of one wake-up, the steps of the
        applications' tasks; or once L{maxSendsWaiting} other connections
        have asked), instead of now: see L{web2._pollsends}.

        @return: C{True}: it will be called.
        """
        if self._queueSend(connection):
            self._asyncioEventloop.call_soon(self._sendWaiting)
        return True

    def _signalsFactory(self):
        loop = self._asyncioEventloop
        if isinstance(loop, asyncio.BaseEventLoop) or not hasattr(signal, "SIGCHLD"):
            # asyncio's own loops leave the wakeup descriptor to Twisted.
            return super()._signalsFactory()
        return _MultiSignalHandling((
            ReactorBase._signalsFactory(self), _LoopChildSignals(self),
        ))

    def _readOrWrite(self, selectable, read):
        if selectable.fileno() == -1:
            why = _NO_FILEDESC
        else:
            try:
                why = selectable.doRead() if read else selectable.doWrite()
            except Exception as e:
                why = e
                log.failure("Unhandled error in {selectable!r}", selectable=selectable)
        if why:
            try:
                self._disconnectSelectable(selectable, why, read)
            except Exception:
                # As callWithLogger did: a failing connectionLost is
                # logged, and the loop goes on with the other events.
                log.failure("Unhandled error disconnecting {selectable!r}",
                            selectable=selectable)

    def addReader(self, reader):
        if reader in self._readers or reader in self._continuousPolling._readers:
            return
        fd = reader.fileno()
        try:
            self._asyncioEventloop.add_reader(fd, self._readOrWrite, reader, True)
            self._readers[reader] = fd
        except OSError as e:
            self._unregisterFDInAsyncio(fd)
            if e.errno == errno.EPERM:
                # Files epoll refuses are polled, as Twisted's reactor does.
                self._continuousPolling.addReader(reader)
            else:
                raise

    def addWriter(self, writer):
        if writer in self._writers or writer in self._continuousPolling._writers:
            return
        fd = writer.fileno()
        try:
            self._asyncioEventloop.add_writer(fd, self._readOrWrite, writer, False)
            self._writers[writer] = fd
        except PermissionError:
            self._unregisterFDInAsyncio(fd)
            self._continuousPolling.addWriter(writer)
        except BrokenPipeError:
            self._unregisterFDInAsyncio(fd)
        except BaseException:
            self._unregisterFDInAsyncio(fd)
            raise


class _LoopChildSignals:
    """
    Child processes reaped on C{SIGCHLD} for a loop that takes the signal
    wakeup descriptor itself: the Python-level handler (which such a loop
    runs when a signal wakes it) asks the reactor to reap them, as Twisted
    did before its wakeup descriptor.  (uvloop refuses C{SIGCHLD} in its
    C{add_signal_handler}.)
    """

    def __init__(self, reactor):
        self._reactor = reactor

    def _childChanged(self, signum, frame):
        self._reactor.callFromThread(process.reapAllProcesses)

    def install(self) -> None:
        signal.signal(signal.SIGCHLD, self._childChanged)
        signal.siginterrupt(signal.SIGCHLD, False)
        # Those that ended before the handler was there.
        process.reapAllProcesses()

    def uninstall(self) -> None:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def install(eventloop=None):
    """
    Install L{LeanAsyncioReactor} as the global reactor.

    @param eventloop: the asyncio event loop to run on (by default the
        running one, or a new one).
    """
    from twisted.internet.main import installReactor

    installReactor(LeanAsyncioReactor(eventloop))


def installUvloop():
    """
    Install L{LeanAsyncioReactor} on a new uvloop event loop.

    @raise ImportError: uvloop is not installed.
    """
    import asyncio

    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    install(loop)


class _uvloopInstaller:
    """
    What twistd's C{--reactor=web2-uvloop} dropin installs through (a
    Twisted reactor dropin names an object with an C{install} method).
    """

    install = staticmethod(installUvloop)
