# -*- test-case-name: test_mount -*-
"""
Mounts: put resources at paths of one site.

L{MountTree} is the root resource of a site assembled from mounts: it hands
each request to the resource mounted at the longest path that is a prefix
(in whole segments) of the request's path, or to the one mounted at C{/}.
L{resolveMounts} turns the configured L{web2.config.MountSpec}s and the
plugins' own mounts into resources, with precise errors.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping

from zope.interface import implementer

from web2 import responsecode
from web2.config import ConfigError, MountSpec, normalizeMountPath, resolvePath
from web2.iweb import IResource

__all__ = ["KIND_PROVIDERS", "MountTree", "buildRoot", "resolveMounts"]

#: Mount kinds whose package is known though perhaps not installed, so that
#: an unknown kind can be answered with "pip install ...".
KIND_PROVIDERS: dict[str, str] = {
    "static": "web2-static",
    "file": "web2-static",
    "data": "web2-static",
    "wsgi": "web2-wsgi",
    "asgi": "web2-asgi",
    "cgi": "web2-cgi",
    "cgi-script": "web2-cgi",
    "dav": "web2-dav",
    "twistedweb": "web2-compat",
    "twisted-web": "web2-compat",
    "rpy": "web2-compat",
}


def _segments(path: str) -> tuple[str, ...]:
    return () if path == "/" else tuple(path[1:].split("/"))


@implementer(IResource)
class MountTree:
    """
    Dispatch by the longest mounted path prefix.

    The mounted resource sees its own prefix consumed: C{request.prepath}
    ends with the mount's segments and C{request.postpath} holds the rest,
    exactly as if it had been found as a child at that path.

    @ivar mounts: mount path -> resource.
    """

    def __init__(self, mounts: Mapping[str, object] = {}):
        self.mounts: dict[str, object] = {}
        self._root = None
        # First segment -> ((depth, segments, resource), ...), deepest first:
        # most requests name a first segment no mount starts with, and are
        # the root's after one dictionary lookup.
        self._byFirst: dict[str, tuple[tuple[int, tuple[str, ...], object], ...]] = {}
        for path, resource in mounts.items():
            self.mount(path, resource)

    def mount(self, path: str, resource) -> None:
        """
        Mount C{resource} at C{path}.

        @raise ConfigError: the path is malformed or already mounted.
        """
        path = normalizeMountPath(path, "mount")
        if path in self.mounts:
            raise ConfigError(f"two mounts at the same path {path!r}")
        resource = IResource(resource)
        self.mounts[path] = resource
        segments = _segments(path)
        if not segments:
            self._root = resource
            return
        below = self._byFirst.get(segments[0], ()) + ((len(segments), segments, resource),)
        self._byFirst[segments[0]] = tuple(sorted(below, key=lambda m: -m[0]))

    def locateChild(self, request, segments):
        candidates = self._byFirst.get(segments[0]) if segments else None
        if candidates is not None:
            segments = tuple(segments)
            for depth, mounted, resource in candidates:
                if depth == 1 or segments[:depth] == mounted:
                    return resource, segments[depth:]
        if self._root is not None:
            return self._root, segments
        return None, ()

    def renderHTTP(self, request):
        from web2 import http

        if self._root is not None:
            return self._root
        return http.StatusResponse(responsecode.NOT_FOUND, "Nothing is mounted here.")

    def __repr__(self) -> str:
        return f"<MountTree {sorted(self.mounts)}>"


def _unknownKind(spec: MountSpec, kinds: Mapping) -> ConfigError:
    message = (f"{spec.source}: unknown mount kind {spec.kind!r} "
               f"(known kinds: {', '.join(sorted(kinds)) or 'none'})")
    provider = KIND_PROVIDERS.get(spec.kind)
    if provider:
        message += f"; it is provided by {provider}: pip install {provider}"
    return ConfigError(message)


def _make(spec: MountSpec, factory, config):
    argument = spec.argument
    if getattr(factory, "pathArgument", False):
        argument = resolvePath(argument, spec.base)
    try:
        inspect.signature(factory).bind(argument, config, **spec.options)
    except TypeError:
        raise ConfigError(
            f"{spec.source}: mount kind {spec.kind!r} does not accept the options "
            f"{', '.join(sorted(spec.options))}") from None
    except ValueError:
        pass  # no signature to check (a builtin): let the call decide
    try:
        resource = factory(argument, config, **spec.options)
    except (ValueError, ConfigError, ImportError, AttributeError) as e:
        raise ConfigError(f"{spec.source}: {e}") from None
    if IResource(resource, None) is None:
        raise ConfigError(
            f"{spec.source}: mount kind {spec.kind!r} made {resource!r}, not a resource")
    return resource


def resolveMounts(
    specs: Iterable[MountSpec],
    kinds: Mapping[str, object],
    config,
    pluginMounts: Iterable[tuple[str, object, str]] = (),
) -> list[tuple[str, object, str]]:
    """
    Build the resources of every mount.

    @param specs: the configured mounts.
    @param kinds: mount kind -> factory (from C{web2_mount_kinds}).
    @param config: the L{web2.config.SiteConfig}, handed to the factories.
    @param pluginMounts: C{(path, resource, pluginName)} from C{web2_mounts}.
    @return: C{(path, resource, source)} for every mount.
    @raise ConfigError: an unknown kind, a bad argument, or two mounts at one
        path (the message names both sources).
    """
    result: list[tuple[str, object, str]] = []
    sources: dict[str, str] = {}

    def add(path, resource, source):
        if path in sources:
            raise ConfigError(
                f"two mounts at the same path {path!r}: {sources[path]} and {source}")
        sources[path] = source
        result.append((path, resource, source))

    for spec in specs:
        factory = kinds.get(spec.kind)
        if factory is None:
            raise _unknownKind(spec, kinds)
        add(spec.path, _make(spec, factory, config), spec.source)
    for path, resource, plugin in pluginMounts:
        source = f"plugin {plugin!r}"
        path = normalizeMountPath(path, source)
        if IResource(resource, None) is None:
            raise ConfigError(f"{source} mounted {resource!r} at {path!r}, not a resource")
        add(path, resource, source)
    return result


def buildRoot(mounts: list[tuple[str, object, str]]):
    """
    The root resource for C{mounts}: the resource itself when the only mount
    is at C{/}, otherwise a L{MountTree}.
    """
    if len(mounts) == 1 and mounts[0][0] == "/":
        return IResource(mounts[0][1])
    return MountTree({path: resource for path, resource, _ in mounts})
