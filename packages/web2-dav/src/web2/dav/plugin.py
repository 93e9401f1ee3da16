# -*- test-case-name: test_dav_plugin -*-
"""
web2-dav's plugin: what it contributes to the web2 plugin host.

  - the mount kind C{dav:DIR} (C{--mount /files=dav:/srv/files}, or a
    C{[mounts]} table with C{kind = "dav"}; mount options C{readonly},
    C{allow-infinite-depth}, C{max-upload-size}, C{max-locks},
    C{orphan-scan-limit});
  - C{--dav DIR}: mount C{dav:DIR} at C{/};
  - C{--dav-readonly}: every DAV mount answers only OPTIONS, GET, HEAD and
    PROPFIND (a mount's own C{readonly} overrides it);
  - C{--dav-max-upload-size BYTES}: the largest PUT body of every DAV
    mount (a mount's own C{max-upload-size} overrides it).

Sizes are bytes; C{0}, C{"unlimited"} or C{"none"} mean no cap (as 0 does
for Apache's C{LimitRequestBody} and nginx's C{client_max_body_size}).
"""

from __future__ import annotations

import os

from web2.dav.resource import DAVFile
from web2.hookspecs import Option


def _count(text) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must not be negative, not {value}")
    return value


def _uploadSize(text) -> int:
    """
    A byte count, C{0} for no cap (also spelt C{unlimited} or C{none}, so
    that the command line can say it: an option coerced to C{None} would
    look as if it had not been given).
    """
    if isinstance(text, str) and text.strip().lower() in ("none", "unlimited"):
        return 0
    return _count(text)


def _optionalCap(text) -> int | None:
    """
    A byte count, C{None} for no cap.
    """
    return _uploadSize(text) or None


def _optionalCount(text) -> int | None:
    """
    A count, C{None} for C{unlimited} or C{none}.
    """
    if isinstance(text, str) and text.strip().lower() in ("none", "unlimited"):
        return None
    return _count(text)


_OPTIONS = [
    Option("dav", help="Serve this directory over WebDAV at /."),
    Option("dav-readonly", flag=True,
           help="WebDAV mounts are read-only (OPTIONS, GET, HEAD, PROPFIND)."),
    Option("dav-max-upload-size", coerce=_uploadSize,
           help="The largest PUT body of every WebDAV mount, in bytes; 0 or 'unlimited' "
                "for no cap (default 1073741824, 1 GiB)."),
]

# Mount option (dashes or underscores) -> DAVFile keyword and its coercion.
_MOUNT_OPTIONS = {
    "readonly": ("readOnly", bool),
    "read-only": ("readOnly", bool),
    "allow-infinite-depth": ("allowInfiniteDepth", bool),
    "max-upload-size": ("maxUploadSize", _optionalCap),
    "max-locks": ("maxLocks", _count),
    "orphan-scan-limit": ("orphanScanLimit", _optionalCount),
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
    uploads = config.get("dav-max-upload-size") if config is not None else None
    if uploads is not None:
        settings["maxUploadSize"] = _optionalCap(uploads)
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
