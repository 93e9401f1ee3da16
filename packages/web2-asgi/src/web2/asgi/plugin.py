# -*- test-case-name: test_asgi_plugin -*-
"""
web2-asgi's plugin: what it contributes to the web2 plugin host.

The mount kind C{asgi:MODULE:APP} mounts the ASGI application C{APP} of
C{MODULE} (C{APP} defaults to C{app}; C{APP()} calls a factory without
arguments, as in C{myproject:create_app()}); the shortcut
C{--asgi MODULE:APP} mounts it at C{/}.  In a site file::

    [options]
    asgi = "myproject.asgi:application"
    asgi-lifespan = "on"

    [mounts]
    "/api" = "asgi:api:app"
    "/plain" = { kind = "asgi", argument = "plain:app", loop = "twisted" }

Each application gets one L{Lifespan}, a service of the site: its startup
runs before the server serves (a failure stops it starting), its shutdown
during the graceful stop.  ASGI sites run on an asyncio reactor:
C{python -m web2} installs web2-core's (L{web2.asyncioreactor}) when the
site mounts an ASGI application (the C{web2_reactor} hook); under
C{twistd}, give C{--reactor=web2-asyncio} (or Twisted's C{asyncio}).
"""

from __future__ import annotations

from web2.asgi.lifespan import MODES, Lifespan
from web2.asgi.resource import ASGIResource
from web2.config import ConfigError, importApplication, loadConfigFile
from web2.hookspecs import Option

__all__ = ["loadApplication", "web2_mount_kinds", "web2_mounts", "web2_options",
           "web2_reactor", "web2_services"]

DEFAULT_RESPONSE_TIMEOUT = 60.0
DEFAULT_STARTUP_TIMEOUT = 60.0
_LOOPS = ("asyncio", "twisted")


def _lifespanMode(text) -> str:
    text = str(text).strip().lower()
    if text not in MODES:
        raise ValueError(f"must be one of {', '.join(MODES)}, not {text!r}")
    return text


def _loopName(text) -> str:
    text = str(text).strip().lower()
    if text not in _LOOPS:
        raise ValueError(f"must be one of {', '.join(_LOOPS)}, not {text!r}")
    return text


def _timeout(text) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(f"must not be negative, not {value}")
    return value


_OPTIONS = [
    Option("asgi", help="Serve the ASGI application MODULE:APP at / "
                        "(APP defaults to app; APP() calls a factory)."),
    Option("asgi-lifespan", default="auto", coerce=_lifespanMode,
           help="The ASGI lifespan protocol: auto (used when the application "
                "supports it), on (required), off."),
    Option("asgi-response-timeout", default=DEFAULT_RESPONSE_TIMEOUT, coerce=_timeout,
           help="Seconds an ASGI application has to start its response before it "
                "is cancelled and the client gets 504 (0: no limit)."),
    Option("asgi-startup-timeout", default=DEFAULT_STARTUP_TIMEOUT, coerce=_timeout,
           help="Seconds an ASGI application's lifespan startup may take; past them "
                "the server does not start (0: no limit)."),
    Option("asgi-loop", default="asyncio", coerce=_loopName,
           help="How ASGI coroutines run: asyncio (the asyncio reactor; any "
                "framework) or twisted (Deferreds on any reactor; plain ASGI "
                "applications that use nothing of asyncio)."),
]


def loadApplication(spec: str):
    """
    Import the application named by C{spec}, C{MODULE[:APP]}.

    The current directory is searched last, as other ASGI servers do, so
    that C{--asgi main:app} finds C{./main.py}.

    @raise ValueError: the module or the name cannot be found, or is not
        callable; the message says which.
    """
    return importApplication(spec, "app", "ASGI", "APP")


# The lifespans of one site configuration's applications, by application.
_lifespans: dict[int, tuple[object, dict]] = {}


def _option(config, name, default):
    value = config.get(name, default) if config is not None else default
    return default if value is None else value


def _lifespanFor(config, application, resource, mode, spec) -> Lifespan | None:
    held = _lifespans.get(id(config))
    if held is None or held[0] is not config:
        held = _lifespans[id(config)] = (config, {})
    known = held[1].get(id(application))
    if known is not None:
        return known[1]
    if mode == "off":
        lifespan = None
    else:
        timeout = getattr(config, "shutdownTimeout", 10.0) or 10.0
        startup = _option(config, "asgi-startup-timeout", DEFAULT_STARTUP_TIMEOUT)
        lifespan = Lifespan(application, resource.runner, reactor=resource.reactor,
                            mode=mode, startupTimeout=startup or None,
                            shutdownTimeout=timeout, appName=spec)
    held[1][id(application)] = (application, lifespan)
    return lifespan


def _asgiMount(argument: str, config, lifespan=None, loop=None):
    spec = argument.strip()
    try:
        mode = _lifespanMode(lifespan or _option(config, "asgi-lifespan", "auto"))
        loopName = _loopName(loop or _option(config, "asgi-loop", "asyncio"))
    except ValueError as e:
        raise ConfigError(f"asgi:{spec}: {e}") from None
    application = loadApplication(spec)
    timeout = _option(config, "asgi-response-timeout", DEFAULT_RESPONSE_TIMEOUT)
    resource = ASGIResource(application, loop=loopName, responseTimeout=timeout or None,
                            name=spec)
    resource.lifespan = _lifespanFor(config, application, resource, mode, spec)
    return resource


def web2_options():
    return list(_OPTIONS)


def web2_mount_kinds():
    return {"asgi": _asgiMount}


def web2_mounts(config):
    spec = config.get("asgi")
    if not spec:
        return []
    try:
        return [("/", _asgiMount(spec, config))]
    except ValueError as e:
        raise ConfigError(f"--asgi {spec}: {e}") from None


def web2_services(config, site):
    held = _lifespans.get(id(config))
    if held is None or held[0] is not config:
        return []
    return [lifespan for _, lifespan in held[1].values() if lifespan is not None]


def _wantsAsyncio(options) -> bool:
    loop = options.get("asgi-loop")
    if options.get("asgi") and loop != "twisted":
        return True
    for spec in options.get("mount") or ():
        if spec.kind == "asgi" and (spec.options.get("loop") or loop) != "twisted":
            return True
    path = options.get("config")
    if not path:
        return False
    try:
        data = loadConfigFile(path)
    except (ConfigError, OSError):
        return False  # reported when the site is built
    fileOptions = data.get("options") if isinstance(data.get("options"), dict) else {}
    loop = loop or fileOptions.get("asgi-loop")
    if fileOptions.get("asgi") and loop != "twisted":
        return True
    mounts = data.get("mounts") if isinstance(data.get("mounts"), dict) else {}
    for value in mounts.values():
        if isinstance(value, str) and value.partition(":")[0].strip() == "asgi":
            if loop != "twisted":
                return True
        elif isinstance(value, dict) and value.get("kind") == "asgi":
            if (value.get("loop") or loop) != "twisted":
                return True
    return False


def web2_reactor(options):
    """
    Ask C{python -m web2} for an asyncio reactor when the site mounts an
    ASGI application that runs on it: web2-core's lean one (Twisted's
    without a logging context per event, L{web2.asyncioreactor}), on a
    uvloop event loop when uvloop is installed; Twisted's own with a
    web2-core that has no such module.
    """
    if not _wantsAsyncio(options):
        return None
    if not _importable("web2.asyncioreactor"):
        return "asyncio"
    # uvloop, when installed (the "uvloop" extra), as uvicorn's --loop
    # auto does: its loop is C, about 8% fewer instructions a request.
    return "web2-uvloop" if _importable("uvloop") else "web2-asyncio"


def _importable(name) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
