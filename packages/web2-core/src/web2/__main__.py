# -*- test-case-name: test_launch_main -*-
"""
C{python -m web2} (and the C{web2} console script): run a web2 site in the
foreground, like C{twistd -n web2} with the same options.  The server's
log goes to standard error and the access log, unless C{--access-log}
or the site file sends it elsewhere, to standard output.

Errors in the command line, the configuration or the plugins, and a
listener that cannot bind, end the process with a one-line message on
standard error and a non-zero status: 2 for a command-line error, 1 for
the others.

The reactor is web2's own epoll reactor (L{web2.epollreactor}) where epoll
exists, Twisted's default elsewhere, unless a plugin asks for another
(C{web2_reactor}: an C{asgi:} mount runs on asyncio's); C{--reactor NAME}
picks any reactor C{twistd --help-reactors} lists, or C{web2}.
"""

import sys


def _fail(message: str, status: int):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    raise SystemExit(status)


def main(argv=None) -> None:
    """
    Parse C{argv} (by default C{sys.argv[1:]}), build the site and run the
    reactor until SIGINT or SIGTERM, then stop gracefully.
    """
    from twisted.logger import globalLogBeginner
    from twisted.python import usage

    from web2 import serverlog, tap
    from web2.config import ConfigError
    from web2.plugins import PluginError

    argv = sys.argv[1:] if argv is None else list(argv)

    class Options(tap.makeOptionsClass()):
        synopsis = "Usage: web2 [options]"
        optParameters = [
            ["reactor", None, None,
             "The reactor: web2 (epoll without a logging context per event; "
             "the default where epoll exists), or a name twistd --help-reactors "
             "lists (epoll, poll, select, asyncio, ...)."],
            ["log-level", None, "info",
             "Least severe server-log events written: debug, info, warn, error, "
             "critical.", serverlog.logLevel],
            ["server-log-format", None, "text",
             "Server-log format: text, or json (one object per line).",
             serverlog.serverLogFormat],
            ["server-log", None, "-",
             "Write the server log to this file ('-': standard error); "
             "SIGUSR1 reopens it and the access log."],
        ]

    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        _fail(f"web2: error: {e}\nTry 'web2 --help' for the options.", 2)
    _installReactor(options["reactor"] or _pluginReactor(options))

    try:
        observers = serverlog.serverLogObservers(
            options["log-level"], options["server-log-format"], options["server-log"])
    except OSError as e:
        _fail(f"web2: error: cannot open the server log {options['server-log']!r}: "
              f"{e.strerror}", 1)
    globalLogBeginner.beginLoggingTo(observers, redirectStandardIO=False)
    from twisted.internet import reactor

    try:
        web2Service = tap.buildService(options, reactor, defaultAccessLog="-")
    except (ConfigError, PluginError) as e:
        _fail(f"web2: error: {e}", 1)
    try:
        web2Service.privilegedStartService()
    except tap.ListenError as e:
        _fail(str(e.code), 1)
    web2Service.startService()
    reactor.addSystemEventTrigger("before", "shutdown", web2Service.stopService)
    _freezeStartupHeap()
    reactor.run()
    # A --workers master that gave up (workers failing at start-up) says 1.
    if getattr(web2Service, "exitStatus", 0):
        raise SystemExit(web2Service.exitStatus)


#: The cyclic collector's young-generation threshold while serving.
_YOUNG_THRESHOLD = 10000


def _freezeStartupHeap() -> None:
    """
    Move every object start-up made (modules, the site, the applications
    and their lifespan state) out of the cyclic garbage collector's sight
    (C{gc.freeze}): they live as long as the process, and every full
    collection would walk them again.  Requests in flight survive the
    collector's young generations under load, so its full passes come
    every few thousand requests; on an ASGI hello under 64 connections
    they cost 2-3 us a request with the start-up heap in view, a few
    tenths without it.
    """
    import gc

    gc.collect()
    gc.freeze()
    # The young generation is collected once the objects allocated and
    # not yet freed pass its threshold (700 by default): a busy server's
    # requests in flight pass it on every turn of the loop, and each pass
    # promotes them, so the older generations fill too.  Above the peak
    # of a turn's requests (about 25 objects each) it is rarely reached.
    threshold, *older = gc.get_threshold()
    if 0 < threshold < _YOUNG_THRESHOLD:
        gc.set_threshold(_YOUNG_THRESHOLD, *older)


def _pluginReactor(options):
    """
    The reactor a plugin asks for (the C{web2_reactor} hook: web2-asgi
    wants asyncio's for its mounts), when C{--reactor} names none and no
    reactor is installed yet; C{None} for web2's default.
    """
    if "twisted.internet.reactor" in sys.modules:
        return None
    return options.pluginManager.hook.web2_reactor(options=options)


def _installReactor(name) -> None:
    """
    Install the reactor called C{name}; with C{None}, web2's epoll reactor
    if this platform has epoll and no reactor is installed yet.
    """
    if name is None:
        if "twisted.internet.reactor" in sys.modules:
            return
        import select

        if not hasattr(select, "epoll"):
            return
        name = "web2"
    elif "twisted.internet.reactor" in sys.modules:
        _fail(f"web2: error: --reactor {name}: a reactor is already installed", 2)
    if name == "web2":
        from web2 import epollreactor

        epollreactor.install()
        return
    if name == "web2-asyncio":
        from web2 import asyncioreactor

        asyncioreactor.install()
        return
    if name == "web2-uvloop":
        from web2 import asyncioreactor

        try:
            asyncioreactor.installUvloop()
        except ImportError:
            _fail("web2: error: --reactor web2-uvloop needs the uvloop package", 2)
        return
    from twisted.application.reactors import NoSuchReactor, installReactor

    try:
        installReactor(name)
    except NoSuchReactor:
        _fail(f"web2: error: no reactor named {name!r}; "
              "try 'twistd --help-reactors'", 2)


if __name__ == "__main__":
    main()
