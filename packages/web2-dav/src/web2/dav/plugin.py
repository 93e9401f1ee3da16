# -*- test-case-name: test_dav_plugin -*-
"""
web2-dav's plugin: what it contributes to the web2 plugin host.

  - the mount kind C{dav:DIR} (C{--mount /files=dav:/srv/files}, or a
    C{[mounts]} table with C{kind = "dav"}; mount options C{readonly},
    C{allow-infinite-depth}, C{max-upload-size});
  - C{--dav DIR}: mount C{dav:DIR} at C{/};
  - C{--dav-readonly}: every DAV mount answers only OPTIONS, GET, HEAD and
    PROPFIND (a mount's own C{readonly} overrides it).
"""

from __future__ import annotations

import os

from web2.dav.resource import DAVFile
from web2.hookspecs import Option


def _size(text) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must not be negative, not {value}")
    return value


_OPTIONS = [
    Option("dav", help="Serve this directory over WebDAV at /."),
    Option("dav-readonly", flag=True,
           help="WebDAV mounts are read-only (OPTIONS, GET, HEAD, PROPFIND)."),
]

# Mount option (dashes or underscores) -> DAVFile keyword and its coercion.
_MOUNT_OPTIONS = {
    "readonly": ("readOnly", bool),
    "read-only": ("readOnly", bool),
    "allow-infinite-depth": ("allowInfiniteDepth", bool),
    "max-upload-size": ("maxUploadSize", _size),
}


def web2_options():
    return list(_OPTIONS)


def makeDAV(path: str, config=None, **options) -> DAVFile:
    """
    Build the L{DAVFile} of a DAV mount of C{path}.

    @raise ValueError: the directory does not exist, or an option is wrong.
    """
    settings = {}
    readOnly = bool(config.get("dav-readonly", False)) if config is not None else False
    settings["readOnly"] = readOnly
    for key, value in options.items():
        known = _MOUNT_OPTIONS.get(key.replace("_", "-"))
        if known is None:
            names = ", ".join(k for k in _MOUNT_OPTIONS if k != "read-only")
            raise ValueError(f"unknown dav mount option {key!r} (known: {names})")
        name, coerce = known
        settings[name] = coerce(value)
    if not path:
        raise ValueError("dav: needs a directory, e.g. dav:./shared")
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise ValueError(f"{path} is not a directory")
    return DAVFile(path, **settings)


def _davMount(argument: str, config, **options):
    return makeDAV(argument, config, **options)


_davMount.pathArgument = True


def web2_mount_kinds():
    return {"dav": _davMount}


def web2_mounts(config):
    path = config.get("dav")
    if not path:
        return []
    return [("/", makeDAV(path, config))]
