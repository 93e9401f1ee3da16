# -*- test-case-name: test_static_plugin -*-
"""
web2-static's plugin: what it contributes to the web2 plugin host.

Mount kinds (C{--mount PATH=KIND:ARGUMENT}, or C{[mounts]} in a site file):

  - C{static:DIR_OR_FILE}: a L{web2.static.File};
  - C{file:FILE}: the same, for a single regular file;
  - C{data:TEXT}: the text itself, as a L{web2.static.Data} (option
    C{content-type}, plain UTF-8 text by default).

The shortcut C{--path DIR} mounts C{static:DIR} at C{/}.  The other options
(C{--listing}, C{--index}, C{--mime-type}, ...) are the defaults of every
static mount; in a site file, a mount's own table may override them::

    [mounts."/pub"]
    kind = "static"
    argument = "/srv/pub"
    listing = true
    index = ["README.html"]

All static mounts of one site share one memory cache of small files,
bounded by C{--cache-max-size}.
"""

from __future__ import annotations

import os
import weakref

from twisted.python.reflect import namedAny

from web2.hookspecs import Option
from web2.static import mime
from web2.static.cache import FileCache
from web2.static.data import Data
from web2.static.file import File


def _nonNegativeInt(text) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must not be negative, not {value}")
    return value


def _processorOption(text: str):
    ext, sep, name = text.partition("=")
    if not sep or not ext.strip(".") or not name:
        raise ValueError(f"expected .EXT=package.module.callable, not {text!r}")
    return mime.normalizeExtension(ext), name.strip()


_OPTIONS = [
    Option("path", help="Serve this directory (or file) at /."),
    Option("listing", flag=True, help="List directories that have no index file."),
    Option("no-listing", flag=True, help="Never list directories (the default)."),
    Option("index", multiple=True,
           help="An index file name, tried in order (default index.html, index.htm)."),
    Option("mime-type", multiple=True, coerce=mime.parseMimeOption,
           help="Serve files ending in EXT as TYPE: EXT=TYPE, e.g. .md=text/plain."),
    Option("default-type", default=mime.DEFAULT_TYPE,
           help="The type of files with an unknown extension."),
    Option("ignore-ext", multiple=True,
           help="An extension URLs may leave out (e.g. .html); * for any."),
    Option("processor", multiple=True, coerce=_processorOption,
           help="Hand files ending in EXT to a resource factory: .EXT=package.module.name."),
    Option("show-hidden", flag=True, help="Serve and list files whose names start with a dot."),
    Option("follow-symlinks", flag=True,
           help="Follow symbolic links that lead out of the served directory."),
    Option("no-precompressed", flag=True,
           help="Do not serve NAME.br/.zst/.gz variants found beside NAME."),
    Option("cache-max-size", default=32 * 1024 * 1024, coerce=_nonNegativeInt,
           help="Bytes of small files kept in memory, for all static mounts (0: none)."),
    Option("cache-max-entry-size", default=256 * 1024, coerce=_nonNegativeInt,
           help="The largest file kept in memory, in bytes."),
    Option("cache-control", help="A Cache-Control value for static files, e.g. max-age=3600."),
]


def web2_options():
    return list(_OPTIONS)


# The memory cache shared by the static mounts of one site configuration:
# id(config) -> (weak reference to the config, cache); an entry goes away
# with its configuration.
_caches: dict = {}


def _cacheFor(config):
    key = id(config)
    held = _caches.get(key)
    if held is not None and held[0]() is config:
        return held[1]
    maxSize = _get(config, "cache-max-size", 32 * 1024 * 1024)
    maxEntry = _get(config, "cache-max-entry-size", 256 * 1024)
    cache = FileCache(maxSize, maxEntry) if maxSize and maxEntry else None
    if config is not None:
        _caches[key] = (weakref.ref(config), cache)
        weakref.finalize(config, _caches.pop, key, None)
    return cache


def _get(config, name, default=None):
    if config is None:
        return default
    value = config.get(name, default)
    return default if value is None else value


def _asList(value):
    if value is None:
        return []
    if isinstance(value, (str, tuple)):
        return [value]
    return list(value)


def _mimeOverrides(value) -> dict:
    if isinstance(value, dict):
        return {mime.normalizeExtension(k): v for k, v in value.items()}
    overrides = {}
    for item in _asList(value):
        ext, kind = mime.parseMimeOption(item) if isinstance(item, str) else item
        overrides[ext] = kind
    return overrides


def _processors(value) -> dict:
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = [_processorOption(v) if isinstance(v, str) else v for v in _asList(value)]
    processors = {}
    for ext, name in items:
        if callable(name):
            processors[mime.normalizeExtension(ext)] = name
            continue
        try:
            processors[mime.normalizeExtension(ext)] = namedAny(name)
        except (ImportError, AttributeError, ValueError) as e:
            raise ValueError(f"cannot find processor {name!r} for {ext}: {e}") from None
    return processors


# Mount option (as in a site file, dashes or underscores) -> site option.
_MOUNT_OPTIONS = {
    "listing": "listing",
    "index": "index",
    "mime-type": "mime-type",
    "mime-types": "mime-type",
    "default-type": "default-type",
    "ignore-ext": "ignore-ext",
    "processor": "processor",
    "processors": "processor",
    "show-hidden": "show-hidden",
    "follow-symlinks": "follow-symlinks",
    "precompressed": "precompressed",
    "cache-control": "cache-control",
}


def makeStatic(path: str, config=None, **options) -> File:
    """
    Build the L{File} for a static mount of C{path} from the site's static
    options (C{config}) overridden by the mount's own C{options}.

    @raise ValueError: the path does not exist, or an option is wrong.
    """
    settings = {}
    for key, value in options.items():
        name = _MOUNT_OPTIONS.get(key.replace("_", "-"))
        if name is None:
            known = ", ".join(sorted(k for k in _MOUNT_OPTIONS if "_" not in k))
            raise ValueError(f"unknown static mount option {key!r} (known: {known})")
        settings[name] = value

    def setting(name, default=None):
        if name in settings:
            return settings[name]
        return _get(config, name, default)

    if not path:
        raise ValueError("static: needs a directory or file, e.g. static:./public")
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise ValueError(f"{path} does not exist")
    listing = bool(setting("listing", False))
    if "listing" not in settings and setting("no-listing", False):
        listing = False
    precompressed = settings.get("precompressed", not _get(config, "no-precompressed", False))
    index = _asList(setting("index"))
    return File(
        path,
        defaultType=setting("default-type", mime.DEFAULT_TYPE),
        ignoredExts=_asList(setting("ignore-ext")),
        processors=_processors(setting("processor")),
        indexNames=index or None,
        listing=listing,
        showHidden=bool(setting("show-hidden", False)),
        followSymlinks=bool(setting("follow-symlinks", False)),
        contentTypes=_mimeOverrides(setting("mime-type")),
        precompressed=bool(precompressed),
        cache=_cacheFor(config),
        cacheControl=setting("cache-control"),
    )


def _staticMount(argument: str, config, **options):
    return makeStatic(argument, config, **options)


_staticMount.pathArgument = True


def _fileMount(argument: str, config, **options):
    if argument and not os.path.isfile(os.path.expanduser(argument)):
        raise ValueError(f"file: {argument} is not a regular file")
    return makeStatic(argument, config, **options)


_fileMount.pathArgument = True


def _dataMount(argument: str, config, **options):
    contentType = "text/plain; charset=utf-8"
    for key, value in options.items():
        if key.replace("_", "-") != "content-type":
            raise ValueError(f"unknown data mount option {key!r} (known: content-type)")
        contentType = value
    if not isinstance(contentType, str) or "/" not in contentType:
        raise ValueError(f"content-type {contentType!r} is not TYPE/SUBTYPE")
    return Data(argument.encode("utf-8"), contentType)


def web2_mount_kinds():
    return {"static": _staticMount, "file": _fileMount, "data": _dataMount}


def web2_mounts(config):
    path = config.get("path")
    if not path:
        return []
    return [("/", makeStatic(path, config))]
