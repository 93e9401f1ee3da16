# -*- test-case-name: test_workers -*-
"""
Worker processes: C{--workers N} (or C{workers = N} in the site file).

A I{master} process opens every listener (C{tcp}, C{tcp6}, C{ssl},
C{unix}, C{systemd}) and never accepts on them; it starts N I{workers},
each a fresh C{python -m web2} with the same command line, which inherit
the listening sockets and accept on them side by side (one shared socket
per listener: the kernel queues a connection once, and any worker that is
free takes it).  Each worker builds the whole site itself, so every worker
imports the application code anew.

The master:

  - restarts a worker that dies (at once the first time, then after 0.5,
    1, 2 ... up to 30 seconds while the worker of that slot keeps dying
    within 10 seconds of its start); a worker that fails before it is
    ready, when no worker was ever ready, or 5 times in a row, stops the
    master with an error and status 1;
  - on C{SIGHUP} checks the site file, starts a new generation of workers
    (reading the site file and importing the application again), and once
    all of them are ready stops the old ones gracefully (each drains, as on
    SIGTERM); if the new configuration is wrong or a new worker fails before
    it is ready, the old workers go on serving and the master logs why;
  - on C{SIGUSR1} passes the signal on to the workers (each reopens its log
    files) and reopens its own;
  - on C{SIGTERM} (or C{SIGINT}) stops every worker gracefully, waits for
    them (the drain, C{--shutdown-timeout}), kills what is left 5 seconds
    later, and closes the listeners.

With a C{metrics:} mount, the master also makes a directory where every
worker keeps its metrics (see L{web2.metrics}), forgets the gauges of a
worker that ended, and removes the directory when it stops.

A worker talks to its master through two pipes: it writes C{ready} on the
first when it serves, and stops gracefully when the second reaches its end
(the master is gone).  Nothing below the launcher knows about workers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading

from twisted.application import service
from twisted.internet import defer, protocol
from twisted.logger import Logger

from web2.sdnotify import SystemdNotifier, watchdogInterval

__all__ = ["MasterService", "WORKER_ENVIRONMENT", "adoptedListeners", "isWorker",
           "masterFor", "metricsDirectory", "workerServices"]

log = Logger(namespace=__name__)

#: The variable that tells a C{python -m web2} it is a worker: a JSON object
#: with the descriptors of its pipes (C{status}, C{parent}) and listeners
#: (C{listeners}: C{[descriptor, endpoint description]} pairs).
WORKER_ENVIRONMENT = "WEB2_WORKER"

#: Variables of the master's environment a worker must not see: systemd's
#: sockets and notifications are the master's.
_MASTER_ONLY = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                "WATCHDOG_USEC", "WATCHDOG_PID")

_STATUS_FD = 3
_PARENT_FD = 4
_FIRST_LISTENER_FD = 5


def isWorker(environ=None) -> bool:
    """
    Whether this process is a worker of a master.
    """
    return WORKER_ENVIRONMENT in (os.environ if environ is None else environ)


def _workerInfo() -> dict | None:
    text = os.environ.get(WORKER_ENVIRONMENT)
    if not text:
        return None
    return json.loads(text)


def metricsDirectory() -> str | None:
    """
    In a worker whose master keeps metrics, the directory they are kept in;
    elsewhere C{None}.
    """
    info = _workerInfo()
    return None if info is None else info.get("metrics")


# --- the worker's side ------------------------------------------------------


class _AdoptedEndpoint:
    """
    A server endpoint listening on a socket inherited from the master
    (wrapped in TLS for an C{ssl:} listener, whose certificate and key the
    worker loads itself).
    """

    def __init__(self, reactor, fd: int, description: str, tls=None):
        self.reactor = reactor
        self.fd = fd
        self.description = description
        self.tls = tls

    def listen(self, factory):
        from twisted.internet import endpoints

        if self.description.split(":", 1)[0].strip().lower() == "ssl":
            from twisted.protocols.tls import TLSMemoryBIOFactory

            from web2.tlsoptions import sslEndpoint

            parsed = (sslEndpoint(self.reactor, self.description, self.tls)
                      or endpoints.serverFromString(self.reactor, self.description))
            factory = TLSMemoryBIOFactory(parsed._sslContextFactory, False, factory)
        # Workers race for each connection: one that loses must get EAGAIN,
        # not block in accept() (a socket systemd made is blocking).
        os.set_blocking(self.fd, False)
        probe = socket.socket(fileno=os.dup(self.fd))
        family = probe.family
        probe.close()
        try:
            port = self.reactor.adoptStreamPort(self.fd, family, factory)
        except Exception:
            return defer.fail()
        os.close(self.fd)
        _oneAcceptPerWakeup(port)
        return defer.succeed(port)


def _oneAcceptPerWakeup(port):
    """
    Make C{port} accept one connection each time it is readable, as nginx's
    workers do (C{multi_accept off}).  Every worker wakes for a new
    connection; Twisted's port accepts up to a hundred in a row, so the
    first worker awake took a whole burst of keep-alive connections, and
    kept their requests for good (two workers served a 1 ms-per-request
    application at the rate of one).
    """
    if not hasattr(port, "numberAccepts"):
        return
    doRead = port.doRead

    def doReadOne():
        port.numberAccepts = 1
        return doRead()

    port.doRead = doReadOne


def adoptedListeners(reactor, factory, listenerClass, tls=None) -> list | None:
    """
    In a worker, the listener services on the master's sockets; elsewhere
    C{None}.

    @param listenerClass: the listener service class (L{web2.tap._Listener});
        the worker's log which socket it serves on in words of their own,
        so that "web2 listening on" lines stay one per listener (the
        master's).
    """
    info = _workerInfo()
    if info is None:
        return None

    class WorkerListener(listenerClass):
        def _listening(self, port):
            self.port = port
            log.info("web2 worker {pid} serving {description}", pid=os.getpid(),
                     description=self.description)
            return port

    return [WorkerListener(description, _AdoptedEndpoint(reactor, fd, description, tls),
                           factory)
            for fd, description in info["listeners"]]


class _WorkerLink(service.Service):
    """
    A worker's side of the pipes: says C{ready} when the site serves (it
    starts after the listeners), and stops the reactor when the master is
    gone (its pipe ends).  A worker ignores SIGINT: Ctrl-C reaches the whole
    process group, and the master stops the workers itself.
    """

    def __init__(self, reactor, statusFd: int, parentFd: int):
        self.reactor = reactor
        self.statusFd = statusFd
        self.parentFd = parentFd

    def startService(self):
        service.Service.startService(self)
        self.reactor.callWhenRunning(self._ready)

    def _ready(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            os.write(self.statusFd, b"ready\n")
        except OSError:
            pass
        threading.Thread(target=self._watchParent, name="web2-master-watch",
                         daemon=True).start()

    def _watchParent(self):
        try:
            while os.read(self.parentFd, 512):
                pass
        except OSError:
            pass
        self.reactor.callFromThread(self._parentGone)

    def _parentGone(self):
        if self.running:
            log.warn("web2 worker {pid}: the master is gone; stopping", pid=os.getpid())
            self.reactor.stop()


def workerServices(reactor) -> list:
    """
    The services a worker adds to its site (the link to its master); none
    outside a worker.
    """
    info = _workerInfo()
    if info is None:
        return []
    return [_WorkerLink(reactor, info["status"], info["parent"])]


# --- the master's side ------------------------------------------------------


class _Worker(protocol.ProcessProtocol):
    """
    One worker process, as the master sees it.

    @ivar slot: its place, 0 to N-1.
    @ivar generation: the reload generation it belongs to.
    @ivar ready: whether it said it serves.
    @ivar retiring: whether the master asked it to stop.
    """

    def __init__(self, master, slot: int, generation: int):
        self.master = master
        self.slot = slot
        self.generation = generation
        self.ready = False
        self.retiring = False
        self.ended = False
        self.pid = None
        self.startedAt = master.reactor.seconds()

    def childDataReceived(self, fd, data):
        if fd == _STATUS_FD and b"ready" in data and not self.ready:
            self.ready = True
            self.master._workerReady(self)

    def processEnded(self, reason):
        self.ended = True
        self.master._workerEnded(self, reason.value)

    def signal(self, number) -> None:
        """
        Send it a signal if it still runs.
        """
        if not self.ended and self.transport is not None:
            try:
                self.transport.signalProcess(number)
            except Exception:  # already gone: processEnded follows
                pass

    def stop(self) -> None:
        """
        Ask it to stop gracefully (SIGTERM), once.
        """
        if not self.retiring:
            self.retiring = True
            self.signal("TERM")


def _describeEnd(reason) -> str:
    status = getattr(reason, "exitCode", None)
    sig = getattr(reason, "signal", None)
    if sig:
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exit status {status}"


class MasterService(service.MultiService):
    """
    The master of C{--workers N}: holds the listeners, starts and watches
    the workers.  See the module docstring.

    @ivar workers: the number of workers.
    @ivar exitStatus: 0, or 1 once the master gave up because workers fail at
        start-up (C{python -m web2} ends with it).
    """

    #: Failures before readiness in a row that stop the master.
    maxStartFailures = 5
    #: A worker that lived less than this (seconds) died "quickly".
    quickDeath = 10.0
    #: Back-off after quick deaths: first, factor, cap (seconds).
    backoffStart, backoffCap = 0.5, 30.0

    def __init__(self, reactor, config, argv, workers: int, listeners,
                 *, readyTimeout: float = 60.0, killGrace: float = 5.0,
                 executable: str | None = None, environ=None, recheck=None,
                 metrics: bool = False):
        """
        @param config: the master's L{web2.config.SiteConfig} (listeners,
            shutdown timeout).
        @param argv: the web2 command line, given again to each worker.
        @param listeners: the listener services (each holds a port that does
            not accept).
        @param readyTimeout: seconds a new generation may take to be ready
            on SIGHUP before the reload is given up.
        @param killGrace: seconds after the drain's end before a worker that
            did not stop is killed.
        @param recheck: reads the site file again into a new
            L{web2.config.SiteConfig} (raising
            L{web2.config.ConfigError}), or C{None} without a site file.
        @param metrics: whether the site has a C{metrics:} mount: the master
            then makes L{metricsDirectory} for its workers.
        """
        super().__init__()
        self.reactor = reactor
        self.config = config
        self.argv = list(argv)
        self.workers = workers
        self.listeners = listeners
        for listener in listeners:
            listener.setServiceParent(self)
        self.readyTimeout = readyTimeout
        self.killGrace = killGrace
        self.executable = executable or sys.executable
        self.recheck = recheck
        self.environ = dict(os.environ if environ is None else environ)
        self.notifier = SystemdNotifier(self.environ)
        self.exitStatus = 0
        self.generation = 0
        self.current: dict[int, _Worker] = {}
        self.pending: dict[int, _Worker] | None = None
        self.everReady = False
        self.stopping = False
        self._all: set[_Worker] = set()
        self._startFailures = 0
        self._quickDeaths: dict[int, int] = {}
        self._restarts: dict[int, object] = {}
        self._reloadTimer = None
        self._stopped: defer.Deferred | None = None
        self._watchdog = None
        self._previousHandlers: dict[int, object] = {}
        self._stopSignalled = False
        self._reloadAgain = False
        self.metrics = metrics
        self.metricsDirectory: str | None = None

    # Starting and stopping

    def privilegedStartService(self):
        # Listeners first (ports below 1024 before privileges are dropped).
        super().privilegedStartService()

    def startService(self):
        super().startService()
        for listener in self.listeners:
            if listener.port is not None:
                listener.port.stopReading()
        if self.metrics and self.metricsDirectory is None:
            self.metricsDirectory = tempfile.mkdtemp(prefix="web2-metrics-")
        log.info("web2 master {pid}: starting {count} worker(s)", pid=os.getpid(),
                 count=self.workers)
        for slot in range(self.workers):
            self.current[slot] = self._spawn(slot, self.generation)
        self._installSignals()
        interval = watchdogInterval(self.environ)
        if interval is not None:
            from twisted.internet import task

            self._watchdog = task.LoopingCall(self.notifier.watchdog)
            self._watchdog.clock = self.reactor
            self._watchdog.start(interval, now=True)

    def _installSignals(self):
        for number, handler in ((signal.SIGHUP, self._onHangup),
                                (signal.SIGUSR1, self._onUser1)):
            self._previousHandlers[number] = signal.signal(number, handler)
        self.reactor.callWhenRunning(self._guardStopSignals)

    def _guardStopSignals(self):
        # Once the reactor runs (it installed its SIGTERM and SIGINT
        # handlers): the first signal stops it; a later one (Ctrl-C at a
        # terminal, or make, signals the whole group) is only noted, where
        # the reactor's handler would log a ReactorNotRunning traceback.
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGTERM, signal.SIGINT):
            first = signal.getsignal(number)
            if not callable(first):
                continue

            def guard(signum, frame, first=first):
                if self.stopping or self._stopSignalled:
                    self.reactor.callFromThread(
                        log.info, "web2 master: already stopping ({name})",
                        name=signal.Signals(signum).name)
                    return
                self._stopSignalled = True
                # Queued for the reactor, not run inside the signal
                # handler: the reactor's handler logs, and a line written
                # from a signal handler can land inside another one.
                self.reactor.callFromThread(first, signum, None)

            signal.signal(number, guard)

    def _onHangup(self, number, frame):
        self.reactor.callFromThread(self.reload)

    def _onUser1(self, number, frame):
        self.reactor.callFromThread(self.reopenLogs)
        previous = self._previousHandlers.get(number)
        if callable(previous):
            previous(number, frame)

    def stopService(self):
        """
        Stop every worker gracefully, then close the listeners.

        @return: a Deferred that fires when all is done.
        """
        if self._stopped is not None:
            return self._stopped
        self.stopping = True
        self.notifier.stopping()
        if self._watchdog is not None and self._watchdog.running:
            self._watchdog.stop()
        for call in self._restarts.values():
            if call.active():
                call.cancel()
        self._restarts.clear()
        if self._reloadTimer is not None and self._reloadTimer.active():
            self._reloadTimer.cancel()
        # SIGHUP and SIGUSR1 keep their handlers during the stop: their
        # default action would end the master before its workers.
        live = [w for w in self._all if not w.ended]
        log.info("web2 master {pid}: stopping {count} worker(s)", pid=os.getpid(),
                 count=len(live))
        self._workersGone = defer.Deferred()
        if not live:
            self._workersGone.callback(None)
        for worker in live:
            worker.retiring = False  # send TERM now even if sent before
            worker.stop()
        killer = self.reactor.callLater(
            self.config.shutdownTimeout + self.killGrace, self._killTheRest)
        d = self._workersGone
        d.addBoth(lambda r: (killer.cancel() if killer.active() else None, r)[1])
        d.addCallback(lambda _: service.MultiService.stopService(self))
        d.addBoth(self._removeMetrics)
        self._stopped = d
        return d

    def _removeMetrics(self, result):
        if self.metricsDirectory is not None:
            shutil.rmtree(self.metricsDirectory, ignore_errors=True)
            self.metricsDirectory = None
        return result

    def _forgetGauges(self, pid) -> None:
        """
        Remove the gauges of the ended worker C{pid} from the metrics
        directory (its counters stay: they are summed for ever).
        """
        if self.metricsDirectory is None or pid is None:
            return
        try:
            from prometheus_client import multiprocess
        except ImportError:  # the workers said so at their start
            return
        try:
            multiprocess.mark_process_dead(pid, self.metricsDirectory)
        except Exception:
            log.failure("web2 master: cannot forget the gauges of worker {pid}", pid=pid)

    def _killTheRest(self):
        for worker in self._all:
            if not worker.ended:
                log.warn("web2 master: worker {pid} did not stop; killing it",
                         pid=worker.pid)
                worker.signal("KILL")

    # Workers

    def _spawn(self, slot: int, generation: int) -> _Worker:
        worker = _Worker(self, slot, generation)
        childFDs = {0: "w", 1: 1, 2: 2, _STATUS_FD: "r", _PARENT_FD: "w"}
        listeners = []
        for index, listener in enumerate(self.listeners):
            fd = _FIRST_LISTENER_FD + index
            childFDs[fd] = listener.port.fileno()
            listeners.append([fd, listener.description])
        env = {k: v for k, v in self.environ.items() if k not in _MASTER_ONLY}
        info = {"status": _STATUS_FD, "parent": _PARENT_FD, "listeners": listeners,
                "slot": slot, "generation": generation}
        if self.metricsDirectory is not None:
            from web2.metrics import MULTIPROCESS_ENVIRONMENT

            info["metrics"] = self.metricsDirectory
            env[MULTIPROCESS_ENVIRONMENT] = self.metricsDirectory
        env[WORKER_ENVIRONMENT] = json.dumps(info)
        env.setdefault("PYTHONUNBUFFERED", "1")
        transport = self.reactor.spawnProcess(
            worker, self.executable, [self.executable, "-m", "web2", *self.argv],
            env=env, childFDs=childFDs)
        worker.pid = transport.pid
        self._all.add(worker)
        log.info("web2 master: started worker {pid} (slot {slot}, generation "
                 "{generation})", pid=worker.pid, slot=slot, generation=generation)
        return worker

    def _workerReady(self, worker: _Worker):
        log.info("web2 master: worker {pid} is ready", pid=worker.pid)
        self._startFailures = 0
        if worker.generation == self.generation and self.current.get(worker.slot) is worker:
            if not self.everReady and all(w.ready for w in self.current.values()):
                self.everReady = True
                self.notifier.ready(f"{len(self.current)} worker(s) serving")
        elif self.pending is not None and self.pending.get(worker.slot) is worker:
            if all(w.ready for w in self.pending.values()):
                self._finishReload()

    def _workerEnded(self, worker: _Worker, reason):
        self._all.discard(worker)
        self._forgetGauges(worker.pid)
        how = _describeEnd(reason)
        if self.stopping:
            log.info("web2 master: worker {pid} stopped ({how})", pid=worker.pid, how=how)
            if not any(not w.ended for w in self._all) and not self._workersGone.called:
                self._workersGone.callback(None)
            return
        if worker.retiring:
            log.info("web2 master: old worker {pid} stopped ({how})", pid=worker.pid,
                     how=how)
            return
        if self.pending is not None and self.pending.get(worker.slot) is worker:
            self._failReload(f"a new worker ({worker.pid}) ended before it was ready "
                             f"({how}); its error is above")
            return
        if self.current.get(worker.slot) is not worker:
            return
        if not worker.ready:
            self._startFailures += 1
            if not self.everReady:
                self._giveUp(f"worker {worker.pid} ended before it was ready ({how}); "
                             "its error is above")
                return
            if self._startFailures >= self.maxStartFailures:
                self._giveUp(f"{self._startFailures} workers in a row ended before "
                             f"they were ready (the last: {how})")
                return
        lived = self.reactor.seconds() - worker.startedAt
        if lived >= self.quickDeath:
            self._quickDeaths[worker.slot] = 0
        deaths = self._quickDeaths.get(worker.slot, 0)
        delay = 0.0 if deaths == 0 else min(self.backoffStart * 2 ** (deaths - 1),
                                            self.backoffCap)
        self._quickDeaths[worker.slot] = deaths + 1
        log.warn("web2 master: worker {pid} ended ({how}); starting another "
                 "in {delay:.1f} s", pid=worker.pid, how=how, delay=delay)
        del self.current[worker.slot]
        self._restarts[worker.slot] = self.reactor.callLater(
            delay, self._restart, worker.slot)

    def _restart(self, slot: int):
        self._restarts.pop(slot, None)
        if not self.stopping and slot not in self.current:
            self.current[slot] = self._spawn(slot, self.generation)

    def _giveUp(self, why: str):
        log.critical("web2: error: {why}; the master stops", why=why)
        if self.exitStatus:  # given up already (workers ending together)
            return
        self.exitStatus = 1
        if not self.stopping and self.reactor.running:
            self.reactor.stop()
        elif not self.stopping:
            self.reactor.callWhenRunning(self.reactor.stop)

    # SIGHUP: a new generation

    def reload(self):
        """
        Start a new generation of workers, and stop the old ones once the new
        ones are ready; give up (the old ones go on) if the site file is wrong
        or a new worker fails before it is ready.
        """
        if self.stopping:
            return
        if self.pending is not None:
            log.info("web2 master: a reload is already under way; another follows it")
            self._reloadAgain = True
            return
        log.info("web2 master: SIGHUP: reloading")
        self.notifier.reloading()
        problem = self._checkConfig()
        if problem is not None:
            self._failReload(problem)
            return
        self.pending = {}
        generation = self.generation + 1
        for slot in range(self.workers):
            self.pending[slot] = self._spawn(slot, generation)
        self._reloadTimer = self.reactor.callLater(
            self.readyTimeout, self._failReload,
            f"the new workers were not ready within {self.readyTimeout:g} s")

    def _checkConfig(self) -> str | None:
        """
        Read the site file again as the master can (TOML, keys, values);
        the application is checked by the new workers themselves.

        @return: what is wrong, or C{None}.
        """
        if self.recheck is None:
            return None
        from web2.config import ConfigError

        try:
            fresh = self.recheck()
        except ConfigError as e:
            return str(e)
        except Exception as e:  # a plugin's coerce function, say
            return f"{type(e).__name__}: {e}"
        if fresh.listeners != self.config.listeners:
            log.warn("web2 master: the listeners changed in the site file; they take "
                     "effect on a restart, not a reload")
        if fresh.workers and fresh.workers != self.workers:
            log.info("web2 master: {old} -> {new} worker(s)", old=self.workers,
                     new=fresh.workers)
            self.workers = fresh.workers
        return None

    def _failReload(self, why: str):
        log.error("web2 master: reload failed: {why}; the old workers go on serving",
                  why=why)
        if self._reloadTimer is not None and self._reloadTimer.active():
            self._reloadTimer.cancel()
        self._reloadTimer = None
        for worker in (self.pending or {}).values():
            worker.stop()
        self.pending = None
        self.notifier.ready("reload failed; the old workers serve")
        self._nextReload()

    def _nextReload(self):
        if self._reloadAgain and not self.stopping:
            self._reloadAgain = False
            self.reactor.callLater(0, self.reload)

    def _finishReload(self):
        if self._reloadTimer is not None and self._reloadTimer.active():
            self._reloadTimer.cancel()
        self._reloadTimer = None
        old = list(self.current.values())
        for call in list(self._restarts.values()):
            if call.active():
                call.cancel()
        self._restarts.clear()
        self.current, self.pending = self.pending, None
        self.generation += 1
        self._quickDeaths.clear()
        log.info("web2 master: reload done: {count} new worker(s) serve; the old "
                 "ones drain", count=len(self.current))
        for worker in old:
            worker.stop()
        self.everReady = True
        self.notifier.ready(f"{len(self.current)} worker(s) serving")
        self._nextReload()

    # SIGUSR1

    def reopenLogs(self):
        """
        Reopen the master's server log file and pass SIGUSR1 to every
        worker (each reopens its log files).
        """
        from web2.serverlog import reopenLogFiles

        reopenLogFiles()
        for worker in list(self._all):
            worker.signal(signal.SIGUSR1)


def masterFor(options, config, reactor, makeListener, backlog, logFormats=(), tls=None):
    """
    A L{MasterService} when C{--workers} (or the site file's C{workers}) is
    set and this process is not itself a worker; else C{None}.

    @param makeListener: makes one listener service from C{(description,
        endpoint, factory)}.
    @param backlog: gives an endpoint description its backlog.
    @param logFormats: the access-log format names (to check the site file
        again on SIGHUP).
    """
    reload = bool(options.get("reload"))
    if not (config.workers or reload) or isWorker():
        return None
    from twisted.internet import endpoints
    from twisted.internet.protocol import Factory

    from web2.config import ConfigError
    from web2.tlsoptions import TLSError, sslEndpoint

    listeners = []
    for description in config.listeners:
        try:
            endpoint = (sslEndpoint(reactor, backlog(description), tls)
                        or endpoints.serverFromString(reactor, backlog(description)))
        except TLSError as e:
            raise ConfigError(str(e)) from None
        except Exception as e:
            raise ConfigError(f"bad endpoint {description!r}: {type(e).__name__}: {e}") \
                from None
        quiet = Factory()
        quiet.noisy = False  # it never makes a protocol: no start/stop lines
        listeners.append(makeListener(description, endpoint, quiet))
    argv = getattr(options, "argv", None)
    if argv is None:
        raise ConfigError("--workers: the command line to give the workers is unknown")

    def recheck():
        from web2.config import buildSiteConfig, loadConfigFile

        return buildSiteConfig(options, fileData=loadConfigFile(config.configFile),
                               fileName=config.configFile,
                               pluginOptions=options.pluginOptions,
                               logFormats=tuple(logFormats))

    metrics = any(spec.kind == "metrics" for spec in config.mounts)
    if metrics:
        from web2.metrics import checkAvailable

        try:
            checkAvailable()
        except ValueError as e:
            raise ConfigError(str(e)) from None
    master = MasterService(reactor, config, argv, config.workers or 1, listeners,
                           recheck=recheck if config.configFile else None,
                           metrics=metrics)
    if reload:
        roots = [os.getcwd(), *config.pythonPath]
        files = [config.configFile] if config.configFile else []
        master.addService(SourceWatcher(reactor, roots, files, master.reload))
    return master


class SourceWatcher(service.Service):
    """
    C{--reload}: looks every C{interval} seconds at the modification times
    of the Python files under C{roots} (hidden directories, C{__pycache__},
    C{node_modules} and virtual environments left out; at most C{maxFiles}
    files) and of C{files}, and calls C{onChange} when one was added,
    removed or changed.  Polling needs no dependency and sees every kind of
    file system; a second is quick enough for a person editing code.
    """

    _SKIP = frozenset({"__pycache__", "node_modules", "venv", "site-packages"})

    def __init__(self, reactor, roots, files, onChange, interval: float = 1.0,
                 maxFiles: int = 20000):
        self.reactor = reactor
        self.roots = [os.path.abspath(r) for r in roots]
        self.files = [os.path.abspath(f) for f in files]
        self.onChange = onChange
        self.interval = interval
        self.maxFiles = maxFiles
        self._seen: dict[str, float] = {}
        self._call = None
        self._warned = False

    def scan(self) -> dict[str, float]:
        """
        @return: the modification time of every watched file, by path.
        """
        found: dict[str, float] = {}
        for path in self.files:
            try:
                found[path] = os.stat(path).st_mtime_ns
            except OSError:
                found[path] = -1
        for root in dict.fromkeys(self.roots):
            for directory, subdirs, names in os.walk(root):
                subdirs[:] = [d for d in subdirs if not d.startswith(".")
                              and d not in self._SKIP
                              and not os.path.exists(os.path.join(directory, d,
                                                                  "pyvenv.cfg"))]
                for name in names:
                    if not name.endswith(".py"):
                        continue
                    path = os.path.join(directory, name)
                    try:
                        found[path] = os.stat(path).st_mtime_ns
                    except OSError:
                        continue
                    if len(found) >= self.maxFiles:
                        if not self._warned:
                            self._warned = True
                            log.warn("--reload: watching only the first {count} files",
                                     count=self.maxFiles)
                        return found
        return found

    def startService(self):
        service.Service.startService(self)
        from twisted.internet import task

        self._seen = self.scan()
        log.info("--reload: watching {count} file(s) for changes", count=len(self._seen))
        self._call = task.LoopingCall(self._check)
        self._call.clock = self.reactor
        self._call.start(self.interval, now=False)

    def _check(self):
        now = self.scan()
        if now == self._seen:
            return
        changed = sorted(p for p in set(now) | set(self._seen)
                         if now.get(p) != self._seen.get(p))
        self._seen = now
        log.info("--reload: {path} changed; reloading", path=changed[0])
        self.onChange()

    def stopService(self):
        service.Service.stopService(self)
        if self._call is not None and self._call.running:
            self._call.stop()
