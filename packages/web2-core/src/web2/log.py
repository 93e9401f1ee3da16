# -*- test-case-name: test_log -*-
"""
Access logs.

L{web2.server.Site} emits one L{twisted.logger} event per finished request
to its C{accessLogObserver}, in the namespace C{web2.access}, with the fields C{client}, C{method},
C{uri}, C{protocol}, C{status}, C{bytes}, C{duration}, C{referer},
C{user_agent}, C{timestamp} and C{host}.  This module turns those events
into lines: three formatters (L{IAccessLogFormatter} providers),
L{AccessLogObserver}, which writes the events of that namespace to a file,
and L{AccessLogService}, the observer C{twistd web2} gives its site.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from typing import IO

from twisted.application import service
from twisted.logger import ILogObserver
from zope.interface import implementer, provider

from web2.iweb import IAccessLogFormatter

__all__ = [
    "ACCESS_NAMESPACE",
    "AccessLogObserver",
    "AccessLogService",
    "FORMATTERS",
    "combinedLogFormatter",
    "commonLogFormatter",
    "jsonLogFormatter",
]

ACCESS_NAMESPACE = "web2.access"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Quote, backslash and every control character get an escape, so that a
# hostile request line cannot forge or split log lines.
_ESCAPES = {i: f"\\x{i:02x}" for i in list(range(0x20)) + [0x7f]}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\t"): "\\t",
                 ord("\n"): "\\n", ord("\r"): "\\r"})


_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f]*').fullmatch


def _escape(value) -> str:
    if value is None or value == "":
        return "-"
    if value.__class__ is not str:
        value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    if _PLAIN(value) is not None:
        return value
    return value.translate(_ESCAPES)


def _client(record) -> str:
    client = record.get("client")
    client = getattr(client, "host", client)  # an IAddress, or text
    return _escape(client)


_lastSecond = [None, ""]


def _clfTime(record) -> str:
    stamp = record.get("timestamp", record.get("log_time"))
    if stamp is None:
        stamp = time.time()
    second = int(stamp)
    if _lastSecond[0] != second:
        t = time.gmtime(second)
        _lastSecond[1] = (f"[{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:"
                          f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000]")
        _lastSecond[0] = second
    return _lastSecond[1]


def _protocol(record) -> str:
    proto = record.get("protocol")
    if isinstance(proto, tuple):
        proto = f"HTTP/{proto[0]}.{proto[1]}"
    return proto or "-"


def _bytes(record) -> str:
    count = record.get("bytes")
    return "-" if not count else str(int(count))


@provider(IAccessLogFormatter)
def commonLogFormatter(record) -> str:
    """
    The Common Log Format:
    C{client - user [time] "METHOD URI PROTOCOL" status bytes}.
    """
    request = f"{record.get('method') or '-'} {record.get('uri') or '-'} {_protocol(record)}"
    return (f'{_client(record)} - {_escape(record.get("user"))} {_clfTime(record)} '
            f'"{_escape(request)}" {record.get("status", "-")} {_bytes(record)}')


@provider(IAccessLogFormatter)
def combinedLogFormatter(record) -> str:
    """
    The Combined Log Format: the common format followed by
    C{"referer" "user-agent"}.
    """
    return (f'{commonLogFormatter(record)} "{_escape(record.get("referer"))}" '
            f'"{_escape(record.get("user_agent"))}"')


_JSON_FIELDS = ("client", "method", "uri", "protocol", "status", "bytes",
                "duration", "referer", "user_agent", "host", "user")


@provider(IAccessLogFormatter)
def jsonLogFormatter(record) -> str:
    """
    One JSON object per line, with an ISO 8601 C{time} in UTC and the
    fields of the event (absent ones left out).  Non-ASCII text is escaped,
    so a line is always plain ASCII.
    """
    stamp = record.get("timestamp", record.get("log_time")) or time.time()
    out = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp))
           + f".{int((stamp % 1) * 1000):03d}Z"}
    for name in _JSON_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if name == "client":
            value = getattr(value, "host", value)
        elif name == "protocol":
            value = _protocol(record)
        elif name == "duration":
            value = round(float(value), 6)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, (int, float, str)):
            value = str(value)
        out[name] = value
    return json.dumps(out, ensure_ascii=True, separators=(",", ":"))


#: The built-in formats, by the name C{--log-format} takes.
FORMATTERS: dict[str, Callable] = {
    "combined": combinedLogFormatter,
    "common": commonLogFormatter,
    "json": jsonLogFormatter,
}


@implementer(ILogObserver)
class AccessLogObserver:
    """
    A log observer that writes each C{web2.access} event as one line to a
    file and ignores every other event.

    @ivar file: a text file open for writing.
    @ivar formatter: an L{IAccessLogFormatter}.
    """

    def __init__(self, file: IO[str], formatter: Callable = combinedLogFormatter):
        self.file = file
        self.formatter = formatter

    def __call__(self, event) -> None:
        if event.get("log_namespace") != ACCESS_NAMESPACE:
            return
        self.file.write(self.formatter(event) + "\n")
        self.file.flush()


@implementer(ILogObserver)
class AccessLogService(service.Service):
    """
    Writes the access log to C{path} (C{"-"}: standard output) while the
    service runs: the file is opened for appending when it starts and closed
    when it stops.

    The service is itself the observer to give to
    L{web2.server.Site}(C{accessLogObserver=...}); events that arrive while
    it is stopped are dropped.  Given a C{publisher} (such as
    C{globalLogPublisher}), it also observes the C{web2.access} events
    published there.
    """

    def __init__(self, path: str, formatter: Callable = combinedLogFormatter,
                 publisher=None):
        self.path = path
        self.formatter = formatter
        self.publisher = publisher
        self.observer: AccessLogObserver | None = None

    def __call__(self, event) -> None:
        if self.observer is not None:
            self.observer(event)

    def open(self) -> None:
        """
        Open the file and start observing.  Called by L{startService}.

        @raise OSError: the file cannot be opened.
        """
        if self.observer is not None:
            return
        if self.path == "-":
            f = sys.stdout
        else:
            f = open(self.path, "a", encoding="utf-8", errors="backslashreplace")
        self.observer = AccessLogObserver(f, self.formatter)
        if self.publisher is not None:
            self.publisher.addObserver(self.observer)

    def startService(self) -> None:
        self.open()
        service.Service.startService(self)

    def reopen(self) -> None:
        """
        Open the file again by its name (after logrotate moved it away) and
        close the old one; standard output stays as it is.

        @raise OSError: the file cannot be opened (the old one stays).
        """
        if self.observer is None or self.path == "-":
            return
        new = open(self.path, "a", encoding="utf-8", errors="backslashreplace")
        old, self.observer.file = self.observer.file, new
        old.close()

    def stopService(self):
        service.Service.stopService(self)
        if self.observer is not None:
            if self.publisher is not None:
                self.publisher.removeObserver(self.observer)
            if self.observer.file is not sys.stdout:
                self.observer.file.close()
            self.observer = None
