# -*- test-case-name: test_cgi_script -*-
"""
One run of a CGI script: the child process, its standard input fed from
the request body, its output parsed into a response whose body streams
from the script to the client, and its standard error sent to the log.

Backpressure both ways: the request body is written to the script's stdin
by a L{web2.stream.StreamProducer}, which the pipe pauses when the script
does not read; the script's stdout goes into a bounded stream whose reader
is the client connection, and the process's pipes stop being read while
that stream is full.

Failures are answered with 502 and one log line as long as nothing was
sent; afterwards the connection is aborted, so that the client cannot take
a truncated body for a whole one.

Each script starts a session of its own (C{setsid}: a new process group
whose id is the script's process id), and stopping it signals that whole
group: a script that is a shell running other programs (C{sleep}, a
pipeline, a background job) is stopped with everything it started, not
only its first process.  A script is stopped when it times out, when its
client goes away (before or after its head), and when the reactor shuts
down; TERM first, then KILL after the grace to whatever of the group is
left.
"""

from __future__ import annotations

import os
import signal

from twisted.internet import defer, error
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import http, responsecode
from web2.cgi._scriptoutput import ScriptOutputError, ScriptOutputParser
from web2.http_headers import Headers
from web2.stream import ProducerStream, StreamProducer

log = Logger(namespace="web2.cgi")


def _describe(reason) -> str:
    value = reason.value
    if getattr(value, "signal", None):
        return f"killed by signal {value.signal}"
    return f"exit status {getattr(value, 'exitCode', 0) or 0}"


#: The scripts running now.  A script outlives its request unless stopped:
#: those still running when the reactor shuts down (after the server's
#: drain, which lets answered requests finish) are stopped then, so that
#: none is left behind as an orphan of the server.
_running: set = set()
#: The reactors told to stop them at shutdown.
_hookedReactors: list = []


def _stopRunning() -> defer.Deferred | None:
    """
    Stop every script still running (TERM, then KILL after its grace):
    the reactor's shutdown waits until they have all ended.
    """
    runs = [run for run in _running if run.transport is not None]
    if not runs:
        return None
    log.info("Stopping {count} CGI script(s) still running at shutdown", count=len(runs))
    for run in runs:
        run.kill()
    return defer.DeferredList([run.ended for run in runs])


def _spawnInSession(reactor, protocol, executable, argv, env, path) -> int | None:
    """
    Spawn the script in a session of its own when C{reactor} is a POSIX
    reactor (C{setsid} in the child, before its C{exec}); otherwise as the
    reactor spawns (no group).

    @return: the id of the script's process group, or C{None}.
    """
    try:
        from twisted.internet import posixbase
    except ImportError:  # not POSIX
        posixbase = None
    if posixbase is None or not isinstance(reactor, posixbase.PosixReactorBase):
        reactor.spawnProcess(protocol, executable, argv, env=env, path=path)
        return None
    child = _SessionProcess(reactor, executable, argv, env, path, protocol, None, None, None)
    return child.pid


try:
    from twisted.internet.process import Process as _Process
except ImportError:  # not POSIX
    _Process = object


class _SessionProcess(_Process):
    """
    A Twisted process whose child calls C{setsid()} before its C{exec}.

    Twisted offers no hook for that: this overrides its fork path's
    C{_execChild}, and turns off its C{posix_spawn} path, which cannot
    start a session (and is not taken for a script anyway, which runs in
    its own directory).
    """

    def _trySpawnInsteadOfFork(self, *args, **kwargs):
        return False

    def _execChild(self, path, uid, gid, executable, args, environment):
        os.setsid()
        super()._execChild(path, uid, gid, executable, args, environment)


def _stopAtShutdown(reactor):
    if any(r is reactor for r in _hookedReactors):
        return
    addTrigger = getattr(reactor, "addSystemEventTrigger", None)
    if addTrigger is not None:
        _hookedReactors.append(reactor)
        addTrigger("during", "shutdown", _stopRunning)


class ScriptFailed(Exception):
    """
    The script's response was cut short after it started.
    """


class _ScriptBody(ProducerStream):
    """
    The response body: the script's stdout after its head, held to the
    Content-Length the script declared, if any.
    """

    def __init__(self, run, length):
        ProducerStream.__init__(self, length)
        self.run = run
        self.expected = length
        self.received = 0

    def feed(self, data: bytes) -> None:
        if self.expected is not None:
            room = self.expected - self.received
            if len(data) > room:
                if not self.run.overflowLogged:
                    self.run.overflowLogged = True
                    log.warn("CGI script {script} wrote more than its Content-Length "
                             "{length}; the excess is dropped",
                             script=self.run.name, length=self.expected)
                data = data[:room]
        self.received += len(data)
        self.write(data)


@implementer(IPushProducer)
class _OutputValve:
    """
    The producer the body stream pauses: it stops reading the script's
    pipes (and so, once they fill, the script) while the client lags, and
    kills the script when the client goes away.
    """

    def __init__(self, run):
        self.run = run

    def pauseProducing(self):
        self.run.pause()

    def resumeProducing(self):
        self.run.resume()

    def stopProducing(self):
        self.run.abandon("the client went away")


class ScriptRun(ProcessProtocol):
    """
    Spawns a script and turns its output into a response.

    @ivar done: a Deferred firing with the L{web2.http.Response} (or, for a
        local redirect, the result of C{onLocalRedirect}).
    @ivar ended: a Deferred firing C{None} once the process has ended.
    """

    head = None
    body = None
    transport = None
    group = None
    killed = False
    clientGone = False
    overflowLogged = False
    stdinClosed = False
    _timer = None
    _killTimer = None
    # When to stop waiting for a killed script's group to be gone.
    _giveUpAt = 0.0
    _paused = False

    def __init__(self, name, executable, argv, env, cwd, request, *, timeout,
                 maxHeadBytes, nph, onLocalRedirect, reactor,
                 maxStderrBytes=65536, killGrace=5.0):
        self.name = name
        self.executable = executable
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.request = request
        self.timeout = timeout
        self.parser = ScriptOutputParser(maxHeadBytes, nph)
        self.onLocalRedirect = onLocalRedirect
        self.reactor = reactor
        self.maxStderrBytes = maxStderrBytes
        self.killGrace = killGrace
        self.stderrLogged = 0
        self._stderrLine = b""
        self.done = defer.Deferred()
        self.ended = defer.Deferred()

    # Starting

    def start(self) -> defer.Deferred:
        try:
            self.group = _spawnInSession(self.reactor, self, self.executable, self.argv,
                                         self.env, self.cwd)
        except OSError as e:
            self._fail(f"cannot be started: {e}")
            self.ended.callback(None)
            return self.done
        _running.add(self)
        _stopAtShutdown(self.reactor)
        self._watchClient()
        return self.done

    def _watchClient(self):
        """
        Stop the script when the client goes away before its head: the
        channel tells the request when its connection is lost before the
        response is complete (after the head, the body stream's consumer
        stops instead, see L{_OutputValve}).
        """
        request = self.request
        lost = getattr(request, "connectionLost", None)
        if lost is None:
            return

        def connectionLost(reason, _lost=lost):
            try:
                _lost(reason)
            finally:
                if self.head is None and self.transport is not None and not self.killed:
                    self.clientGone = True
                    self.abandon("the client went away before the script's head")

        request.connectionLost = connectionLost

    def connectionMade(self):
        self._armTimer()
        body = self.request.stream
        if body is None or body.length == 0:
            self.transport.closeStdin()
            return
        d = StreamProducer(body).beginProducing(self.transport)
        d.addCallbacks(self._inputDone, self._inputFailed)

    def _inputDone(self, _):
        if self.transport is not None:
            self.transport.closeStdin()

    def _inputFailed(self, failure):
        if self.stdinClosed or self.transport is None:
            # The script closed its stdin (or ended) before reading it all:
            # its business; the rest of the body is drained by the channel.
            return
        log.info("The request body for CGI script {script} failed ({why}); "
                 "stopping the script", script=self.name, why=failure.getErrorMessage())
        self.kill()

    # Output

    def outReceived(self, data):
        if self.head is None:
            if self.done.called:
                return
            try:
                head = self.parser.feed(data)
            except ScriptOutputError as e:
                self._fail(f"wrote an invalid response: {e}")
                self.kill()
                return
            if head is None:
                return
            self._headReceived(head)
        elif self.body is not None:
            self._armTimer()
            self.body.feed(data)

    def _headReceived(self, head):
        self.head = head
        if head.localRedirect is not None:
            # The script's job is done; what else it writes is dropped, and
            # the timer still bounds how long it may go on running.
            d = defer.maybeDeferred(self.onLocalRedirect, head.localRedirect)
            d.chainDeferred(self.done)
            return
        headers = Headers()
        try:
            for name, value in head.headers:
                headers.addRawHeader(name, value)
        except ValueError as e:
            self._fail(f"wrote an invalid header: {e}")
            self.kill()
            return
        body = self.body = _ScriptBody(self, head.contentLength)
        body.registerProducer(_OutputValve(self), True)
        if head.body:
            body.feed(head.body)
        self._armTimer()
        response = http.Response(head.code, headers, body)
        self.done.callback(response)

    def errReceived(self, data):
        if self.stderrLogged >= self.maxStderrBytes:
            return
        data = self._stderrLine + data
        lines = data.split(b"\n")
        self._stderrLine = lines.pop()[:4096]
        for line in lines:
            self._logStderr(line)

    def _logStderr(self, line: bytes):
        if self.stderrLogged >= self.maxStderrBytes:
            return
        self.stderrLogged += len(line) + 1
        log.warn("CGI script {script} stderr: {line}", script=self.name,
                 line=line.rstrip(b"\r")[:4096].decode("utf-8", "replace"))
        if self.stderrLogged >= self.maxStderrBytes:
            log.warn("CGI script {script}: further stderr output is not logged",
                     script=self.name)

    def childConnectionLost(self, childFD):
        if childFD == 0:
            self.stdinClosed = True
        elif childFD == 1:
            self._outputEnded()
        elif childFD == 2 and self._stderrLine:
            line, self._stderrLine = self._stderrLine, b""
            self._logStderr(line)

    def _outputEnded(self):
        if self.head is None:
            # Answered in processEnded, where the exit status is known.
            return
        body = self.body
        if body is None or body.finished:
            return
        self._cancelTimer()
        if self.killed:
            body.finish(Failure(ScriptFailed(f"CGI script {self.name} was stopped")))
        elif body.expected is not None and body.received < body.expected:
            log.warn("CGI script {script} wrote {got} of its {length} bytes",
                     script=self.name, got=body.received, length=body.expected)
            body.finish(Failure(ScriptFailed("short body")))
        else:
            body.unregisterProducer()
            body.finish()

    def processEnded(self, reason):
        _running.discard(self)
        self._cancelTimer()
        self.transport = None
        self._outputEnded()
        if self.head is None and not self.done.called and self.clientGone:
            # Stopped for a client that is gone: nobody reads this answer,
            # and the script did not fail.
            self.done.callback(http.StatusResponse(
                responsecode.SERVICE_UNAVAILABLE, "The client went away."))
        elif self.head is None and not self.done.called:
            try:
                self.parser.eof()
            except ScriptOutputError as e:
                self._fail(f"ended ({_describe(reason)}) without a valid response: {e}")
        elif reason.check(error.ProcessTerminated) and not self.killed:
            value = reason.value
            log.warn("CGI script {script} exited with status {status}, signal {signal}",
                     script=self.name, status=value.exitCode, signal=value.signal)
        self._afterGroup()

    def _afterGroup(self):
        """
        Fire L{ended} once the script's group is gone too: a stopped
        script's children may outlive it (ignoring TERM); they still get
        KILL when the grace is over, and L{ended} (what the reactor's
        shutdown waits for) waits until they are gone, not only signalled
        (a process being killed lives on until it is next scheduled).
        """
        timer = self._killTimer
        if timer is not None:
            if self._groupAlive() and self.reactor.seconds() < self._giveUpAt:
                self._groupPoll = self.reactor.callLater(0.1, self._afterGroup)
                return
            if timer.active():
                timer.cancel()
        self.ended.callback(None)

    # Failure and flow control

    def _fail(self, why: str):
        log.error("CGI script {script} {why}; answering 502", script=self.name, why=why)
        if not self.done.called:
            self.done.callback(http.StatusResponse(
                responsecode.BAD_GATEWAY,
                "The CGI script failed; the error was logged."))

    def pause(self):
        self._paused = True
        self._cancelTimer()
        if self.transport is not None:
            self.transport.pauseProducing()

    def resume(self):
        self._paused = False
        if self.transport is not None:
            self.transport.resumeProducing()
            self._armTimer()

    def abandon(self, why):
        if self.transport is not None:
            log.info("Stopping CGI script {script}: {why}", script=self.name, why=why)
            self.kill()

    def kill(self):
        """
        Stop the script and its process group: TERM, then KILL after
        C{killGrace} seconds.
        """
        transport = self.transport
        if transport is None or self.killed:
            return
        self.killed = True
        self._cancelTimer()
        self._signal("TERM")
        transport.loseConnection()
        self._killTimer = self.reactor.callLater(self.killGrace, self._signal, "KILL")
        self._giveUpAt = self.reactor.seconds() + self.killGrace + 5.0

    def _groupAlive(self) -> bool:
        """
        Whether a process of the script's group still runs: zombies do not
        count (an orphan's parent may never reap it).
        """
        if self.group is None:
            return False
        try:
            os.killpg(self.group, 0)
        except OSError:
            return False
        try:
            names = os.listdir("/proc")
        except OSError:
            return True
        for name in names:
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # After the command: state, ppid, pgrp.
            if len(fields) > 2 and fields[2] == b"%d" % self.group and fields[0] != b"Z":
                return True
        return False

    def _signal(self, name):
        if self.group is not None:
            try:
                os.killpg(self.group, getattr(signal, "SIG" + name))
                return
            except ProcessLookupError:
                # No such group: the script has not called setsid yet (just
                # forked), or it and all it started are gone.
                pass
            except OSError:
                pass
        if self.transport is None:
            return
        try:
            self.transport.signalProcess(name)
        except (error.ProcessExitedAlready, OSError):
            pass

    def _armTimer(self):
        if self.timeout is None or self._paused or self.killed:
            return
        if self._timer is not None and self._timer.active():
            self._timer.reset(self.timeout)
        else:
            self._timer = self.reactor.callLater(self.timeout, self._timedOut)

    def _cancelTimer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _timedOut(self):
        self._timer = None
        if self.head is None:
            self._fail(f"did not answer within {self.timeout} seconds")
        else:
            log.error("CGI script {script} was silent for {timeout} seconds; "
                      "stopping it", script=self.name, timeout=self.timeout)
        self.kill()
