"""
Tests for L{web2.plugins}: loading plugins from entry points, one by one,
with precise errors.
"""

import importlib.metadata
import itertools
import textwrap

import pytest
from twisted.logger import LogLevel, globalLogPublisher

from web2 import coreplugin, plugins
from web2.plugins import PluginError, build_plugin_manager, describe_plugins

_counter = itertools.count()


@pytest.fixture
def entryPoints(tmp_path, monkeypatch):
    """
    Install fake plugins: C{add(name, source, dist="dist-x", version="1.2")}
    writes a module and exposes it as an entry point of the group web2.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("WEB2_PLUGINS", raising=False)
    monkeypatch.delenv("WEB2_DISABLE_PLUGINS", raising=False)
    eps = []

    def add(name, source, dist="dist-x", version="1.2"):
        module = f"_web2_fake_plugin_{next(_counter)}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        ep = importlib.metadata.EntryPoint(name, module, plugins.ENTRY_POINT_GROUP)
        eps.append((ep, dist, version))
        return module

    monkeypatch.setattr(plugins, "_entryPoints", lambda: list(eps))
    return add


GOOD = """
    from web2.hookspecs import Option
    def web2_options():
        return [Option("greeting")]
    def web2_mount_kinds():
        return {"hello": lambda argument, config: None}
"""


def test_coreAlwaysRegistered():
    """
    Without entry points, the manager has the built-in core plugin, from
    web2-core, with its mount kinds and log formats.
    """
    pm = build_plugin_manager(load_entrypoints=False)
    assert pm.get_plugin("core") is coreplugin
    assert pm.distributions["core"][0] == "web2-core"
    kinds = {}
    for result in pm.hook.web2_mount_kinds():
        kinds.update(result)
    assert {"class", "redirect", "plugins", "text"} <= set(kinds)


def test_coreCanBeDisabled():
    pm = build_plugin_manager(load_entrypoints=False, disabled=["core"])
    assert not pm.has_plugin("core")


def test_loadsEntryPoints(entryPoints):
    """
    Each entry point of the group is registered under its name, with its
    distribution and version remembered.
    """
    module = entryPoints("hello", GOOD)
    pm = build_plugin_manager()
    assert pm.get_plugin("hello").__name__ == module
    assert pm.distributions["hello"] == ("dist-x", "1.2")
    [options] = [
        r for r in pm.hook.web2_options() if r and r[0].name not in ("trusted-proxy", "gzip", "vhost")
    ]
    assert options[0].name == "greeting"


def test_pluginWithoutHooks(entryPoints):
    """
    A plugin that implements no hook (a bare docstring) loads and is listed.
    """
    entryPoints("empty", '"""nothing yet"""')
    pm = build_plugin_manager()
    [info] = [i for i in describe_plugins(pm) if i.name == "empty"]
    assert info.hooks == () and info.error is None


def test_importErrorIsFatal(entryPoints):
    """
    A plugin whose import fails stops the host with a message naming the
    plugin, its distribution and version, and the error.
    """
    entryPoints("broken", "import no_such_module_for_web2_tests", dist="web2-broken",
                version="0.3")
    with pytest.raises(PluginError) as e:
        build_plugin_manager()
    assert str(e.value) == (
        "plugin 'broken' (web2-broken 0.3) failed to load: ModuleNotFoundError: "
        "No module named 'no_such_module_for_web2_tests'")


def test_skipBroken(entryPoints):
    """
    With C{skip_broken}, the broken plugin is left out with a logged warning
    and the others load.
    """
    entryPoints("broken", "raise RuntimeError('boom')")
    entryPoints("hello", GOOD)
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        pm = build_plugin_manager(skip_broken=True)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert pm.has_plugin("hello") and not pm.has_plugin("broken")
    [failure] = pm.failures
    assert failure.message.endswith("failed to load: RuntimeError: boom")
    warnings = [e for e in events if e.get("log_level") == LogLevel.warn]
    assert any("boom" in e["message"] for e in warnings)
    infos = describe_plugins(pm)
    assert infos[-1].name == "broken" and "boom" in infos[-1].error


def test_unknownHookIsAnError(entryPoints):
    """
    A C{web2_*} function that is no hook (a typo) is reported, naming it.
    """
    entryPoints("typo", "def web2_mount_kind():\n    return {}\n")
    with pytest.raises(PluginError) as e:
        build_plugin_manager()
    assert "plugin 'typo' (dist-x 1.2) is not valid" in str(e.value)
    assert "'web2_mount_kind' is not a web2 hook" in str(e.value)


def test_unknownHookArgument(entryPoints):
    """
    An implementation asking for a parameter its hook does not have is
    reported.
    """
    entryPoints("badarg", "def web2_mounts(config, colour):\n    return []\n")
    with pytest.raises(PluginError) as e:
        build_plugin_manager()
    assert "plugin 'badarg'" in str(e.value) and "colour" in str(e.value)


def test_privateFunctionsIgnored(entryPoints):
    """
    Functions without the web2_ prefix are not taken as hooks.
    """
    entryPoints("helper", "def mounts():\n    return 1\ndef _web2_x():\n    pass\n")
    pm = build_plugin_manager()
    assert pm.has_plugin("helper")


def test_disabledAndOnly(entryPoints, monkeypatch):
    """
    C{disabled}, C{only}, C{WEB2_DISABLE_PLUGINS} and C{WEB2_PLUGINS} choose
    the entry-point plugins; a disabled broken plugin is not even imported.
    """
    entryPoints("a", GOOD)
    entryPoints("b", '"""b"""')
    entryPoints("broken", "raise ImportError('never imported')")
    assert not build_plugin_manager(disabled=["a", "broken"]).has_plugin("a")
    pm = build_plugin_manager(only=["b"])
    assert pm.has_plugin("b") and not pm.has_plugin("a") and pm.has_plugin("core")
    monkeypatch.setenv("WEB2_DISABLE_PLUGINS", "broken, b")
    pm = build_plugin_manager()
    assert pm.has_plugin("a") and not pm.has_plugin("b")
    monkeypatch.delenv("WEB2_DISABLE_PLUGINS")
    monkeypatch.setenv("WEB2_PLUGINS", "a")
    pm = build_plugin_manager()
    assert pm.has_plugin("a") and not pm.has_plugin("b")


def test_sameNameLoadedOnce(entryPoints):
    """
    A second entry point with a name already registered is ignored (the
    same distribution found twice on the path).
    """
    entryPoints("hello", GOOD)
    entryPoints("hello", "raise ImportError('second copy')")
    assert build_plugin_manager().has_plugin("hello")


def test_hookimplOptions(entryPoints):
    """
    Plugins may use the marker for ordering; plain and marked
    implementations mix.
    """
    entryPoints("first", """
        from web2.hookspecs import hookimpl
        @hookimpl(tryfirst=True)
        def web2_response_filters(config):
            return ["first"]
    """)
    entryPoints("plain", "def web2_response_filters(config):\n    return ['plain']\n")
    pm = build_plugin_manager()
    assert pm.hook.web2_response_filters(config=None) == [["first"], ["plain"]]


def test_formatPluginList(entryPoints):
    entryPoints("hello", GOOD, dist="hello-dist", version="2.0")
    entryPoints("broken", "raise ValueError('bad')")
    text = plugins.formatPluginList(describe_plugins(build_plugin_manager(skip_broken=True)))
    assert "hello  (hello-dist 2.0)" in text
    assert "hooks: web2_mount_kinds, web2_options" in text
    assert "broken  (dist-x 1.2)  BROKEN" in text
    assert "ValueError: bad" in text


def test_notBuiltAtImport():
    """
    Importing the host builds nothing: there is no module-level manager.
    """
    assert not [v for v in vars(plugins).values()
                if isinstance(v, plugins.Web2PluginManager)]
