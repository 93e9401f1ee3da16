# -*- test-case-name: test_tap -*-
"""
C{twistd web2}: run a web2 site assembled from plugins.

    twistd -n web2 --listen tcp:8080 --mount /=static:./public
    twistd -n web2 --config site.toml --access-log access.log
    twistd -n web2 --list-plugins

The option class is built at startup from every installed plugin
(C{web2_options}), because L{usage.Options} collects its options per class:
the module attribute C{Options} is made on access (PEP 562), so twistd's
C{ServiceMaker} finds it like a plain class.  C{--help} lists the options of
every plugin, each labelled with the plugin's name.

L{buildService} assembles the site: plugins -> configuration -> mounts ->
L{web2.server.Site} (root wrapped by C{web2_wrap_root}, with the plugins'
response filters) -> L{web2.channel.HTTPFactory} -> one listener per
C{--listen} endpoint -> the plugins' services, all inside one
L{Web2Service} whose graceful stop closes the listeners, runs the
C{web2_shutdown} hooks and drains the open connections.
"""

from __future__ import annotations

import inspect
import sys

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import usage

from web2 import metrics as _metrics
from web2 import plugins as _plugins
from web2 import tlsoptions
from web2 import workers as _workers
from web2._compiled import describeBuild
from web2._version import __version__
from web2.auth import protectMounts
from web2.config import (
    SERVER_SETTINGS,
    ConfigError,
    _positiveFloat,
    buildSiteConfig,
    loadConfigFile,
    parseMount,
    workerCount,
)
from web2.log import AccessLogService
from web2.mount import buildRoot, resolveMounts
from web2.plugins import PluginError, PluginFailure, Web2PluginManager, formatPluginList
from web2.sdnotify import systemdServices
from web2.serverlog import ReopenLogsService

__all__ = ["ListenError", "Web2Service", "buildService", "makeOptionsClass",
           "makeService"]


class _BaseOptions(usage.Options):
    """
    The options of web2 itself; L{makeOptionsClass} adds the plugins'.

    @cvar pluginManager: the plugin manager the class was built from.
    @cvar pluginOptions: every plugin option, by name.
    @cvar optionOwners: option name -> name of the plugin declaring it.
    """

    longdesc = (
        "Serve a web2 site. Mount resources with --mount PATH=KIND:ARG "
        "(see --list-plugins for the kinds), or describe the site in a TOML "
        "file given with --config. Options in [brackets] come from plugins."
    )
    optFlags = [
        ["skip-broken-plugins", None,
         "Start without the plugins that fail to load (default: refuse)."],
        ["reload", None,
         "Development: serve from a worker process and reload it (as on "
         "SIGHUP) when a Python file under the working directory or the "
         "python path, or the site file, changes."],
    ]
    optParameters = [
        ["config", None, None, "A site file (TOML) describing listeners, mounts, logs."],
        ["access-log", None, None,
         "Write the access log to this file ('-': stdout; 'off': no access log)."],
        ["log-format", None, None,
         "Access-log format: combined (default), common, json, or a plugin's."],
        ["shutdown-timeout", None, None,
         "Seconds a graceful stop may take before open connections are aborted"
         " (default 10).", _positiveFloat],
        ["workers", None, None,
         "Serve from N worker processes sharing the listeners ('auto': one "
         "per CPU); SIGHUP then reloads with no downtime. Default: one "
         "process, no workers.", workerCount],
        ["tls-cert", None, None,
         "PEM certificate chain (leaf first) for ssl: listeners that name no "
         "key, e.g. --listen ssl:8443."],
        ["tls-key", None, None, "PEM private key of --tls-cert."],
        ["tls-min-version", None, None,
         "Oldest TLS version accepted: 1.2 (default) or 1.3.", tlsoptions.tlsVersion],
        ["tls-ciphers", None, None,
         "OpenSSL cipher string for TLS 1.2 (default: Twisted's, forward-secret "
         "AEAD ciphers)."],
    ] + [[s.name, None, None, s.help, s.coerce] for s in SERVER_SETTINGS]

    pluginManager: Web2PluginManager | None = None
    pluginOptions: dict = {}
    optionOwners: dict = {}
    _multiple: tuple[str, ...] = ()

    #: How a command-line error ends: with C{False} (the default) as a
    #: L{usage.UsageError} for the caller (C{python -m web2}); with C{True}
    #: (the class twistd gets) as a two-line message, not twistd's whole
    #: help.
    exitOnUsageError = False

    def __init__(self):
        super().__init__()
        for name in ("listen", "mount", "python-path") + self._multiple:
            self[name] = []

    def parseOptions(self, options=None):
        """
        Parse the command line; under C{twistd}, a mistake ends the process
        with a two-line message and status 2 (twistd itself would print its
        whole help before the message).
        """
        # The command line given again to each worker (web2.workers).
        self.argv = list(sys.argv[1:] if options is None else options)
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            if not self.exitOnUsageError:
                raise
            sys.stderr.write(f"web2: error: {e}\n"
                             "Try 'twistd web2 --help' for the options.\n")
            sys.stderr.flush()
            raise SystemExit(2) from None

    def opt_listen(self, endpoint):
        """
        Listen on this endpoint (repeatable; default tcp:8080), e.g.
        tcp:8080:interface=127.0.0.1, ssl:8443:privateKey=k.pem:certKey=c.pem,
        unix:/run/web2.sock.
        """
        self["listen"].append(endpoint)

    def opt_mount(self, text):
        """
        Mount a resource: PATH=KIND:ARGUMENT (repeatable), e.g. /=static:./public.
        """
        try:
            self["mount"].append(parseMount(text))
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None

    def opt_tls_sni(self, text):
        """
        Certificate for clients asking for HOST by SNI: HOST=CERT,KEY (repeatable).
        """
        try:
            self.setdefault("tls-sni", []).append(tlsoptions.parseSNI(text))
        except ValueError as e:
            raise usage.UsageError(f"--tls-sni: {e}") from None

    def opt_python_path(self, directory):
        """
        Add a directory to the Python path before mounts are made (repeatable).
        """
        self["python-path"].append(directory)

    def opt_list_plugins(self):
        """
        List the installed plugins, their versions, mount kinds and hooks,
        and exit.
        """
        print(formatPluginList(_plugins.describe_plugins(self.pluginManager)))
        sys.exit(0)

    def opt_version(self):
        """
        Print the version of web2 and exit.
        """
        import twisted

        print(f"web2 {__version__} (Twisted {twisted.__version__}, "
              f"Python {sys.version.split()[0]}; {describeBuild()})")
        sys.exit(0)


def _multipleOption(name: str, coerce, help: str):
    def opt(self, value):
        if coerce is not None:
            try:
                value = coerce(value)
            except ValueError as e:
                raise usage.UsageError(f"--{name}: {e}") from None
        self[name].append(value)

    opt.__doc__ = help
    return opt


def makeOptionsClass(pm: Web2PluginManager | None = None) -> type[usage.Options]:
    """
    Build the option class of C{twistd web2} from the plugins of C{pm}.

    @param pm: the plugin manager; by default a new one is built, keeping
        the plugins that fail to load aside in C{pm.failures} (reported by
        L{buildService} unless C{--skip-broken-plugins}).
    """
    if pm is None:
        pm = _plugins.build_plugin_manager(skip_broken=True, onFailure=lambda f: None)
    taken = {o[0] for o in _BaseOptions.optParameters + _BaseOptions.optFlags}
    # "reactor" is python -m web2's (twistd has its own).
    taken |= {"listen", "mount", "python-path", "list-plugins", "version", "help", "reactor"}
    shorts: set[str] = {"h"}
    flags, params, extra, multiple = [], [], {}, []
    owners: dict[str, str] = {}
    declared: dict[str, object] = {}
    # In registration order (core first, then entry points as found), so
    # that the first plugin to declare an option keeps it.
    for impl in pm.hook.web2_options.get_hookimpls():
        for option in impl.function() or ():
            name = option.name
            if name in taken:
                owner = owners.get(name, "web2")
                pm.failures.append(PluginFailure(
                    impl.plugin_name, *pm.distributions.get(impl.plugin_name, ("?", "?")),
                    f"plugin {impl.plugin_name!r} declares the option --{name}, "
                    f"which {'plugin ' + repr(owner) if owner != 'web2' else 'web2'} "
                    "already has"))
                continue
            taken.add(name)
            owners[name] = impl.plugin_name
            declared[name] = option
            short = option.short if option.short and option.short not in shorts else None
            if short:
                shorts.add(short)
            help = f"[{impl.plugin_name}] {option.help}"
            if option.multiple:
                multiple.append(name)
                if "repeatable" not in help.lower():
                    help += " (repeatable)"
                extra["opt_" + name.replace("-", "_")] = _multipleOption(
                    name, option.coerce, help)
            elif option.flag:
                flags.append([name, short, help])
            else:
                params.append([name, short, None, help, option.coerce])
    return type("Options", (_BaseOptions,), dict(
        extra,
        optFlags=flags,
        optParameters=params,
        pluginManager=pm,
        pluginOptions=declared,
        optionOwners=owners,
        _multiple=tuple(multiple),
    ))


def __getattr__(name: str):
    # twistd's ServiceMaker reads web2.tap.Options: build it now, from the
    # plugins installed now, never at import time.
    if name == "Options":
        options = makeOptionsClass()
        options.exitOnUsageError = True
        return options
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def makeService(options):
    """
    twistd's entry point: L{buildService}, with configuration and plugin
    errors turned into a one-line message and exit status 1 (no traceback).
    """
    try:
        return buildService(options)
    except (ConfigError, PluginError) as e:
        raise SystemExit(f"web2: error: {e}") from None


log = Logger(namespace=__name__)


class ListenError(SystemExit):
    """
    A listener could not start (port in use, permission denied...).

    It is a C{SystemExit} carrying a one-line message, so that a process
    started by twistd ends with that message and status 1 instead of a
    traceback; C{python -m web2} catches it and says the same.
    """


#: The endpoint kinds that listen themselves and take a backlog (a
#: C{systemd:} socket was listened on by systemd, with its own).
_BACKLOG_KINDS = frozenset({"tcp", "tcp6", "ssl", "unix"})
#: nginx's default: Twisted's own (50) makes a burst of connections wait
#: for the client's SYN to be sent again, a second later.
_BACKLOG = 511


def defaultBacklog() -> int:
    """
    The listen backlog when none is configured: 511, or the kernel's cap
    (C{net.core.somaxconn}) when that is lower, as the kernel would cut a
    larger one to it anyway.
    """
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return min(_BACKLOG, int(f.read()))
    except (OSError, ValueError):
        return _BACKLOG


def withBacklog(description: str, backlog: int) -> str:
    """
    The endpoint description C{description} with C{backlog=BACKLOG} added,
    if it is of a kind that takes one and does not name its own.
    """
    kind, _, rest = description.partition(":")
    if kind.strip().lower() not in _BACKLOG_KINDS or ":backlog=" in ":" + rest:
        return description
    return f"{description}:backlog={backlog}"


class _Listener(StreamServerEndpointService):
    """
    One C{--listen} endpoint.  Binding fails loudly and at once
    (C{_raiseSynchronously}), and the bound address is logged.
    """

    _raiseSynchronously = True

    def __init__(self, description, endpoint, factory):
        super().__init__(endpoint, factory)
        self.description = description
        self.port = None

    def privilegedStartService(self):
        try:
            super().privilegedStartService()
        except Exception as e:
            reason = getattr(e, "socketError", None) or e
            reason = getattr(reason, "strerror", None) or reason
            raise ListenError(f"web2: error: cannot listen on {self.description!r}: "
                              f"{reason}") from None
        self._waitingForPort.addCallback(self._listening)

    def _listening(self, port):
        self.port = port
        address = port.getHost()
        if hasattr(address, "port"):
            where = f"{address.host}:{address.port}"
        else:
            where = getattr(address, "name", None) or address
            if isinstance(where, bytes):
                where = where.decode("utf-8", "backslashreplace")
        log.info("web2 listening on {where} ({description})", where=where,
                 description=self.description)
        return port


def _each(caller, **kwargs):
    """
    Call every implementation of a hook in pluggy's order, yielding
    C{(pluginName, result)}; used where the host needs to know which plugin
    answered, or to chain results.
    """
    for impl in reversed(caller.get_hookimpls()):
        yield impl.plugin_name, impl.function(*[kwargs[a] for a in impl.argnames])


def _callHook(impl, values):
    result = impl.function(*[values[a] for a in impl.argnames])
    if inspect.iscoroutine(result):
        return defer.ensureDeferred(result)
    return result


def _runHooks(caller, values) -> defer.Deferred:
    """
    Call every implementation of a lifecycle hook, wait for the Deferreds
    and coroutines they return, and log (never raise) their failures.
    """
    waits = []
    for impl in reversed(caller.get_hookimpls()):
        d = defer.maybeDeferred(_callHook, impl, values)
        d.addErrback(lambda f, plugin=impl.plugin_name: log.failure(
            "{hook} of plugin {plugin!r} failed", f, hook=caller.name, plugin=plugin))
        waits.append(d)
    return defer.DeferredList(waits)


class Web2Service(service.Service):
    """
    The running site: its listeners, the plugins' services and the access
    log, started and stopped in the right order.

    Stopping (SIGTERM under twistd) closes the listeners and plugin
    services first, then runs the C{web2_shutdown} hooks, then drains the
    open connections with L{HTTPFactory.drain}, all within
    C{config.shutdownTimeout} seconds; the access log closes last.

    @ivar site: the L{web2.server.Site}.
    @ivar factory: the L{web2.channel.HTTPFactory}.
    @ivar listeners: the listener services, in C{--listen} order.
    """

    name = "web2"
    _stopping = False

    def __init__(self, config, site, factory, listeners, services, accessLog, reactor):
        self.config = config
        self.site = site
        self.factory = factory
        self.listeners = listeners
        self.services = services
        self.accessLog = accessLog
        self.reactor = reactor

    def _runHooks(self, name) -> defer.Deferred:
        caller = getattr(self.config.pluginManager.hook, name)
        return _runHooks(caller, {"reactor": self.reactor, "config": self.config})

    def privilegedStartService(self):
        service.Service.privilegedStartService(self)
        for child in self.listeners + self.services:
            child.privilegedStartService()

    def startService(self):
        service.Service.startService(self)
        log.info("web2 {version}, {build}; reactor {reactor}", version=__version__,
                 build=describeBuild(), reactor=self.reactor.__class__.__qualname__)
        if self.accessLog is not None:
            self.accessLog.startService()
        for child in self.listeners + self.services:
            child.startService()
        self._runHooks("web2_startup")
        self.reactor.callWhenRunning(self._catchRepeatedSignals)

    def _catchRepeatedSignals(self) -> None:
        """
        Put a guard in front of the reactor's SIGTERM and SIGINT handlers
        (called once the reactor runs, after it installed them): the first
        signal goes to the reactor's handler, which stops the reactor (run
        by the reactor, not inside the signal handler, as it logs); one
        arriving once the stop has begun would call C{reactor.stop()} again
        and log a critical C{ReactorNotRunning} traceback, so it comes here
        instead.  A second SIGTERM (C{make} forwards one to the process
        group, so the server gets two) is noted and the graceful stop goes
        on; a second SIGINT (Ctrl-C twice) closes the connections still
        open at once instead of waiting for them.

        Only the reactor's own handlers are wrapped, and only in the main
        thread: a handler someone else installed (a debugger's, a test
        runner's) is left alone.
        """
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGTERM, signal.SIGINT):
            handler = signal.getsignal(number)
            if getattr(handler, "__self__", None) is not self.reactor:
                continue

            def guard(signum, frame, first=handler):
                # Nothing more than a call queued for the reactor: the
                # reactor's handler logs, and a log line written from a
                # signal handler can land in the middle of another one.
                if self._stopping:
                    self.reactor.callFromThread(self._signalledAgain, signum)
                else:
                    self._stopping = True
                    self.reactor.callFromThread(first, signum, None)

            signal.signal(number, guard)

    def _signalledAgain(self, signum) -> None:
        import signal

        count = self.factory.connectionCount
        if signum == signal.SIGINT and count:
            log.info("web2: interrupted again: closing {count} open connection(s) now",
                     count=count)
            for channel in list(self.factory.connections):
                channel.abortConnection()
            return
        log.info("web2: already stopping ({name}); waiting for {count} open "
                 "connection(s) (shutdown timeout {timeout} s)",
                 name=signal.Signals(signum).name, count=count,
                 timeout=self.config.shutdownTimeout)

    def stopService(self):
        service.Service.stopService(self)
        self._stopping = True
        start = self.reactor.seconds()
        timeout = self.config.shutdownTimeout
        children = [defer.maybeDeferred(c.stopService)
                    for c in self.listeners + self.services if c.running]
        d = defer.gatherResults(children, consumeErrors=True)
        d.addErrback(lambda f: log.failure("A listener failed to stop", f))

        def shutdownHooks(_):
            hooks = self._runHooks("web2_shutdown")
            hooks.addTimeout(timeout, self.reactor)
            hooks.addErrback(lambda f: log.warn(
                "web2_shutdown hooks did not finish within {timeout} s", timeout=timeout))
            return hooks

        def drain(_):
            left = max(0.0, timeout - (self.reactor.seconds() - start))
            log.info("web2 stopping: draining {count} connection(s) for up to "
                     "{left:.1f} s", count=self.factory.connectionCount, left=left)
            return self.factory.drain(left)

        def closeLog(_):
            if self.accessLog is not None and self.accessLog.running:
                self.accessLog.stopService()

        d.addCallback(shutdownHooks)
        d.addCallback(drain)
        d.addErrback(lambda f: log.failure("The drain failed", f))
        d.addBoth(closeLog)
        return d


#: The endpoint kinds most sites use, named when a description has another.
_COMMON_KINDS = "tcp, tcp6, ssl, unix, systemd"


def _endpointProblem(description: str, e: Exception) -> str:
    """
    What is wrong with the endpoint C{description}, in words, from the
    exception Twisted's parser raised (its messages speak of Python
    internals: C{int()} literals, keyword arguments of private functions).
    """
    import re

    text = str(e)
    kind, _, rest = description.partition(":")
    fields = rest.split(":")
    number = re.match(r"invalid literal for int\(\) with base 10: '(.*)'$", text)
    if number:
        value = number.group(1)
        if fields and fields[0] == value and "=" not in value:
            return f"port must be a number, not {value!r}" if value else \
                f"a port number is needed, e.g. {kind}:8080"
        for item in fields:
            name, eq, given = item.partition("=")
            if eq and given == value:
                return f"{name} must be a number, not {value!r}"
        return f"{value!r} is not a number"
    missing = re.search(r"missing \d+ required positional argument: '(\w+)'", text)
    if missing:
        what = missing.group(1)
        if what == "port":
            return f"a port number is needed, e.g. {kind}:8080"
        return f"{what} is needed"
    unknown = re.search(r"unexpected keyword argument '(\w+)'", text)
    if unknown:
        return f"{kind} endpoints have no parameter {unknown.group(1)!r}"
    if text.startswith("Unknown endpoint type"):
        return f"unknown endpoint type {kind!r} (common ones: {_COMMON_KINDS})"
    if isinstance(e, OSError) and e.filename:
        problem = f"cannot read {e.filename!r}: {e.strerror}"
        if kind == "ssl" and "privateKey=" not in rest:
            problem += " (name the key and certificate: ssl:PORT:privateKey=KEY.pem" \
                       ":certKey=CERT.pem)"
        return problem
    if type(e).__module__.startswith("OpenSSL"):
        return ("the key or certificate cannot be loaded (privateKey= and certKey= "
                "name PEM files)")
    return f"{text or type(e).__name__}"


def _checkBroken(pm, skip: bool) -> None:
    for failure in pm.failures:
        if not skip:
            raise PluginError(failure.message + " (use --skip-broken-plugins to "
                              "start without it)")
        log.warn("{message}; skipped", message=failure.message)


def _tlsSettings(options, config) -> tlsoptions.TLSSettings:
    """
    The TLS settings: the command line's over the site file's C{[tls]}.
    """
    fromFile = config.tls
    try:
        minVersion = tlsoptions.tlsVersion(
            options.get("tls-min-version") or fromFile.get("min-version") or "1.2")
    except ValueError as e:
        raise ConfigError(f"{config.configFile}: [tls] min-version: {e}") from None
    return tlsoptions.TLSSettings(
        options.get("tls-cert") or fromFile.get("cert"),
        options.get("tls-key") or fromFile.get("key"),
        minVersion, options.get("tls-ciphers") or fromFile.get("ciphers"),
        list(fromFile.get("sni", [])) + list(options.get("tls-sni") or []))


def buildService(options, reactor=None, defaultAccessLog=None) -> Web2Service:
    """
    Assemble the site described by parsed C{options} (an instance of
    L{makeOptionsClass}'s class) into a L{Web2Service}; nothing listens
    until the service is started.

    @param defaultAccessLog: the access log when neither the command line
        nor the site file names one (C{python -m web2} uses C{"-"}).
    @raise ConfigError: the configuration is wrong.
    @raise PluginError: a plugin failed and C{--skip-broken-plugins} was not
        given, or two plugins clash.
    """
    from twisted.internet import endpoints

    from web2._wire import Limits
    from web2.channel import HTTPFactory
    from web2.server import Site

    if reactor is None:
        from twisted.internet import reactor
    pm = options.pluginManager
    _checkBroken(pm, bool(options["skip-broken-plugins"]))

    kinds, kindOwners, formats = {}, {}, {}
    for plugin, result in _each(pm.hook.web2_mount_kinds):
        for kind, factory in (result or {}).items():
            if kind in kinds:
                raise PluginError(f"plugins {kindOwners[kind]!r} and {plugin!r} both "
                                  f"provide the mount kind {kind!r}")
            kinds[kind], kindOwners[kind] = factory, plugin
    for _, result in _each(pm.hook.web2_access_log_formatters):
        formats.update(result or {})

    fileData = loadConfigFile(options["config"]) if options["config"] else None
    config = buildSiteConfig(options, fileData=fileData,
                             fileName=options["config"] or "config file",
                             pluginOptions=options.pluginOptions,
                             logFormats=tuple(formats))
    config.pluginManager = pm
    if config.accessLog is None:
        config.accessLog = defaultAccessLog
    for directory in reversed(config.pythonPath):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    tls = _tlsSettings(options, config)
    master = _workers.masterFor(options, config, reactor, _Listener,
                                lambda d: withBacklog(d, config.listenOptions.get("backlog")
                                                      or defaultBacklog()),
                                formats, tls)
    if master is not None:
        return master
    pm.hook.web2_configure.call_historic(kwargs=dict(config=config))

    pluginMounts = [(path, resource, plugin)
                    for plugin, result in _each(pm.hook.web2_mounts, config=config)
                    for path, resource in (result or ())]
    mounts = protectMounts(resolveMounts(config.mounts, kinds, config, pluginMounts), config)
    if not mounts:
        log.warn("Nothing is mounted: every request will get 404. Use --mount "
                 "PATH=KIND:ARG (kinds: {kinds}).", kinds=", ".join(sorted(kinds)))
    root = buildRoot(mounts)
    for impl in reversed(pm.hook.web2_wrap_root.get_hookimpls()):
        values = {"root": root, "config": config}
        wrapped = impl.function(*[values[a] for a in impl.argnames])
        if wrapped is not None:
            root = wrapped
    filters = [f for _, result in _each(pm.hook.web2_response_filters, config=config)
               for f in result or ()]
    accessLog = None
    if config.accessLog == "off":
        config.accessLog = None
    if config.accessLog:
        if config.accessLog != "-":
            try:
                open(config.accessLog, "a").close()
            except OSError as e:
                raise ConfigError(f"cannot open the access log {config.accessLog!r}: "
                                  f"{e.strerror}") from None
        accessLog = AccessLogService(config.accessLog, formats[config.logFormat])
    site = Site(root, responseFilters=filters,
                accessLogObserver=_metrics.observerFor(config, accessLog))
    factoryOptions = dict(config.factoryOptions)
    if config.limits:
        factoryOptions["limits"] = Limits(**config.limits)
    factory = HTTPFactory(site, reactor=reactor, **factoryOptions)
    _metrics.attachFactory(config, factory)

    adopted = _workers.adoptedListeners(reactor, factory, _Listener, tls)
    listeners = [] if adopted is None else adopted
    backlog = config.listenOptions.get("backlog") or defaultBacklog()
    for description in config.listeners if adopted is None else ():
        try:
            endpoint = tlsoptions.sslEndpoint(
                reactor, withBacklog(description, backlog), tls)
        except tlsoptions.TLSError as e:
            raise ConfigError(str(e)) from None
        try:
            endpoint = endpoint or endpoints.serverFromString(
                reactor, withBacklog(description, backlog))
        except Exception as e:
            where = ("--listen" if description in (options["listen"] or ())
                     else f"listen endpoint in {config.configFile}")
            message = f"bad {where} {description!r}: {_endpointProblem(description, e)}"
            if description.startswith("systemd:"):
                message += (
                    " (no such socket was handed over: systemd sets LISTEN_FDS, "
                    "LISTEN_PID and LISTEN_FDNAMES when it starts web2 from a "
                    ".socket unit)")
            raise ConfigError(message) from None
        listeners.append(_Listener(description, endpoint, factory))
    services = [s for _, result in _each(pm.hook.web2_services, config=config, site=site)
                for s in result or ()]
    services += _workers.workerServices(reactor) or systemdServices(reactor)
    services.append(ReopenLogsService(reactor, accessLog))
    return Web2Service(config, site, factory, listeners, services, accessLog, reactor)
