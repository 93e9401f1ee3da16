"""
Tests of web2-asgi's plugin: its options, the asgi mount kind and the
--asgi shortcut, one lifespan service per application, loading errors,
and the reactor it asks python -m web2 for.
"""

from __future__ import annotations

import pytest
from twisted.internet import task

from web2.asgi import ASGIResource, Lifespan, plugin

try:
    import uvloop  # noqa: F401
except ImportError:
    #: The reactor python -m web2 is asked for an ASGI site.
    LEAN = "web2-asyncio"
else:
    LEAN = "web2-uvloop"


class AsyncioLikeReactor(task.Clock):
    """
    A clock that passes for an asyncio reactor (it has a loop).
    """

    running = True

    def __init__(self):
        super().__init__()
        import asyncio

        self._asyncioEventloop = asyncio.new_event_loop()

    def stop(self):
        pass


@pytest.fixture
def reactor(monkeypatch):
    fake = AsyncioLikeReactor()
    import twisted.internet

    monkeypatch.setattr(twisted.internet, "reactor", fake, raising=False)
    yield fake
    fake._asyncioEventloop.close()


def _options(args, tmp_path=None, configText=None):
    from web2 import tap
    from web2.plugins import build_plugin_manager

    if configText is not None:
        path = tmp_path / "site.toml"
        path.write_text(configText)
        args = ["--config", str(path)] + args
    options = tap.makeOptionsClass(build_plugin_manager(only=["asgi"]))()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"] + args)
    return options


def _service(args, reactor, tmp_path=None, configText=None):
    from web2 import tap

    return tap.buildService(_options(args, tmp_path, configText), reactor=reactor)


def test_registeredAsEntryPoint():
    from web2.plugins import build_plugin_manager, describe_plugins

    infos = {i.name: i for i in describe_plugins(build_plugin_manager(only=["asgi"]))}
    assert infos["asgi"].module == "web2.asgi.plugin"
    assert {"web2_options", "web2_mount_kinds", "web2_mounts", "web2_services",
            "web2_reactor"} <= set(infos["asgi"].hooks)


@pytest.mark.parametrize("spec", ["_asgi_sample", "_asgi_sample:app",
                                  "_asgi_sample:create_app()", "_asgi_sample:Holder.app"])
def test_loadApplication(spec):
    import _asgi_sample

    assert plugin.loadApplication(spec) is _asgi_sample.app


@pytest.mark.parametrize("spec, message", [
    ("", "expected MODULE:APP"),
    ("no_such_module_xyz:app", "cannot import"),
    ("_asgi_sample:missing", "has no 'missing'"),
    ("_asgi_sample:notCallable", "not an ASGI application"),
    ("_asgi_sample:bad name", "not a name"),
])
def test_loadApplicationErrors(spec, message):
    with pytest.raises(ValueError, match=message):
        plugin.loadApplication(spec)


def test_asgiOptionMountsAtRoot(reactor):
    service = _service(["--asgi", "_asgi_sample:app", "--asgi-response-timeout", "5"],
                       reactor)
    root = service.site.resource
    assert isinstance(root, ASGIResource)
    assert root.responseTimeout == 5.0
    assert root.runner.name == "asyncio"
    assert isinstance(root.lifespan, Lifespan)
    assert [s for s in service.services if isinstance(s, Lifespan)] == [root.lifespan]


def test_mountKindAndSiteFile(reactor, tmp_path):
    """
    asgi: mounts from --mount and a site file; one lifespan per
    application even when it is mounted twice; per-mount lifespan and loop
    options in a site file.
    """
    service = _service(
        ["--mount", "/cli=asgi:_asgi_sample:app"], reactor, tmp_path,
        '[options]\nasgi-lifespan = "on"\n[mounts]\n"/app" = "asgi:_asgi_sample:app"\n'
        '"/off" = { kind = "asgi", argument = "_asgi_sample:Holder.app", lifespan = "off",'
        ' loop = "twisted" }\n')
    mounts = service.site.resource.mounts
    assert mounts["/app"].lifespan is mounts["/cli"].lifespan
    assert mounts["/app"].lifespan.mode == "on"
    assert len([s for s in service.services if isinstance(s, Lifespan)]) == 1
    assert mounts["/off"].runner.name == "twisted"


def test_otherReactorIsAConfigError(monkeypatch):
    """
    On a reactor that is not asyncio's, an asgi mount says what to add
    (loop twisted still works there).
    """
    import twisted.internet

    from web2.config import ConfigError

    clock = task.Clock()
    monkeypatch.setattr(twisted.internet, "reactor", clock, raising=False)
    with pytest.raises(ConfigError, match="--reactor=asyncio"):
        _service(["--mount", "/x=asgi:_asgi_sample:app"], clock)
    service = _service(["--asgi", "_asgi_sample:app", "--asgi-loop", "twisted"], clock)
    assert service.site.resource.runner.name == "twisted"


@pytest.mark.parametrize("args, message", [
    (["--asgi", "no_such_module_xyz:app"], "cannot import"),
    (["--mount", "/x=asgi:_asgi_sample:missing"], "has no 'missing'"),
])
def test_badApplicationIsAConfigError(reactor, args, message):
    from web2.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        _service(args, reactor)


@pytest.mark.parametrize("option, value", [
    ("--asgi-lifespan", "maybe"), ("--asgi-loop", "trio"),
    ("--asgi-response-timeout", "-1"), ("--asgi-response-timeout", "x"),
])
def test_badOptionValues(option, value):
    from twisted.python.usage import UsageError

    with pytest.raises((UsageError, SystemExit, ValueError)):
        _options([option, value])


@pytest.mark.parametrize("args, config, expected", [
    ([], None, None),
    (["--mount", "/=text:hi"], None, None),
    (["--asgi", "m:app"], None, LEAN),
    (["--mount", "/api=asgi:m:app"], None, LEAN),
    (["--mount", "/api=asgi:m:app", "--asgi-loop", "twisted"], None, None),
    ([], '[mounts]\n"/api" = "asgi:m:app"\n', LEAN),
    ([], '[options]\nasgi = "m:app"\n', LEAN),
    ([], '[mounts]\n"/api" = { kind = "asgi", argument = "m:app", loop = "twisted" }\n', None),
    ([], '[options]\nasgi-loop = "twisted"\n[mounts]\n"/api" = "asgi:m:app"\n', None),
])
def test_reactorHook(tmp_path, args, config, expected):
    """
    python -m web2 is asked for the asyncio reactor exactly when an ASGI
    application will run on it, from the command line or the site file.
    """
    options = _options(args, tmp_path, config)
    assert options.pluginManager.hook.web2_reactor(options=options) == expected


def test_reactorHookWithoutUvloop(tmp_path, monkeypatch):
    """
    Without uvloop, an ASGI site asks for the lean asyncio reactor on
    asyncio's own loop.
    """
    real = plugin._importable
    monkeypatch.setattr(plugin, "_importable", lambda name: name != "uvloop" and real(name))
    options = _options(["--asgi", "m:app"], tmp_path)
    assert options.pluginManager.hook.web2_reactor(options=options) == "web2-asyncio"
