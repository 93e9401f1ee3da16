# -*- test-case-name: test_serverlog -*-
"""
The server log of C{python -m web2} (what the server says about itself, as
opposed to the access log): its level (C{--log-level}), its format
(C{--server-log-format text} or C{json}, one object per line), its file
(C{--server-log PATH}, standard error by default), and the reopening of the
log files on C{SIGUSR1} for logrotate.

A JSON line has the keys C{time} (ISO 8601, UTC), C{level}, C{namespace},
C{pid}, C{message} (the formatted text) and, for an error with a
traceback, C{traceback}.

C{SIGUSR1} reopens the access log and the server log files (logrotate's
C{postrotate: kill -USR1 PID}, or C{copytruncate} not needed).  A handler
installed before (C{twistd}'s, which rotates its own C{--logfile}) is
still called.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import IO

from twisted.application import service
from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
    formatEvent,
    textFileLogObserver,
)
from zope.interface import implementer

__all__ = ["LOG_LEVELS", "ReopeningFile", "ReopenLogsService", "jsonServerLogObserver",
           "logLevel", "serverLogObservers", "serverLogFormat"]

#: The names C{--log-level} takes.
LOG_LEVELS = ("debug", "info", "warn", "error", "critical")

#: Files to reopen on SIGUSR1 (the server log's), besides the access logs.
_reopenable: list = []


def logLevel(text: str) -> LogLevel:
    """
    Coerce a C{--log-level} value (C{warning} is taken for C{warn}).

    @raise ValueError: an unknown name.
    """
    name = str(text).strip().lower()
    if name == "warning":
        name = "warn"
    if name not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {text!r}")
    return LogLevel.levelWithName(name)


def serverLogFormat(text: str) -> str:
    """
    Coerce a C{--server-log-format} value: C{text} or C{json}.
    """
    name = str(text).strip().lower()
    if name not in ("text", "json"):
        raise ValueError(f"must be text or json, not {text!r}")
    return name


class ReopeningFile:
    """
    A text file opened for appending that L{reopen} opens again by name
    (after logrotate moved it), or standard error for C{"-"}.
    """

    def __init__(self, path: str):
        self.path = path
        # Re-entrant: a signal handler runs in the main thread between two
        # of its bytecodes, possibly while it holds this lock writing a
        # line, and Twisted's SIGTERM and SIGINT handlers log.  With a
        # plain lock that handler waited for the line it had interrupted,
        # forever: a server stopped in the middle of a log line hung with
        # nothing logged after the signal (issue #14).
        self._lock = threading.RLock()
        self.file: IO[str] = self._open()

    def _open(self) -> IO[str]:
        if self.path == "-":
            return sys.stderr
        return open(self.path, "a", encoding="utf-8", errors="backslashreplace")

    def write(self, text: str) -> None:
        with self._lock:
            self.file.write(text)

    def flush(self) -> None:
        with self._lock:
            self.file.flush()

    def reopen(self) -> None:
        """
        Open the file again by its name and close the old one.
        """
        if self.path == "-":
            return
        new = self._open()
        with self._lock:
            old, self.file = self.file, new
        old.close()


def jsonServerLogObserver(file) -> ILogObserver:
    """
    An observer writing each event as one JSON object per line to C{file}.
    """
    pid = os.getpid()

    @implementer(ILogObserver)
    def observe(event):
        level = event.get("log_level")
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S",
                                  time.gmtime(event.get("log_time", time.time())))
            + f".{int(event.get('log_time', 0) * 1000) % 1000:03d}Z",
            "level": level.name if level is not None else "info",
            "namespace": event.get("log_namespace", "-"),
            "pid": pid,
            "message": formatEvent(event),
        }
        failure = event.get("log_failure")
        if failure is not None:
            try:
                record["traceback"] = failure.getTraceback()
            except Exception:  # a failure that cannot format itself
                record["traceback"] = repr(failure)
        file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        file.flush()

    return observe


def serverLogObservers(level: LogLevel = LogLevel.info, format: str = "text",
                       path: str = "-") -> list:
    """
    The observers of C{python -m web2}'s server log: events at C{level} or
    above, except access-log events, written as C{format} to C{path}
    (C{"-"}: standard error).  A file is registered for L{reopenLogFiles}.
    """
    if isinstance(level, str):
        level = logLevel(level)
    format = serverLogFormat(format)
    target = ReopeningFile(path)
    if path != "-":
        _reopenable.append(target)
    observer = jsonServerLogObserver(target) if format == "json" else \
        textFileLogObserver(target)

    def notAccess(event):
        # Access events have their own log; keep them out of this one.
        if event.get("log_namespace") == "web2.access":
            return PredicateResult.no
        return PredicateResult.maybe

    predicate = LogLevelFilterPredicate(defaultLogLevel=level)
    return [FilteringLogObserver(observer, [notAccess, predicate])]


def reopenLogFiles(accessLogs=()) -> None:
    """
    Reopen the server log file and the given access logs
    (L{web2.log.AccessLogService}s).
    """
    for target in list(_reopenable):
        target.reopen()
    for accessLog in accessLogs:
        if accessLog is not None:
            accessLog.reopen()


class ReopenLogsService(service.Service):
    """
    Reopens the log files on C{SIGUSR1} while it runs (chaining to the
    handler that was there before).
    """

    def __init__(self, reactor, accessLog=None):
        self.reactor = reactor
        self.accessLog = accessLog
        self._previous = None

    def startService(self):
        service.Service.startService(self)
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGUSR1, self._onSignal)

    def _onSignal(self, number, frame):
        self.reactor.callFromThread(self.reopen)
        if callable(self._previous):
            self._previous(number, frame)

    def reopen(self):
        """
        Reopen the files, and say so in the (new) server log.
        """
        reopenLogFiles([self.accessLog])
        from twisted.logger import Logger

        Logger(namespace=__name__).info("SIGUSR1: log files reopened")

    # The handler stays after the stop: a SIGUSR1 during the drain must not
    # end the process (the default action), and reopening stays harmless.
