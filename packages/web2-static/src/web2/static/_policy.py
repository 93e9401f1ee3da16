# -*- test-case-name: test_static_file -*-
"""
The settings a L{web2.static.File} shares with every file below it, and the
small decisions made from them: the status for an operating-system error,
and which precompressed variant a request accepts.

A L{Policy} is immutable: a File and the children it creates share one, and
changing a setting on a File (C{file.indexNames = [...]}) gives that File a
changed copy.  Nothing is shared by accident between unrelated roots, which
was twisted.web2's class-level C{processors} bug.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from twisted.logger import Logger

from web2 import http, responsecode

log = Logger()

#: Status for an C{OSError} met while looking up or opening a file.  An
#: errno missing here is logged and answered with 404: whatever the file
#: system says, the client never sees a 500 for a static file.
ERRNO_STATUS: Mapping[int, int] = MappingProxyType({
    errno.EACCES: responsecode.FORBIDDEN,
    errno.EPERM: responsecode.FORBIDDEN,
    errno.ENOENT: responsecode.NOT_FOUND,
    errno.ENOTDIR: responsecode.NOT_FOUND,
    errno.ELOOP: responsecode.NOT_FOUND,
    errno.ENAMETOOLONG: responsecode.NOT_FOUND,
    errno.EISDIR: responsecode.NOT_FOUND,
    errno.EINVAL: responsecode.NOT_FOUND,
    errno.ENXIO: responsecode.NOT_FOUND,
    errno.ENODEV: responsecode.NOT_FOUND,
    errno.EMFILE: responsecode.SERVICE_UNAVAILABLE,
    errno.ENFILE: responsecode.SERVICE_UNAVAILABLE,
    errno.ENOMEM: responsecode.SERVICE_UNAVAILABLE,
})

_MESSAGES = {
    responsecode.FORBIDDEN: "You may not read this file.",
    responsecode.NOT_FOUND: "There is no such file.",
    responsecode.SERVICE_UNAVAILABLE: "The server is short of resources; try again later.",
}


def errorFor(error: OSError) -> http.HTTPError:
    """
    The L{http.HTTPError} to raise for C{error}; the message never names
    a path on the server.
    """
    code = ERRNO_STATUS.get(error.errno)
    if code is None:
        log.warn("Unexpected error reading a static file: {error}", error=error)
        code = responsecode.NOT_FOUND
    return http.HTTPError(code, _MESSAGES[code])


#: The precompressed variants looked for by default, most preferred first:
#: the Content-Coding and the suffix of the sibling file.
DEFAULT_PRECOMPRESSED = (("br", ".br"), ("zstd", ".zst"), ("gzip", ".gz"))


def _deferToThread(f, *args):
    from twisted.internet import threads

    return threads.deferToThread(f, *args)


def _headerTemplates():
    from web2.static.cache import HeaderTemplates

    return HeaderTemplates()


def _knownChildren():
    from web2.static.cache import KnownChildren

    return KnownChildren()


def _variantFinder():
    from web2.static.variants import VariantFinder

    return VariantFinder()


def _normalizeExt(ext: str) -> str:
    if ext == "*":
        return ext
    ext = ext.lower()
    return ext if ext.startswith(".") else "." + ext


@dataclass(frozen=True)
class Policy:
    """
    The settings of a static tree; see L{web2.static.File} for each.
    """

    root: str
    defaultType: str
    contentTypes: Mapping[str, str]
    ignoredExts: tuple = ()
    processors: Mapping[str, Callable] = field(default_factory=lambda: MappingProxyType({}))
    indexNames: tuple = ("index.html", "index.htm")
    listing: bool = False
    showHidden: bool = False
    allowHidden: frozenset = frozenset({".well-known"})
    followSymlinks: bool = False
    precompressed: tuple = DEFAULT_PRECOMPRESSED
    cache: Any = None
    cacheControl: str | None = None
    runInThread: Callable = _deferToThread
    maxListingEntries: int = 10000
    headerTemplates: Any = field(default_factory=_headerTemplates, compare=False)
    variantFinder: Any = field(default_factory=_variantFinder, compare=False)
    knownChildren: Any = field(default_factory=_knownChildren, compare=False)

    def changed(self, **changes) -> Policy:
        """
        A copy with C{changes} applied (normalized like the constructor's),
        with its own header templates and remembered children, which
        depend on the settings.
        """
        return replace(self, headerTemplates=_headerTemplates(),
                       knownChildren=_knownChildren(), **normalize(changes))


def normalize(settings: dict) -> dict:
    """
    Bring user-given settings to the form a L{Policy} stores: read-only
    mappings, tuples, extensions in lower case with their dot.
    """
    out = dict(settings)
    if "ignoredExts" in out:
        out["ignoredExts"] = tuple(_normalizeExt(e) for e in out["ignoredExts"])
    if "processors" in out:
        out["processors"] = MappingProxyType(
            {_normalizeExt(k): v for k, v in (out["processors"] or {}).items()}
        )
    if "contentTypes" in out:
        out["contentTypes"] = MappingProxyType(dict(out["contentTypes"]))
    if "indexNames" in out:
        out["indexNames"] = tuple(out["indexNames"])
    if "allowHidden" in out:
        out["allowHidden"] = frozenset(out["allowHidden"])
    if "precompressed" in out:
        value = out["precompressed"]
        if value is True:
            value = DEFAULT_PRECOMPRESSED
        elif not value:
            value = ()
        out["precompressed"] = tuple(
            (coding.lower(), suffix) for coding, suffix in value
        )
    return out
