# -*- test-case-name: test_wsgi_environ -*-
"""
C{wsgi.errors}: a text file whose lines go to the Twisted log.
"""

from __future__ import annotations

import threading

from twisted.logger import Logger

__all__ = ["ErrorStream"]

log = Logger(namespace="web2.wsgi.errors")


class ErrorStream:
    """
    A write-only text stream; each complete line written becomes one error
    event of the log namespace C{web2.wsgi.errors}, and L{flush} emits a
    partial line.  Safe to use from any thread (twisted.logger is), as an
    application may hand it to threads of its own.

    @ivar maxLine: a partial line longer than this many characters is
        emitted without waiting for its end, so that an application writing
        without newlines cannot grow memory without bound.
    """

    def __init__(self, source: str = "", maxLine: int = 16384):
        """
        @param source: a label for the log events, such as the request line.
        @param maxLine: see L{maxLine}.
        """
        self.source = source
        self.maxLine = maxLine
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        """
        Write C{text} (a C{str}, as for C{sys.stderr}).

        @raise TypeError: C{text} is not a C{str}.
        """
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors takes str, not {type(text).__name__}")
        with self._lock:
            text = self._partial + text
            lines = text.split("\n")
            self._partial = lines.pop()
            if len(self._partial) > self.maxLine:
                lines.append(self._partial)
                self._partial = ""
        for line in lines:
            self._emit(line)

    def writelines(self, lines) -> None:
        """
        Write every string of C{lines}.
        """
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """
        Emit the partial line, if any.
        """
        with self._lock:
            partial, self._partial = self._partial, ""
        if partial:
            self._emit(partial)

    def _emit(self, line: str) -> None:
        log.error("{source}{line}", source=self.source and self.source + ": ", line=line)
