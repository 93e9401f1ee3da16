# -*- test-case-name: test_cgi_script -*-
"""
Resources that run CGI scripts (RFC 3875): L{CGIScript} runs one script,
L{FilteredScript} runs a file through an interpreter (php-cgi and the
like), and L{CGIDirectory} serves the executables of a directory.

A script gets the meta-variables of L{web2.cgi.environ} and nothing of the
server's environment, runs in its own directory, reads the request body on
its stdin and answers on its stdout (see L{web2.cgi._process}).  A script
whose name starts with C{nph-} writes a whole HTTP head itself.

Deliberately not done: the ISINDEX command line (a query without C{=}
passed as arguments), which is how php-cgi was exploited (CVE-2012-1823);
and C{REMOTE_HOST}, which would need a blocking DNS lookup.
"""

from __future__ import annotations

import os
import shutil

from twisted.logger import Logger
from zope.interface import implementer

from web2 import http, responsecode
from web2.cgi._process import ScriptRun
from web2.cgi._redirect import localRedirect
from web2.cgi.environ import DEFAULT_PATH, CGIEnvironmentError, createCGIEnvironment
from web2.iweb import IResource
from web2.resource import StopTraversal
from web2.stream import MemoryStream, StreamTooLong, readAll

__all__ = ["CGIScript", "FilteredScript", "CGIDirectory"]

log = Logger(namespace="web2.cgi")


@implementer(IResource)
class CGIScript:
    """
    Runs the executable C{filename} for every request that reaches it, with
    any method; the path below it becomes C{PATH_INFO}.

    @ivar filename: the script's absolute path.
    """

    def __init__(
        self,
        filename: str,
        *,
        timeout: float | None = 60.0,
        path: str = DEFAULT_PATH,
        env=None,
        passAuthorization: bool = False,
        documentRoot: str | None = None,
        maxHeadBytes: int = 32768,
        maxBufferedBody: int = 1024 * 1024,
        reactor=None,
    ):
        """
        @param filename: the script.
        @param timeout: seconds the script may take to write its head, and
            may then stay silent between two pieces of output while the
            client is reading; C{None} for no limit.  A script over the
            limit is killed (502 if nothing was sent yet).
        @param path: the C{PATH} the script gets.
        @param env: extra variables for the script (a mapping), such as
            C{LANG} or C{PYTHONPATH}: the server's own environment is never
            passed on.
        @param passAuthorization: give the script the client's
            C{Authorization} header as C{HTTP_AUTHORIZATION} (off: most
            scripts must never see a password).
        @param documentRoot: the directory C{PATH_INFO} is mapped onto for
            C{PATH_TRANSLATED}; by default the script's directory.
        @param maxHeadBytes: the longest head a script may write.
        @param maxBufferedBody: a request body of unknown length (chunked)
            is read into memory up to this many bytes, because a script
            must be told C{CONTENT_LENGTH}; longer ones get 413.
        @param reactor: the reactor that spawns the processes.
        """
        self.filename = os.path.abspath(filename)
        self.timeout = timeout
        self.path = path
        self.env = dict(env or {})
        self.passAuthorization = passAuthorization
        self.documentRoot = documentRoot
        self.maxHeadBytes = maxHeadBytes
        self.maxBufferedBody = maxBufferedBody
        self.reactor = reactor
        self._runs: set = set()

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self.filename!r}>"

    # IResource

    def locateChild(self, request, segments):
        return self, StopTraversal

    def renderHTTP(self, request):
        command = self.command()
        if command is None:
            return http.StatusResponse(
                responsecode.INTERNAL_SERVER_ERROR,
                "The CGI script cannot be run; the error was logged.")
        stream = request.stream
        if stream is not None and stream.length is None:
            d = readAll(stream, self.maxBufferedBody)
            d.addCallbacks(self._bodyRead, self._bodyTooLong,
                           callbackArgs=(request, command), errbackArgs=(request,))
            return d
        return self._run(request, command)

    def _bodyRead(self, data, request, command):
        request.stream = MemoryStream(data)
        return self._run(request, command)

    def _bodyTooLong(self, failure, request):
        failure.trap(StreamTooLong)
        return http.StatusResponse(
            responsecode.REQUEST_ENTITY_TOO_LARGE,
            f"A body of unknown length is accepted up to {self.maxBufferedBody} bytes.")

    # Running

    def command(self):
        """
        The program and argument vector that run this script, or C{None}
        (logged) when it cannot be run.
        """
        if not os.path.isfile(self.filename):
            log.error("CGI script {script} does not exist", script=self.filename)
            return None
        if not os.access(self.filename, os.X_OK):
            log.error("CGI script {script} is not executable", script=self.filename)
            return None
        return self.filename, [self.filename]

    def extraEnvironment(self) -> dict:
        """
        The variables added to every run's environment.
        """
        return self.env

    def _run(self, request, command):
        try:
            env = createCGIEnvironment(
                request,
                scriptFilename=self.filename,
                documentRoot=self.documentRoot or os.path.dirname(self.filename),
                path=self.path,
                extra=self.extraEnvironment(),
                passAuthorization=self.passAuthorization,
            )
        except CGIEnvironmentError as e:
            return http.StatusResponse(responsecode.BAD_REQUEST, str(e))
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        executable, argv = command
        run = ScriptRun(
            self.filename, executable, [os.fsencode(a) for a in argv],
            {os.fsencode(k): os.fsencode(v) for k, v in env.items()},
            os.path.dirname(self.filename), request,
            timeout=self.timeout, maxHeadBytes=self.maxHeadBytes,
            nph=os.path.basename(self.filename).startswith("nph-"),
            onLocalRedirect=lambda location: localRedirect(request, location),
            reactor=reactor,
        )
        self._runs.add(run)
        run.ended.addBoth(lambda _: self._runs.discard(run))
        return run.start()

    def whenIdle(self):
        """
        @return: a Deferred firing when none of this resource's scripts is
            running any more (for a graceful stop, and for tests).
        """
        from twisted.internet import defer

        return defer.DeferredList([run.ended for run in list(self._runs)])


class FilteredScript(CGIScript):
    """
    Runs C{filename} through the first of C{filters} (interpreters) that
    is installed: C{FilteredScript("page.php", ["php-cgi"])}.  The file
    need not be executable.  For php-cgi's C{cgi.force_redirect} check, the
    environment has C{REDIRECT_STATUS=200}.
    """

    def __init__(self, filename: str, filters=(), **kwargs):
        """
        @param filters: interpreter commands (names looked up in the
            script's C{PATH}, or absolute paths), tried in order.
        @param kwargs: as for L{CGIScript}.
        """
        CGIScript.__init__(self, filename, **kwargs)
        if isinstance(filters, str):
            filters = [filters]
        self.filters = list(filters)
        if not self.filters:
            raise ValueError("FilteredScript needs at least one interpreter")

    def extraEnvironment(self) -> dict:
        return {"REDIRECT_STATUS": "200", **self.env}

    def command(self):
        if not os.path.isfile(self.filename):
            log.error("Script {script} does not exist", script=self.filename)
            return None
        for candidate in self.filters:
            found = shutil.which(candidate, path=self.path)
            if found is not None:
                return found, [found, self.filename]
        log.error("None of the interpreters {filters} for {script} is installed",
                  filters=", ".join(self.filters), script=self.filename)
        return None


@implementer(IResource)
class CGIDirectory:
    """
    Serves the executables of a directory as CGI scripts: C{/name/more}
    runs C{name} with C{PATH_INFO} C{/more}.  Subdirectories are served
    the same way.  Hidden names (a leading dot) and files that are not
    executable are refused (404 and 403); so is a name that leads out of
    the directory through a symbolic link.  The directory itself is never
    listed (403).
    """

    def __init__(self, path: str, **scriptOptions):
        """
        @param path: the directory.
        @param scriptOptions: keyword arguments for every L{CGIScript}
            (C{timeout}, C{env}, C{passAuthorization}, ...).
        """
        self.path = os.path.abspath(path)
        self.scriptOptions = scriptOptions
        self._root = scriptOptions.pop("_root", None) or os.path.realpath(self.path)

    def __repr__(self) -> str:
        return f"<CGIDirectory {self.path!r}>"

    def locateChild(self, request, segments):
        name = segments[0]
        if name == "" and len(segments) == 1:
            return self, ()
        if not name or name.startswith(".") or "/" in name or "\0" in name:
            return None, ()
        full = os.path.join(self.path, name)
        real = os.path.realpath(full)
        if not real.startswith(self._root.rstrip("/") + "/"):
            return None, ()
        if os.path.isdir(real):
            return CGIDirectory(full, _root=self._root, **self.scriptOptions), segments[1:]
        if not os.path.isfile(real):
            return None, ()
        if not os.access(real, os.X_OK):
            raise http.HTTPError(responsecode.FORBIDDEN, "This file is not a CGI script.")
        return CGIScript(full, **self.scriptOptions), segments[1:]

    def renderHTTP(self, request):
        return http.StatusResponse(
            responsecode.FORBIDDEN, "CGI directories are not listed.")
