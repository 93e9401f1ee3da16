# -*- test-case-name: test_plugins -*-
"""
The plugin host: find, load and describe the plugins of web2.

A plugin is a module named by an entry point of the group C{web2} (see
L{web2.hookspecs} for what it may implement).  web2-core's own features come
in the same way, through its built-in plugin L{web2.coreplugin}, registered
explicitly under the name C{core}.

Nothing is loaded at import time: the host calls L{build_plugin_manager}
once when it starts.  Two environment variables steer it:

  - C{WEB2_DISABLE_PLUGINS=a,b}: never load the plugins named C{a} and
    C{b} (entry-point names, as C{--list-plugins} shows them);
  - C{WEB2_PLUGINS=a,b}: load only these entry-point plugins (the built-in
    C{core} plugin is always loaded unless disabled).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pluggy
from twisted.logger import Logger

from web2 import hookspecs
from web2._version import __version__ as _coreVersion
from web2.hookspecs import PROJECT_NAME, Option, hookimpl

__all__ = [
    "ENTRY_POINT_GROUP",
    "Option",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "Web2PluginManager",
    "build_plugin_manager",
    "describe_plugins",
    "formatPluginList",
    "hookimpl",
]

log = Logger(namespace=__name__)

#: The entry-point group plugins register in.
ENTRY_POINT_GROUP = "web2"

#: The name of web2-core's built-in plugin.
CORE_PLUGIN = "core"

_DEFAULT_IMPL_OPTS = getattr(hookimpl(lambda: None), PROJECT_NAME + "_impl")


class PluginError(Exception):
    """
    A plugin could not be loaded or is not valid.  The message names the
    plugin, its distribution and the problem, ready to be shown to an
    operator.
    """


@dataclass(frozen=True)
class PluginFailure:
    """
    A plugin that failed to load.

    @ivar name: its entry-point name.
    @ivar distribution: the name of the distribution that declares it.
    @ivar version: that distribution's version.
    @ivar message: the full, one-line report.
    """

    name: str
    distribution: str
    version: str
    message: str


@dataclass(frozen=True)
class PluginInfo:
    """
    What C{--list-plugins} says about one plugin.

    @ivar hooks: the names of the hooks it implements, sorted.
    @ivar error: why it failed to load, or C{None} when it is loaded.
    @ivar kinds: the mount kinds it provides (C{web2_mount_kinds}), sorted.
    """

    name: str
    distribution: str
    version: str
    module: str
    hooks: tuple[str, ...] = ()
    error: str | None = None
    kinds: tuple[str, ...] = ()


class Web2PluginManager(pluggy.PluginManager):
    """
    A pluggy manager that also takes plain functions named C{web2_*} as hook
    implementations (so that a typo in a hook name is caught by
    C{check_pending}), and remembers which distribution each plugin came
    from and which plugins failed.

    @ivar distributions: plugin name -> C{(distribution, version)}.
    @ivar failures: the L{PluginFailure}s of plugins that were skipped.
    """

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.distributions: dict[str, tuple[str, str]] = {}
        self.failures: list[PluginFailure] = []

    def parse_hookimpl_opts(self, plugin, name):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(PROJECT_NAME + "_"):
            value = inspect.getattr_static(plugin, name, None)
            if inspect.isfunction(value):
                return dict(_DEFAULT_IMPL_OPTS)
        return opts

    def registerPlugin(self, module, name: str, distribution: str, version: str):
        """
        Register C{module} as plugin C{name}, checking that every C{web2_*}
        function in it is a known hook with known parameters.

        @raise PluginError: when it is not valid; nothing stays registered.
        """
        try:
            self.register(module, name=name)
        except (pluggy.PluginValidationError, ValueError) as e:
            raise PluginError(
                _failureMessage(name, distribution, version, "is not valid", e)
            ) from None
        try:
            self._checkPlugin(module)
        except pluggy.PluginValidationError as e:
            self.unregister(module)
            raise PluginError(
                _failureMessage(name, distribution, version, "is not valid", e)
            ) from None
        self.distributions[name] = (distribution, version)

    def _checkPlugin(self, module) -> None:
        for hookcaller in self.get_hookcallers(module) or ():
            if not hookcaller.has_spec():
                raise pluggy.PluginValidationError(
                    module,
                    f"{hookcaller.name!r} is not a web2 hook "
                    f"(the hooks are: {', '.join(_hookNames())})",
                )


def _hookNames() -> list[str]:
    return sorted(n for n in vars(hookspecs) if n.startswith(PROJECT_NAME + "_"))


def _failureMessage(name, distribution, version, what, error) -> str:
    return (
        f"plugin {name!r} ({distribution} {version}) {what}: "
        f"{type(error).__name__}: {error}"
    )


def _envList(name: str) -> list[str]:
    return [p.strip() for p in os.environ.get(name, "").split(",") if p.strip()]


def _entryPoints() -> Iterable[tuple[importlib.metadata.EntryPoint, str, str]]:
    """
    The entry points of the group C{web2} of every installed distribution,
    as C{(entryPoint, distributionName, version)}; a distribution found
    twice on C{sys.path} is reported once.
    """
    seen = set()
    for dist in importlib.metadata.distributions():
        distName = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            key = (distName, ep.name, ep.value)
            if key in seen:
                continue
            seen.add(key)
            yield ep, distName, dist.version


def build_plugin_manager(
    *,
    load_entrypoints: bool = True,
    disabled: Iterable[str] = (),
    only: Iterable[str] | None = None,
    skip_broken: bool = False,
    onFailure: Callable[[PluginFailure], None] | None = None,
) -> Web2PluginManager:
    """
    Build the plugin manager of one web2 process.

    @param load_entrypoints: load the plugins of the entry-point group
        C{web2}; without it only the built-in C{core} plugin is registered.
    @param disabled: plugin names never to load (added to
        C{WEB2_DISABLE_PLUGINS}).
    @param only: when given, the only entry-point plugins to load (else
        C{WEB2_PLUGINS}, when set).
    @param skip_broken: log a warning for a plugin that fails to load and go
        on without it, instead of raising L{PluginError}.
    @param onFailure: called with each L{PluginFailure} when C{skip_broken};
        by default the failure is logged as a warning.
    @raise PluginError: a plugin failed to load and C{skip_broken} is false.
    """
    disabled = set(disabled) | set(_envList("WEB2_DISABLE_PLUGINS"))
    if only is None and os.environ.get("WEB2_PLUGINS", "").strip():
        only = _envList("WEB2_PLUGINS")
    only = None if only is None else set(only)
    pm = Web2PluginManager()

    def fail(failure: PluginFailure) -> None:
        if not skip_broken:
            raise PluginError(failure.message)
        pm.failures.append(failure)
        if onFailure is not None:
            onFailure(failure)
        else:
            log.warn("{message}; skipped", message=failure.message)

    if CORE_PLUGIN not in disabled:
        from web2 import coreplugin

        pm.registerPlugin(coreplugin, CORE_PLUGIN, "web2-core", _coreVersion)
    if load_entrypoints:
        for ep, distName, version in _entryPoints():
            name = ep.name
            if name in disabled or pm.has_plugin(name):
                continue
            if only is not None and name not in only:
                continue
            try:
                module = ep.load()
            except Exception as e:
                fail(
                    PluginFailure(
                        name, distName, version,
                        _failureMessage(name, distName, version, "failed to load", e),
                    )
                )
                continue
            try:
                pm.registerPlugin(module, name, distName, version)
            except PluginError as e:
                fail(PluginFailure(name, distName, version, str(e)))
    pm.check_pending()
    return pm


def describe_plugins(pm: Web2PluginManager) -> list[PluginInfo]:
    """
    Describe every plugin of C{pm}, loaded or failed, for C{--list-plugins}
    and the C{plugins} page.

    @return: a list of L{PluginInfo}, loaded plugins first, by name.
    """
    infos = []
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        distribution, version = pm.distributions.get(name, ("?", "?"))
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        infos.append(
            PluginInfo(name, distribution, version, getattr(plugin, "__name__", "?"),
                       tuple(hooks), kinds=_mountKinds(pm, name))
        )
    for failure in sorted(pm.failures, key=lambda f: f.name):
        infos.append(
            PluginInfo(failure.name, failure.distribution, failure.version, "?",
                       error=failure.message)
        )
    return infos


def _mountKinds(pm: Web2PluginManager, name: str) -> tuple[str, ...]:
    """
    The mount kinds the plugin C{name} provides (its C{web2_mount_kinds}
    answer), or C{()} when it provides none or its hook fails.
    """
    for impl in pm.hook.web2_mount_kinds.get_hookimpls():
        if impl.plugin_name == name:
            try:
                return tuple(sorted(impl.function() or ()))
            except Exception:
                return ()
    return ()


def formatPluginList(infos: Iterable[PluginInfo]) -> str:
    """
    Render L{describe_plugins}' result as the text C{--list-plugins} prints:
    one line per plugin, then its mount kinds and its hooks indented.
    """
    lines = []
    for info in infos:
        if info.error is not None:
            lines.append(f"{info.name}  ({info.distribution} {info.version})  BROKEN")
            lines.append(f"    {info.error}")
            continue
        lines.append(
            f"{info.name}  ({info.distribution} {info.version})  {info.module}"
        )
        if info.kinds:
            lines.append("    mount kinds: " + ", ".join(info.kinds))
        lines.append("    hooks: " + (", ".join(info.hooks) or "(none)"))
    return "\n".join(lines)
