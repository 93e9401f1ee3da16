"""
Tests for web2-compat's plugin: its mount kinds (C{twistedweb:}, C{rpy:}),
its options, and the chain from a C{twistd web2} command line or a site
file to a served twisted.web resource.
"""

from __future__ import annotations

import textwrap

import pytest
from _compat_helpers import get
from twisted.internet.testing import MemoryReactorClock
from twisted.web import resource as twresource

from web2.compat import OldResourceAdapter, plugin
from web2.config import ConfigError

_MODULE = '''
from twisted.web import resource


class Hello(resource.Resource):
    isLeaf = True

    def __init__(self, greeting=b"hello"):
        super().__init__()
        self.greeting = greeting

    def render_GET(self, request):
        return self.greeting + b" " + b"/".join(request.postpath)


instance = Hello(b"instance")


def factory():
    return Hello(b"factory")


def notAResource():
    return 42


number = 7
'''

_SCRIPT = '''
from twisted.web import resource as _resource


class Script(_resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"script " + request.method


resource = Script()
'''


@pytest.fixture
def appModule(tmp_path, monkeypatch):
    name = "compat_plugin_testapp"
    (tmp_path / f"{name}.py").write_text(_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "app.rpy"
    path.write_text(_SCRIPT)
    return path


def _service(args, tmp_path=None, configText=None):
    from web2 import tap
    from web2.plugins import build_plugin_manager

    if configText is not None:
        path = tmp_path / "site.toml"
        path.write_text(configText)
        args = ["--config", str(path)] + args
    options = tap.makeOptionsClass(build_plugin_manager(only=["compat"]))()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"] + args)
    return tap.buildService(options, reactor=MemoryReactorClock())


def test_pluginIsRegistered():
    from web2.plugins import build_plugin_manager

    pm = build_plugin_manager(only=["compat"])
    assert pm.get_plugin("compat") is plugin


def test_kindsAndOptions():
    assert set(plugin.web2_mount_kinds()) == {"twistedweb", "twisted-web", "rpy"}
    assert {o.name for o in plugin.web2_options()} == {
        "twisted-web-class", "twisted-web-max-body", "twisted-web-session-timeout",
        "twisted-web-max-sessions"}


def test_loadTwistedWebResource(appModule):
    assert plugin.loadTwistedWebResource(f"{appModule}.instance").greeting == b"instance"
    assert plugin.loadTwistedWebResource(f"{appModule}.factory").greeting == b"factory"
    assert plugin.loadTwistedWebResource(f"{appModule}.Hello").greeting == b"hello"
    for bad in ["", "nodot", f"{appModule}.missing", "no_such_module_x.y",
                f"{appModule}.notAResource", f"{appModule}.number"]:
        with pytest.raises(ValueError):
            plugin.loadTwistedWebResource(bad)


def test_loadResourceScript(script, tmp_path):
    loaded = plugin.loadResourceScript(str(script))
    assert get(loaded, "/").body == b"script GET"
    # The wrapper is not a leaf itself: mount it as a child, as twistd web
    # would serve it.
    reloading = twresource.Resource()
    reloading.putChild(b"app", plugin.loadResourceScript(str(script), reload=True))
    assert get(reloading, "/app").body == b"script GET"
    script.write_text(_SCRIPT.replace("script ", "edited "))
    assert get(reloading, "/app").body == b"edited GET"
    assert get(loaded, "/").body == b"script GET"
    with pytest.raises(ValueError):
        plugin.loadResourceScript(str(tmp_path / "missing.rpy"))
    with pytest.raises(ValueError):
        plugin.loadResourceScript("")
    broken = tmp_path / "broken.rpy"
    broken.write_text("raise RuntimeError('no')\n")
    with pytest.raises(ValueError, match="failed"):
        plugin.loadResourceScript(str(broken))
    empty = tmp_path / "empty.rpy"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="does not set"):
        plugin.loadResourceScript(str(empty))


def test_mountsFromCommandLine(appModule, script):
    service = _service(["--mount", f"/a=twistedweb:{appModule}.instance",
                        "--mount", f"/b=twisted-web:{appModule}.factory",
                        "--mount", f"/s=rpy:{script}"])
    root = service.site.resource
    assert get(root, "/a/x/y").body == b"instance x/y"
    assert get(root, "/b/z").body == b"factory z"
    assert get(root, "/s").body == b"script GET"
    mounts = root.mounts
    assert isinstance(mounts["/a"], OldResourceAdapter)
    assert mounts["/a"].sessionStore is mounts["/s"].sessionStore


def test_twistedWebClassOption(appModule):
    service = _service(["--twisted-web-class", f"{appModule}.factory",
                        "--twisted-web-max-body", "100",
                        "--twisted-web-session-timeout", "30",
                        "--twisted-web-max-sessions", "5"])
    root = service.site.resource
    assert get(root, "/q").body == b"factory q"
    assert root.maxBodySize == 100
    assert (root.sessionStore.sessionTimeout, root.sessionStore.maxSessions) == (30.0, 5)
    assert get(root, "/q", method="POST", body=b"x" * 101).status == 413


def test_badMounts(appModule, tmp_path):
    for args in (["--mount", f"/a=twistedweb:{appModule}.number"],
                 ["--mount", f"/a=rpy:{tmp_path / 'nope.rpy'}"],
                 ["--twisted-web-class", "no_such_module_x.y"]):
        with pytest.raises((ConfigError, SystemExit)):
            _service(args)


def test_badOptionValues():
    from twisted.python import usage

    for args in (["--twisted-web-max-body", "0"], ["--twisted-web-session-timeout", "-1"]):
        with pytest.raises((usage.UsageError, SystemExit)):
            _service(args)


def test_siteFileWithReloadOption(script, tmp_path):
    config = textwrap.dedent(f"""
        [mounts."/live"]
        kind = "rpy"
        argument = "{script}"
        reload = true
    """)
    service = _service([], tmp_path, config)
    assert get(service.site.resource, "/live").body == b"script GET"
    bad = config.replace("reload = true", 'reload = "yes"')
    with pytest.raises((ConfigError, SystemExit)):
        _service([], tmp_path, bad)


def test_coreClassMountOfTwistedWebResource(appModule):
    from web2 import tap
    from web2.plugins import build_plugin_manager

    pm = build_plugin_manager(only=["compat", "core"])
    options = tap.makeOptionsClass(pm)()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1",
                          "--mount", f"/c=class:{appModule}.Hello"])
    service = tap.buildService(options, reactor=MemoryReactorClock())
    assert get(service.site.resource, "/c/d").body == b"hello d"


def test_shutdownExpiresSessions(appModule):
    service = _service(["--twisted-web-class", f"{appModule}.factory"])
    store = service.site.resource.sessionStore
    session = store.makeSession()
    expired = []
    session.notifyOnExpire(lambda: expired.append(True))
    plugin.web2_shutdown(service.config)
    assert expired == [True]
    assert store.sessions == {}
