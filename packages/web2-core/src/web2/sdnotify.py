# -*- test-case-name: test_sdnotify -*-
"""
The systemd notification protocol (C{sd_notify(3)}), written by hand: one
datagram of C{KEY=VALUE} lines sent to the unix socket named by
C{NOTIFY_SOCKET} (a path, or C{@name} for the abstract namespace).

A C{Type=notify} (or C{Type=notify-reload}) service tells systemd when it is
ready (C{READY=1}), reloading (C{RELOADING=1}) and stopping
(C{STOPPING=1}), and pets the watchdog (C{WATCHDOG=1}) every half of
C{WATCHDOG_USEC} when the unit sets C{WatchdogSec=}.  Without
C{NOTIFY_SOCKET} every call does nothing, so the same code runs everywhere.
"""

from __future__ import annotations

import os
import socket
import time

from twisted.application import service
from twisted.internet import task
from twisted.logger import Logger

__all__ = ["SystemdNotifier", "SystemdNotifyService", "systemdServices",
           "watchdogInterval"]

log = Logger(namespace=__name__)


class SystemdNotifier:
    """
    Sends notifications to C{NOTIFY_SOCKET}.

    @ivar address: the socket's address, or C{None} when there is none (every
        L{notify} then does nothing).
    """

    def __init__(self, environ=None):
        """
        @param environ: the environment to read C{NOTIFY_SOCKET} from
            (default C{os.environ}).
        """
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET") or None
        if address is not None and address.startswith("@"):
            # The abstract namespace: a leading NUL byte.
            address = "\0" + address[1:]
        self.address = address
        self._warned = False

    def notify(self, **fields) -> bool:
        """
        Send one datagram of C{KEY=VALUE} lines, e.g.
        C{notify(READY=1, STATUS="serving")}.

        @return: whether it was sent; a failure is logged once, never raised
            (systemd going away must not stop the server).
        """
        if self.address is None:
            return False
        message = "".join(f"{key}={value}\n" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode("utf-8"), self.address)
        except OSError as e:
            if not self._warned:
                self._warned = True
                log.warn("Cannot notify systemd at NOTIFY_SOCKET: {error}",
                         error=e.strerror or e)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """
        C{READY=1} (with C{MAINPID}, so a master that was started through a
        wrapper is the process systemd watches).
        """
        fields = {"READY": 1, "MAINPID": os.getpid()}
        if status:
            fields["STATUS"] = status
        return self.notify(**fields)

    def reloading(self) -> bool:
        """
        C{RELOADING=1} with C{MONOTONIC_USEC}, as C{Type=notify-reload}
        expects; C{READY=1} follows when the reload is done.
        """
        return self.notify(RELOADING=1,
                           MONOTONIC_USEC=int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6))

    def stopping(self) -> bool:
        """
        C{STOPPING=1}.
        """
        return self.notify(STOPPING=1)

    def watchdog(self) -> bool:
        """
        C{WATCHDOG=1}.
        """
        return self.notify(WATCHDOG=1)


def watchdogInterval(environ=None) -> float | None:
    """
    How often to pet the watchdog: half of C{WATCHDOG_USEC}, in seconds, if
    it is set for this process (C{WATCHDOG_PID} absent or ours), else
    C{None}.
    """
    environ = os.environ if environ is None else environ
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2e6


class SystemdNotifyService(service.Service):
    """
    Tells systemd C{READY=1} when started (after the listeners, which start
    before it), C{STOPPING=1} when stopped, and pets the watchdog in between
    if C{WATCHDOG_USEC} asks for it.

    @ivar notifier: the L{SystemdNotifier}.
    """

    def __init__(self, reactor, notifier: SystemdNotifier | None = None, environ=None):
        self.reactor = reactor
        self.notifier = notifier or SystemdNotifier(environ)
        self.interval = watchdogInterval(environ)
        self._watchdog: task.LoopingCall | None = None

    def startService(self):
        service.Service.startService(self)
        self.notifier.ready("serving")
        self.startWatchdog()

    def startWatchdog(self):
        """
        Pet the watchdog every L{interval} seconds (if there is one).
        """
        if self.interval is None or self._watchdog is not None:
            return
        self._watchdog = task.LoopingCall(self.notifier.watchdog)
        self._watchdog.clock = self.reactor
        self._watchdog.start(self.interval, now=True)

    def stopService(self):
        service.Service.stopService(self)
        self.notifier.stopping()
        if self._watchdog is not None and self._watchdog.running:
            self._watchdog.stop()
        self._watchdog = None


def systemdServices(reactor, environ=None) -> list:
    """
    A L{SystemdNotifyService} when systemd asks for notifications
    (C{NOTIFY_SOCKET} is set), else nothing.
    """
    environ = os.environ if environ is None else environ
    if not environ.get("NOTIFY_SOCKET"):
        return []
    return [SystemdNotifyService(reactor, environ=environ)]
