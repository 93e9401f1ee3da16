"""
Tests for L{web2.tap}: the option class built from the plugins, and the
service assembled from options (in process, on memory reactors or
127.0.0.1).  The real C{twistd web2} runs are in test_launch_*.py.
"""

import socket
import types

import pytest
from twisted.application import service
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage

from web2 import tap
from web2.config import ConfigError
from web2.hookspecs import Option, hookimpl
from web2.plugins import PluginError, build_plugin_manager


def _plugin(name, **hooks):
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, function)
    return module


def _pm(*plugins):
    pm = build_plugin_manager(load_entrypoints=False)
    for module in plugins:
        pm.registerPlugin(module, module.__name__, "dist-" + module.__name__, "1.0")
    return pm


def _options(argv, *plugins, pm=None):
    Options = tap.makeOptionsClass(pm or _pm(*plugins))
    options = Options()
    options.parseOptions(argv)
    return options


GREETER = _plugin(
    "greeter",
    web2_options=lambda: [
        Option("greeting", short="g", help="What to say."),
        Option("loud", flag=True, help="Shout."),
        Option("name", multiple=True, help="Who to greet.", coerce=str.upper),
        Option("times", default=1, coerce=int, help="How often."),
    ],
)


def test_coreOptions():
    options = _options(["--listen", "tcp:1", "--listen", "unix:/x", "--mount", "/=text:a",
                        "--config", "s.toml", "--access-log", "-", "--log-format", "json",
                        "--shutdown-timeout", "2.5", "--max-body-size", "none",
                        "--idle-timeout", "3", "--skip-broken-plugins"])
    assert options["listen"] == ["tcp:1", "unix:/x"]
    assert [(m.path, m.kind, m.argument) for m in options["mount"]] == [("/", "text", "a")]
    assert options["config"] == "s.toml" and options["access-log"] == "-"
    assert options["shutdown-timeout"] == 2.5 and options["idle-timeout"] == 3.0
    assert options["max-body-size"] is None and options["skip-broken-plugins"]


@pytest.mark.parametrize("argv, message", [
    (["--bogus"], "option --bogus not recognized"),
    (["--mount", "nowhere"], "--mount nowhere: expected PATH=KIND:ARGUMENT"),
    (["--shutdown-timeout", "soon"], "could not convert"),
    (["--max-connections", "-3"], "must not be negative"),
    (["--times", "x"], "invalid literal for int()"),
    (["extra"], "Wrong number of arguments"),
])
def test_badOptions(argv, message):
    with pytest.raises(usage.UsageError) as e:
        _options(argv, GREETER)
    assert message in str(e.value)


def test_pluginOptions():
    """
    Each plugin option becomes a command-line option of its kind.
    """
    options = _options(["-g", "hi", "--loud", "--name", "ann", "--name", "bob"], GREETER)
    assert options["greeting"] == "hi" and options["loud"] == 1
    assert options["name"] == ["ANN", "BOB"] and options["times"] is None
    assert type(options).optionOwners["greeting"] == "greeter"


def test_helpLabelsPluginOptions():
    """
    --help lists every plugin's options, labelled with the plugin name.
    """
    text = str(tap.makeOptionsClass(_pm(GREETER))())
    assert "-g, --greeting=" in text and "[greeter] What to say." in text
    assert "[greeter] Shout." in text and "[greeter] Who to greet. (repeatable)" in text
    assert "--listen=" in text and "--mount=" in text


def test_optionClash():
    """
    A plugin declaring an option that web2 or another plugin has is left
    without it and recorded as a failure.
    """
    clash = _plugin("clash", web2_options=lambda: [Option("listen"), Option("greeting")])
    pm = _pm(GREETER, clash)
    Options = tap.makeOptionsClass(pm)
    assert Options.optionOwners["greeting"] == "greeter"
    messages = [f.message for f in pm.failures]
    assert "plugin 'clash' declares the option --listen, which web2 already has" in messages
    assert ("plugin 'clash' declares the option --greeting, which plugin 'greeter' "
            "already has") in messages
    with pytest.raises(PluginError) as e:
        tap.buildService(Options(), MemoryReactorClock())
    assert "use --skip-broken-plugins" in str(e.value)


def test_optionsBuiltOnAccess(monkeypatch):
    """
    twistd reads C{web2.tap.Options}: it is built then, from the installed
    plugins.
    """
    calls = []
    built = type("Built", (), {})
    monkeypatch.setattr(tap, "makeOptionsClass", lambda: calls.append(1) or built)
    assert tap.Options is built and calls == [1]
    assert built.exitOnUsageError  # twistd gets short command-line errors
    with pytest.raises(AttributeError):
        tap.Nothing  # noqa: B018


def _build(argv, *plugins, reactor=None):
    reactor = reactor or MemoryReactorClock()
    return tap.buildService(_options(argv, *plugins), reactor), reactor


def test_buildService(monkeypatch):
    """
    Listeners, limits and timeouts reach the endpoints and the HTTP factory.
    """
    import web2.channel

    made = []
    real = web2.channel.HTTPFactory

    def recording(site, **kwargs):
        made.append(kwargs)
        return real(site, **kwargs)

    monkeypatch.setattr(web2.channel, "HTTPFactory", recording)
    svc, reactor = _build(["--listen", "tcp:8123", "--listen", "tcp:8124:interface=127.0.0.1",
                           "--mount", "/=text:hello", "--max-connections", "7",
                           "--max-header-count", "9", "--shutdown-timeout", "4"])
    assert [listener.description for listener in svc.listeners] == ["tcp:8123", "tcp:8124:interface=127.0.0.1"]
    [kwargs] = made
    assert kwargs["reactor"] is reactor and kwargs["maxConnections"] == 7
    assert kwargs["limits"].max_header_count == 9
    assert svc.factory.maxConnections == 7
    assert svc.config.shutdownTimeout == 4.0
    svc.privilegedStartService()
    svc.startService()
    assert sorted(p[0] for p in reactor.tcpServers) == [8123, 8124]


def test_listenBacklog():
    """
    Listeners get a backlog of 511 (or the kernel's cap when lower) rather
    than Twisted's 50; C{--backlog} changes it, and an endpoint naming its
    own keeps that.
    """
    svc, reactor = _build(["--listen", "tcp:8123", "--listen", "tcp:8124:backlog=7",
                           "--listen", "unix:/tmp/web2-backlog.sock",
                           "--mount", "/=text:hello"])
    svc.privilegedStartService()
    svc.startService()
    expected = tap.defaultBacklog()
    assert 0 < expected <= 511
    assert sorted((p[0], p[2]) for p in reactor.tcpServers) == [(8123, expected), (8124, 7)]
    assert [u[2] for u in reactor.unixServers] == [expected]
    svc, reactor = _build(["--listen", "tcp:8123", "--backlog", "1024",
                           "--mount", "/=text:hello"])
    svc.privilegedStartService()
    svc.startService()
    assert [p[2] for p in reactor.tcpServers] == [1024]


@pytest.mark.parametrize("description, expected", [
    ("tcp:80", "tcp:80:backlog=9"),
    ("TCP6:port=80", "TCP6:port=80:backlog=9"),
    ("ssl:443:privateKey=k.pem", "ssl:443:privateKey=k.pem:backlog=9"),
    ("unix:/run/w.sock", "unix:/run/w.sock:backlog=9"),
    ("tcp:backlog=3:80", "tcp:backlog=3:80"),
    ("systemd:domain=INET:index=0", "systemd:domain=INET:index=0"),
])
def test_withBacklog(description, expected):
    assert tap.withBacklog(description, 9) == expected


def test_wrapRootOrderAndFilters():
    """
    Root wrappers chain, C{tryfirst} innermost; response filters and
    services reach the site and the service.
    """
    seen = []

    class Wrap:
        def __init__(self, inner, tag):
            self.inner, self.tag = inner, tag

        def locateChild(self, request, segments):
            return self.inner, segments

        def renderHTTP(self, request):
            return self.inner

    from zope.interface import classImplements

    from web2.iweb import IResource
    classImplements(Wrap, IResource)

    @hookimpl(tryfirst=True)
    def inner(root, config):
        seen.append(("inner", root))
        return Wrap(root, "inner")

    def outer(root):
        seen.append(("outer", root))
        return Wrap(root, "outer")

    def noop(root):
        return None

    def aFilter(request, response):
        return response

    extra = service.Service()
    plugins = [_plugin("a", web2_wrap_root=outer), _plugin("b", web2_wrap_root=noop),
               _plugin("c", web2_wrap_root=inner,
                       web2_response_filters=lambda config: [aFilter],
                       web2_services=lambda site: [extra])]
    svc, _ = _build(["--mount", "/=text:x", "--listen", "tcp:1"], *plugins)
    assert seen[0][0] == "inner" and seen[1] == ("outer", seen[1][1])
    assert svc.site.resource.tag == "outer" and svc.site.resource.inner.tag == "inner"
    assert aFilter in svc.site.responseFilters
    assert svc.services[:1] == [extra]  # then web2's own (log reopening)


def test_configureAndPluginMounts():
    configs = []

    def configure(config):
        configs.append(config)

    plugin = _plugin("m", web2_configure=configure,
                     web2_mounts=lambda config: [("/m", config.pluginManager and
                                                  tap.buildRoot.__module__ and
                                                  _text("m"))])
    svc, _ = _build(["--mount", "/=text:x"], plugin)
    assert configs == [svc.config]
    assert sorted(svc.site.resource.mounts) == ["/", "/m"]


def _text(body):
    from web2.coreplugin import _textMount
    return _textMount(body, None)


@pytest.mark.parametrize("argv, error, message", [
    (["--mount", "/=static:."], ConfigError, "pip install web2-static"),
    (["--mount", "/=class:no.such.Thing"], ConfigError, "cannot find class 'no.such.Thing'"),
    (["--listen", "nope:1"], ConfigError, "bad --listen 'nope:1': unknown endpoint type"),
    (["--config", "/nonexistent/site.toml"], ConfigError, "does not exist"),
    (["--access-log", "/nonexistent/dir/a.log"], ConfigError,
     "cannot open the access log '/nonexistent/dir/a.log'"),
    (["--log-format", "xml"], ConfigError, "unknown access-log format 'xml'"),
])
def test_buildErrors(argv, error, message):
    with pytest.raises(error) as e:
        _build(argv)
    assert message in str(e.value)


def test_makeServiceExitsCleanly():
    """
    twistd's entry point turns configuration errors into a one-line exit.
    """
    options = _options(["--mount", "/=flurb:x"])
    with pytest.raises(SystemExit) as e:
        tap.makeService(options)
    assert e.value.code.startswith("web2: error: --mount /=flurb:x: unknown mount kind")


def test_duplicateKinds():
    twin = _plugin("twin", web2_mount_kinds=lambda: {"text": _text})
    with pytest.raises(PluginError) as e:
        _build([], twin)
    assert str(e.value) == "plugins 'core' and 'twin' both provide the mount kind 'text'" or \
        str(e.value) == "plugins 'twin' and 'core' both provide the mount kind 'text'"


def test_portInUse():
    """
    A port that cannot be bound stops the start with a one-line
    L{tap.ListenError} (a SystemExit), not a traceback.
    """
    from twisted.internet import reactor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        svc = tap.buildService(_options(["--listen", f"tcp:{port}:interface=127.0.0.1"]),
                               reactor)
        with pytest.raises(tap.ListenError) as e:
            svc.privilegedStartService()
    assert e.value.code == (f"web2: error: cannot listen on "
                            f"'tcp:{port}:interface=127.0.0.1': Address already in use")


def test_lifecycle():
    """
    Start: listeners, plugin services, then the startup hooks.  Stop:
    listeners and services, then the shutdown hooks, then the drain, with
    the shutdown timeout; the access log closes last.
    """
    events = []
    stopping = defer.Deferred()

    class Extra(service.Service):
        def startService(self):
            events.append("extra started")
            service.Service.startService(self)

        def stopService(self):
            events.append("extra stopped")
            service.Service.stopService(self)

    def startup(reactor, config):
        events.append("startup")

    async def shutdown(reactor):
        events.append("shutdown")
        await stopping
        events.append("shutdown done")

    plugin = _plugin("life", web2_startup=startup, web2_shutdown=shutdown,
                     web2_services=lambda: [Extra()])
    svc, reactor = _build(["--listen", "tcp:8123", "--mount", "/=text:x",
                           "--shutdown-timeout", "5", "--access-log", "-"], plugin)
    drains = []
    svc.factory.drain = lambda timeout: drains.append(timeout) or defer.succeed(None)
    svc.privilegedStartService()
    svc.startService()
    assert events == ["extra started", "startup"]
    assert svc.accessLog.running
    done = []
    svc.stopService().addCallback(done.append)
    assert events[-1] == "shutdown" and "extra stopped" in events
    assert not svc.listeners[0].running
    assert drains == [] and not done
    reactor.advance(1)
    stopping.callback(None)
    assert events[-1] == "shutdown done"
    assert drains == [4.0] and done and not svc.accessLog.running


def test_shutdownHooksBounded():
    """
    Shutdown hooks that never finish are abandoned at the timeout, and the
    drain still runs.
    """
    plugin = _plugin("slow", web2_shutdown=lambda: defer.Deferred())
    svc, reactor = _build(["--listen", "tcp:8123", "--shutdown-timeout", "3"], plugin)
    drains = []
    svc.factory.drain = lambda timeout: drains.append(timeout) or defer.succeed(None)
    svc.privilegedStartService()
    svc.startService()
    done = []
    svc.stopService().addCallback(done.append)
    reactor.advance(2.9)
    assert not drains
    reactor.advance(0.2)
    assert drains == [0.0] and done


def test_failingHooksAreLogged():
    """
    A startup or shutdown hook that raises is logged; the stop goes on.
    """
    def boom():
        raise RuntimeError("boom")

    plugin = _plugin("bad", web2_startup=boom, web2_shutdown=boom)
    svc, reactor = _build(["--listen", "tcp:8123"], plugin)
    svc.factory.drain = lambda timeout: defer.succeed(None)
    from twisted.logger import globalLogPublisher

    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        svc.privilegedStartService()
        svc.startService()
        done = []
        svc.stopService().addCallback(done.append)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert done
    failed = [(e["hook"], e["plugin"]) for e in events if "log_failure" in e
              and e.get("plugin") == "bad"]
    assert failed == [("web2_startup", "bad"), ("web2_shutdown", "bad")]


def test_accessLogOff():
    """
    --access-log off builds a site that emits no access events at all
    (python -m web2 would otherwise log to standard output).
    """
    from web2 import tap

    options = tap.Options()
    options.parseOptions(["--access-log", "off", "--mount", "/=text:hi"])
    service = tap.makeService(options)
    assert service.site._accessLog is None
    assert service.accessLog is None
