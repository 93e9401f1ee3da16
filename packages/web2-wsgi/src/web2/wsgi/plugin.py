# -*- test-case-name: test_wsgi_plugin -*-
"""
web2-wsgi's plugin: what it contributes to the web2 plugin host.

The mount kind C{wsgi:MODULE:NAME} mounts the WSGI application C{NAME} of
C{MODULE} (C{NAME} defaults to C{application}; C{NAME()} calls a factory
without arguments, as in C{myapp:create_app()}); the shortcut
C{--wsgi MODULE:NAME} mounts it at C{/}.  In a site file::

    [options]
    wsgi = "myproject.wsgi:application"
    wsgi-threads = 16

    [mounts]
    "/admin" = "wsgi:adminapp:app"

All WSGI mounts of a site share one L{WSGIThreadPool} of C{--wsgi-threads}
threads with a queue of C{--wsgi-queue} requests; beyond that, requests get
503.  The pool is a service of the site: it stops with it, after giving the
requests still running the time to finish.
"""

from __future__ import annotations

from web2.config import ConfigError, importApplication
from web2.hookspecs import Option
from web2.wsgi.pool import WSGIThreadPool
from web2.wsgi.resource import WSGIResource

__all__ = ["loadApplication", "web2_options", "web2_mount_kinds", "web2_mounts",
           "web2_services"]

DEFAULT_THREADS = 10
DEFAULT_QUEUE = 64


def _positive(text) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def _nonNegative(text) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must not be negative, not {value}")
    return value


_OPTIONS = [
    Option("wsgi", help="Serve the WSGI application MODULE:NAME at / "
                        "(NAME defaults to application; NAME() calls a factory)."),
    Option("wsgi-threads", default=DEFAULT_THREADS, coerce=_positive,
           help="Threads running WSGI applications (shared by all WSGI mounts)."),
    Option("wsgi-queue", default=DEFAULT_QUEUE, coerce=_nonNegative,
           help="WSGI requests that may wait for a thread; more get 503."),
]


def loadApplication(spec: str):
    """
    Import the application named by C{spec}, C{MODULE[:NAME]}.

    The current directory is searched last, as other WSGI servers do, so
    that C{--wsgi app:app} finds C{./app.py}.

    @raise ValueError: the module or the name cannot be found, or is not
        callable; the message says which.
    """
    return importApplication(spec, "application", "WSGI", "NAME")


# The thread pool shared by the WSGI mounts of one site configuration.
_pools: dict[int, tuple[object, WSGIThreadPool]] = {}


def poolFor(config) -> WSGIThreadPool:
    """
    The thread pool of C{config}'s site, made on first use from its
    C{wsgi-threads} and C{wsgi-queue} options.
    """
    held = _pools.get(id(config))
    if held is not None and held[0] is config:
        return held[1]
    threads = config.get("wsgi-threads", DEFAULT_THREADS) if config else DEFAULT_THREADS
    queue = config.get("wsgi-queue", DEFAULT_QUEUE) if config else DEFAULT_QUEUE
    timeout = getattr(config, "shutdownTimeout", 10.0) or 10.0
    pool = WSGIThreadPool(maxThreads=threads or DEFAULT_THREADS,
                          queueSize=DEFAULT_QUEUE if queue is None else queue,
                          stopTimeout=timeout / 2)
    _pools[id(config)] = (config, pool)
    return pool


def _wsgiMount(argument: str, config):
    return WSGIResource(loadApplication(argument), poolFor(config))


def web2_options():
    return list(_OPTIONS)


def web2_mount_kinds():
    return {"wsgi": _wsgiMount}


def web2_mounts(config):
    spec = config.get("wsgi")
    if not spec:
        return []
    try:
        return [("/", _wsgiMount(spec, config))]
    except ValueError as e:
        raise ConfigError(f"--wsgi {spec}: {e}") from None


def web2_gauges(config):
    """
    The thread pool's figures for a C{metrics:} mount (read when Prometheus
    scrapes; nothing here depends on prometheus_client).
    """
    held = _pools.get(id(config))
    if held is None or held[0] is not config:
        return []
    pool = held[1]
    return [
        ("web2_wsgi_threads_busy", "WSGI threads running an application now.",
         lambda: pool.busy),
        ("web2_wsgi_threads", "WSGI threads alive (busy or idle).",
         lambda: pool.threadCount),
        ("web2_wsgi_threads_max", "The most WSGI threads (--wsgi-threads).",
         lambda: pool.maxThreads),
        ("web2_wsgi_queue", "WSGI requests waiting for a thread.",
         lambda: pool.queued),
        ("web2_wsgi_queue_max", "The most WSGI requests that may wait (--wsgi-queue); "
         "beyond them, 503.", lambda: pool.queueSize),
    ]


def web2_services(config, site):
    held = _pools.get(id(config))
    if held is None or held[0] is not config:
        return []
    return [held[1]]
