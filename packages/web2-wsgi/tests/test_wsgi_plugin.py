"""
Tests for web2-wsgi's plugin: its options, the C{wsgi} mount kind, the
C{--wsgi} shortcut, the shared thread pool as a service, and application
loading errors.
"""

from __future__ import annotations

import pytest
from _wsgi_helpers import Connection, get
from twisted.internet.testing import MemoryReactorClock

from web2.serverlog import ReopenLogsService
from web2.wsgi import WSGIResource, WSGIThreadPool, plugin


def _service(args, tmp_path=None, configText=None):
    from web2 import tap
    from web2.plugins import build_plugin_manager

    if configText is not None:
        path = tmp_path / "site.toml"
        path.write_text(configText)
        args = ["--config", str(path)] + args
    options = tap.makeOptionsClass(build_plugin_manager(only=["wsgi"]))()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"] + args)
    return tap.buildService(options, reactor=MemoryReactorClock())


def _pluginServices(service):
    """
    The site service's children less web2's own (log reopening).
    """
    return [s for s in service.services if not isinstance(s, ReopenLogsService)]


def _get(service, path):
    [response] = Connection(service.site).send(get(path)).responses()
    return response


def test_registeredAsEntryPoint():
    from web2.plugins import build_plugin_manager, describe_plugins

    infos = {i.name: i for i in describe_plugins(build_plugin_manager(only=["wsgi"]))}
    assert infos["wsgi"].module == "web2.wsgi.plugin"
    assert {"web2_options", "web2_mount_kinds", "web2_mounts", "web2_services"} <= set(
        infos["wsgi"].hooks)


@pytest.mark.parametrize("spec, expected", [
    ("_wsgi_sample", "application"),
    ("_wsgi_sample:application", "application"),
    ("_wsgi_sample:create_app()", "application"),
    ("_wsgi_sample:Holder.app", "application"),
])
def test_loadApplication(spec, expected):
    import _wsgi_sample

    assert plugin.loadApplication(spec) is getattr(_wsgi_sample, expected)


@pytest.mark.parametrize("spec, message", [
    ("", "expected MODULE:NAME"),
    (":app", "expected MODULE:NAME"),
    ("no_such_module_xyz:app", "cannot import"),
    ("_wsgi_sample:missing", "has no 'missing'"),
    ("_wsgi_sample:notCallable", "not a WSGI application"),
    ("_wsgi_sample:bad name", "not a name"),
    ("os; rm -rf /:app", "expected MODULE:NAME"),
])
def test_loadApplicationErrors(spec, message):
    with pytest.raises(ValueError, match=message):
        plugin.loadApplication(spec)


def test_wsgiOptionMountsAtRoot():
    """
    --wsgi MODULE:NAME serves the application at /, in a pool sized by
    --wsgi-threads and --wsgi-queue, which is a service of the site.
    """
    service = _service(["--wsgi", "_wsgi_sample:application", "--wsgi-threads", "3",
                        "--wsgi-queue", "7"])
    root = service.site.resource
    assert isinstance(root, WSGIResource)
    pool = root.pool
    assert (pool.maxThreads, pool.queueSize) == (3, 7)
    assert _pluginServices(service) == [pool]
    pool.submit = _inline(pool)
    assert _get(service, "/a/b").body == b"sample |/a/b"


def _inline(pool):
    """
    Run jobs at once in the test thread, with hand-offs inline.
    """
    pool.post = lambda call, *args: call(*args)

    def submit(job):
        job.run()
        return True

    return submit


def test_mountKindAndSiteFile(tmp_path):
    """
    The wsgi kind mounts applications anywhere, from --mount or a site
    file; all of them share one pool.
    """
    service = _service(
        ["--mount", "/cli=wsgi:_wsgi_sample:create_app()"], tmp_path,
        '[options]\nwsgi-threads = 2\n[mounts]\n"/app" = "wsgi:_wsgi_sample"\n')
    mounts = service.site.resource.mounts
    pools = {id(mounts[p].pool) for p in ("/app", "/cli")}
    assert len(pools) == 1
    pool = mounts["/app"].pool
    assert pool.maxThreads == 2
    assert _pluginServices(service) == [pool]
    pool.submit = _inline(pool)
    assert _get(service, "/app/x").body == b"sample /app|/x"
    assert _get(service, "/cli").body == b"sample /cli|"


def test_noWsgiNoPool():
    """
    A site without WSGI mounts gets no pool service.
    """
    service = _service(["--mount", "/=text:hi"])
    assert _pluginServices(service) == []


@pytest.mark.parametrize("args, message", [
    (["--wsgi", "no_such_module_xyz:app"], "cannot import"),
    (["--mount", "/x=wsgi:_wsgi_sample:missing"], "has no 'missing'"),
])
def test_badApplicationIsAConfigError(args, message):
    from web2.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        _service(args)


@pytest.mark.parametrize("option, value", [
    ("--wsgi-threads", "0"), ("--wsgi-threads", "x"), ("--wsgi-queue", "-1"),
])
def test_badSizes(option, value):
    from twisted.python.usage import UsageError

    with pytest.raises((UsageError, SystemExit, ValueError)):
        _service([option, value])


def test_poolIsAThreadPool():
    assert isinstance(plugin.poolFor(None), WSGIThreadPool)
