# -*- test-case-name: test_compat_plugin -*-
"""
web2-compat's plugin: what it contributes to the web2 plugin host.

Importing it imports L{web2.compat}, which registers the adapter from
twisted.web resources to web2 resources; from then on any mount kind that
produces a twisted.web resource (the core's C{class:} too) works.

Mount kinds (C{--mount PATH=KIND:ARGUMENT}, or C{[mounts]} in a site file):

  - C{twistedweb:MODULE.ATTR} (alias C{twisted-web:}): a twisted.web
    resource object, or a callable taking no arguments that returns one
    (a class, a factory function);
  - C{rpy:FILE}: a twisted.web resource script (C{.rpy}), a Python file
    that sets C{resource}.  It is run once, when the site starts; the mount
    option C{reload = true} runs it again for every request, as
    C{twistd web --resource-script} does.

The shortcut C{--twisted-web-class MODULE.ATTR} mounts such a resource at
C{/}.  All twisted.web mounts of a site share one session store and the
request-body limits below.
"""

from __future__ import annotations

import os
import weakref

from twisted.python.reflect import namedAny
from twisted.web import resource as twresource

from web2.compat import OldResourceAdapter, SessionStore
from web2.config import ConfigError
from web2.hookspecs import Option

__all__ = ["loadTwistedWebResource", "loadResourceScript", "web2_options",
           "web2_mount_kinds", "web2_mounts", "web2_shutdown"]


def _positiveInt(text) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def _positiveFloat(text) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be more than 0, not {value}")
    return value


_OPTIONS = [
    Option("twisted-web-class",
           help="Serve the twisted.web resource MODULE.ATTR (an object, or a "
                "zero-argument factory) at /."),
    Option("twisted-web-max-body", default=10 * 1024 * 1024, coerce=_positiveInt,
           help="The largest request body read for a twisted.web resource, in bytes "
                "(more is a 413)."),
    Option("twisted-web-session-timeout", default=900.0, coerce=_positiveFloat,
           help="Seconds of inactivity after which a twisted.web session expires."),
    Option("twisted-web-max-sessions", default=10000, coerce=_positiveInt,
           help="The most twisted.web sessions kept; more expire the least recently used."),
]


def web2_options():
    return list(_OPTIONS)


def loadTwistedWebResource(name: str):
    """
    Find the twisted.web resource named C{MODULE.ATTR}: the object itself
    if it is a resource, else the result of calling it without arguments.

    @raise ValueError: the name is malformed or not found, or names
        nothing that is (or makes) a twisted.web resource.
    """
    name = (name or "").strip()
    if not name or "." not in name:
        raise ValueError(f"twistedweb: needs MODULE.ATTR, not {name!r}")
    try:
        found = namedAny(name)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"cannot find the twisted.web resource {name!r}: {e}") from None
    if twresource.IResource.providedBy(found):
        return found
    if callable(found):
        made = found()
        if twresource.IResource.providedBy(made):
            return made
        raise ValueError(f"{name}() returned {made!r}, not a twisted.web resource")
    raise ValueError(f"{name} is {found!r}, not a twisted.web resource or a factory of one")


def loadResourceScript(path: str, reload: bool = False):
    """
    Load the twisted.web resource script (C{.rpy}) at C{path}.

    @param reload: run the script again for every request (a
        C{ResourceScriptWrapper}) instead of once, now.
    @raise ValueError: the file does not exist, or the script fails or
        sets no resource.
    """
    from twisted.web import script, static

    if not path:
        raise ValueError("rpy: needs a file, e.g. rpy:./app.rpy")
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise ValueError(f"rpy: {path} is not a file")
    registry = static.Registry()
    if reload:
        return script.ResourceScriptWrapper(path, registry)
    try:
        loaded = script.ResourceScript(path, registry)
    except Exception as e:
        raise ValueError(f"rpy: running {path} failed: {e!r}") from None
    if loaded is script.noRsrc or not twresource.IResource.providedBy(loaded):
        raise ValueError(f"rpy: {path} does not set 'resource' to a twisted.web resource")
    return loaded


# The session store shared by the twisted.web mounts of one configuration:
# id(config) -> (weak reference to the config, store).
_stores: dict = {}


def _get(config, name, default):
    if config is None:
        return default
    value = config.get(name, default)
    return default if value is None else value


def _storeFor(config) -> SessionStore:
    key = id(config)
    held = _stores.get(key)
    if held is not None and held[0]() is config:
        return held[1]
    store = SessionStore(
        sessionTimeout=float(_get(config, "twisted-web-session-timeout", 900.0)),
        maxSessions=int(_get(config, "twisted-web-max-sessions", 10000)),
    )
    if config is not None:
        _stores[key] = (weakref.ref(config), store)
        weakref.finalize(config, _stores.pop, key, None)
    return store


def adapt(original, config=None) -> OldResourceAdapter:
    """
    Wrap a twisted.web resource with the site's session store and limits.
    """
    return OldResourceAdapter(
        original,
        sessionStore=_storeFor(config),
        maxBodySize=int(_get(config, "twisted-web-max-body", 10 * 1024 * 1024)),
    )


def _twistedWebMount(argument: str, config):
    return adapt(loadTwistedWebResource(argument), config)


def _rpyMount(argument: str, config, reload: bool = False):
    if not isinstance(reload, bool):
        raise ValueError(f"rpy: reload must be true or false, not {reload!r}")
    return adapt(loadResourceScript(argument, reload), config)


_rpyMount.pathArgument = True


def web2_mount_kinds():
    return {
        "twistedweb": _twistedWebMount,
        "twisted-web": _twistedWebMount,
        "rpy": _rpyMount,
    }


def web2_mounts(config):
    name = config.get("twisted-web-class")
    if not name:
        return []
    try:
        original = loadTwistedWebResource(name)
    except ValueError as e:
        raise ConfigError(f"--twisted-web-class: {e}") from None
    return [("/", adapt(original, config))]


def web2_shutdown(config):
    """
    Expire the sessions of this site, so that their expiry callbacks run
    and their timers do not outlive the server.
    """
    held = _stores.get(id(config))
    if held is not None and held[0]() is config:
        held[1].expireAll()
