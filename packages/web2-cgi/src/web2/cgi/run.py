# -*- test-case-name: test_cgi_run -*-
"""
web2 as a plain CGI script: one process per request, the request in the
environment and on stdin, the response on stdout.

The smallest deployment::

    #!/usr/bin/env python3
    from web2.cgi import runCGI
    from myproject.web import site
    runCGI(site)

or, without writing a script, C{python -m web2.cgi.run --site
myproject.web:site} (a L{web2.server.Site}, a resource, or a callable
returning either), or C{python -m web2.cgi.run --config site.toml} to build
the site from web2's own options and plugins.

The body is C{CONTENT_LENGTH} bytes of stdin.  Without C{CONTENT_LENGTH},
RFC 3875 says there is no body, and none is read, with one exception:
when the request came with a C{Transfer-Encoding} (C{HTTP_TRANSFER_ENCODING},
e.g. C{chunked}), the body is the whole of stdin up to its end.  Apache's
mod_cgi (and others) answer a chunked request that way: they de-chunk the
body, pass no C{CONTENT_LENGTH} but the request's C{Transfer-Encoding}
header, and close stdin at the body's end (see L{_bodyLength}).

A response that the site answers synchronously needs no reactor at all;
otherwise the reactor runs until the response is complete, then stops.  The
body is read from stdin only as fast as the application reads it, and
stdout is written with blocking writes, which is backpressure enough for a
process that serves one request.
"""

from __future__ import annotations

import argparse
import os
import sys

from twisted.logger import Logger
from twisted.python.reflect import namedAny

from web2.cgi._gateway import GatewayChannelRequest

__all__ = ["runCGI", "loadSite", "main"]

log = Logger(namespace="web2.cgi.run")


class _FileCarrier:
    """
    The carrier (see L{web2.cgi._gateway}) of the one request of a CGI
    process.
    """

    done = False
    aborted = False
    paused = False
    discarding = False
    eof = False
    chan = None
    _pullProducer = None

    def __init__(self, stdin, stdout, reactor):
        self.stdin = stdin
        self.stdout = stdout
        self.reactor = reactor
        self.running = False

    def writeOutput(self, data):
        if not self.done:
            self.stdout.write(data)

    def finishOutput(self):
        self._end()

    def abortOutput(self):
        self.aborted = True
        log.error("The response failed midway; it is incomplete")
        self._end()

    def _end(self):
        if self.done:
            return
        self.done = True
        try:
            self.stdout.flush()
        except OSError:
            pass
        if self.running:
            self.reactor.callLater(0, self.reactor.stop)

    def registerOutputProducer(self, producer, streaming):
        # Writes block, so a push producer needs no pausing; a pull
        # producer is asked for more once per reactor turn.
        if not streaming:
            self._pullProducer = producer
            self.reactor.callLater(0, self._pull)

    def unregisterOutputProducer(self):
        self._pullProducer = None

    def _pull(self):
        producer = self._pullProducer
        if producer is not None and not self.done:
            producer.resumeProducing()
            self.reactor.callLater(0, self._pull)

    def pauseInput(self):
        self.paused = True

    def resumeInput(self):
        if self.paused:
            self.paused = False
            if self.running:
                self.reactor.callLater(0, self.pump)

    def discardInput(self):
        self.discarding = True
        self.paused = False

    def pump(self):
        """
        Read the body from stdin while the application takes it: up to its
        length, or up to the end of stdin when the length is not known
        (C{remaining} is C{None}, see L{_bodyLength}).
        """
        chan = self.chan
        while (not self.eof and (chan.remaining is None or chan.remaining)
               and not self.paused and not self.discarding and not self.done):
            size = 65536 if chan.remaining is None else min(65536, chan.remaining)
            data = self.stdin.read(size)
            if not data:
                self.eof = True
                chan.bodyComplete()
                return
            chan.bodyReceived(data)


def _variables(environ) -> dict[str, str]:
    if environ is None:
        environ = os.environb
    out = {}
    for name, value in environ.items():
        if isinstance(name, str):
            name, value = os.fsencode(name), os.fsencode(value)
        out[name.decode("latin-1")] = value.decode("latin-1")
    return out


def _bodyLength(variables) -> int | None:
    """
    How much of stdin is the request body when C{CONTENT_LENGTH} is absent
    or empty, as the C{defaultLength} of
    L{web2.cgi._gateway.requestFromVariables}.

    RFC 3875 (4.1.2) says a request without C{CONTENT_LENGTH} has no body,
    and most servers send a length with every body.  But Apache's mod_cgi,
    given a chunked request (and mod_http2 makes every HTTP/2 request body
    without a length one), de-chunks the body, passes no C{CONTENT_LENGTH},
    and closes the script's stdin at the body's end; it does pass the
    request's C{Transfer-Encoding} header as C{HTTP_TRANSFER_ENCODING}.  A
    request with a transfer coding always has a body (RFC 9112, 6.1), so
    that variable is what tells the two apart: with it, the body is read
    up to the end of stdin (C{None}); without it there is no body (C{0}).

    Reading to the end of stdin whenever it is not a terminal was not
    chosen: a server that leaves a script's stdin open (an inherited pipe
    or socket, as some do for bodiless requests) would make every request
    without a body wait forever, and a body the server did not announce
    should not be guessed at.

    @param variables: the meta-variables (C{str} to C{str}).
    @return: C{0} or C{None} (up to the end of stdin).
    """
    if variables.get("HTTP_TRANSFER_ENCODING", "").strip():
        return None
    return 0


def runCGI(site, environ=None, stdin=None, stdout=None, *, scriptName=None,
           reactor=None, beginLogging: bool = True) -> int:
    """
    Answer the request described by C{environ} and C{stdin} with C{site},
    writing the CGI response to C{stdout}.

    @param site: a L{web2.server.Site} (or any request factory).
    @param environ: the meta-variables (default C{os.environb}).
    @param stdin: a binary file with the body (default C{sys.stdin.buffer}):
        C{CONTENT_LENGTH} bytes of it or, without C{CONTENT_LENGTH} but with
        C{HTTP_TRANSFER_ENCODING}, all of it (see L{_bodyLength}).
    @param stdout: a binary file for the response (default
        C{sys.stdout.buffer}).
    @param scriptName: see L{web2.cgi._gateway}; C{None} follows RFC 3875
        (SCRIPT_NAME is the prefix, PATH_INFO the path).
    @param reactor: the reactor to run if the response is not ready at
        once.
    @param beginLogging: send warnings and errors to stderr (where the
        front end logs them).
    @return: 0 when a response was written, 1 when it was cut short.
    """
    if stdin is None:
        stdin = sys.stdin.buffer
    if stdout is None:
        stdout = sys.stdout.buffer
    if reactor is None:
        from twisted.internet import reactor
    if beginLogging:
        _logToStderr()
    carrier = _FileCarrier(stdin, stdout, reactor)
    variables = _variables(environ)
    chan = GatewayChannelRequest.fromVariables(
        carrier, variables, scriptName, defaultLength=_bodyLength(variables))
    if chan is None:
        return 0
    carrier.chan = chan
    chan.start(site)
    carrier.pump()
    if not carrier.done:
        carrier.running = True
        reactor.callWhenRunning(carrier.pump)
        reactor.run()
    if not carrier.done:
        log.error("The reactor stopped before the response was complete")
        return 1
    return 1 if carrier.aborted else 0


def _logToStderr():
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr), [predicate])],
        redirectStandardIO=False)


def loadSite(name: str):
    """
    The site named C{package.module:attribute} (or with a dot before the
    attribute): a L{web2.server.Site}, a resource (served by a new Site), or
    a callable returning either.

    @raise ValueError: the name does not lead to one.
    """
    from web2.iweb import IResource, ISite
    from web2.server import Site

    dotted = name.replace(":", ".")
    try:
        obj = namedAny(dotted)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"cannot find {name!r}: {e}") from None
    if not ISite.providedBy(obj) and IResource(obj, None) is None and callable(obj):
        obj = obj()
    if ISite.providedBy(obj):
        return obj
    resource = IResource(obj, None)
    if resource is None:
        raise ValueError(f"{name!r} is neither a site nor a resource")
    return Site(resource)


def main(argv=None) -> int:
    """
    C{python -m web2.cgi.run}: run as a CGI script.  C{--site NAME} names
    the site; otherwise the remaining arguments are web2's own
    (C{--config}, C{--mount}, ...) and build the site as C{python -m web2}
    would.
    """
    parser = argparse.ArgumentParser(
        prog="python -m web2.cgi.run",
        description="Answer one CGI request with a web2 site.")
    parser.add_argument("--site", help="package.module:attribute of a Site or resource")
    parser.add_argument("--script-name", default=None,
                        help="the prefix the site is served under, instead of "
                             "SCRIPT_NAME/PATH_INFO")
    args, rest = parser.parse_known_args(argv)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if args.site:
            if rest:
                parser.error(f"unexpected arguments {' '.join(rest)}")
            site = loadSite(args.site)
        else:
            site = _siteFromOptions(rest)
    except ValueError as e:
        sys.stderr.write(f"web2.cgi.run: error: {e}\n")
        return 1
    return runCGI(site, scriptName=args.script_name)


def _siteFromOptions(argv):
    from twisted.internet import reactor
    from twisted.python import usage

    from web2 import tap
    from web2.config import ConfigError
    from web2.plugins import PluginError

    options = tap.makeOptionsClass()()
    try:
        options.parseOptions(list(argv))
        return tap.buildService(options, reactor).site
    except (usage.UsageError, ConfigError, PluginError) as e:
        raise ValueError(str(e)) from None


if __name__ == "__main__":
    sys.exit(main())
