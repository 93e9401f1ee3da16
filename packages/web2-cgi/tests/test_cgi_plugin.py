"""
Tests for web2-cgi's plugin: its options, its mount kinds, C{--cgi-dir},
and the SCGI/FastCGI services, from a C{twistd web2} command line or a
site file up to a real request.
"""

from __future__ import annotations

import pytest
from _cgi_helpers import parseCGIResponse, scgiRequest, socketExchange, writeScript
from twisted.internet import defer, reactor, threads
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from web2.cgi import CGIDirectory, CGIScript, FilteredScript, plugin
from web2.cgi.fastcgi import FastCGIFactory
from web2.cgi.scgi import SCGIFactory
from web2.config import ConfigError
from web2.serverlog import ReopenLogsService


def _pluginManager():
    from web2.plugins import build_plugin_manager

    return build_plugin_manager(only=["cgi"])


def _service(args, tmp_path=None, configText=None, reactor=None):
    from web2 import tap

    if configText is not None:
        path = tmp_path / "site.toml"
        path.write_text(configText)
        args = ["--config", str(path)] + args
    options = tap.makeOptionsClass(_pluginManager())()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"] + args)
    return tap.buildService(options, reactor=reactor or MemoryReactorClock())


@pytest.fixture
def scripts(tmp_path):
    directory = tmp_path / "cgi"
    directory.mkdir()
    writeScript(directory, "a.sh", "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho a\n")
    writeScript(directory, "page.php", "<?php ?>", mode=0o644)
    return directory


def test_pluginIsRegistered():
    pm = _pluginManager()
    assert pm.get_plugin("cgi") is plugin


def test_options():
    names = {o.name for o in plugin.web2_options()}
    assert {"scgi", "fastcgi", "gateway-prefix", "cgi-dir", "cgi-timeout", "cgi-pass-auth",
            "cgi-env"} <= names


def test_mountKinds():
    assert set(plugin.web2_mount_kinds()) == {"cgi", "cgi-script"}


def test_cgiDirOption(scripts):
    service = _service(["--cgi-dir", str(scripts), "--cgi-timeout", "7", "--cgi-env", "A=b"])
    root = service.site.resource
    cgi = root.mounts["/cgi-bin"]
    assert isinstance(cgi, CGIDirectory)
    assert cgi.scriptOptions["timeout"] == 7.0
    assert cgi.scriptOptions["env"] == {"A": "b"}
    assert cgi.scriptOptions["passAuthorization"] is False


def test_cgiDirWithPath(scripts):
    service = _service(["--cgi-dir", f"/scripts={scripts}", "--cgi-pass-auth"])
    resource = service.site.resource.mounts["/scripts"]
    assert resource.path == str(scripts)
    assert resource.scriptOptions["passAuthorization"] is True


def test_mounts(scripts):
    service = _service(["--mount", f"/a=cgi-script:{scripts}/a.sh",
                        "--mount", f"/d=cgi:{scripts}"])
    mounts = service.site.resource.mounts
    assert isinstance(mounts["/a"], CGIScript)
    assert isinstance(mounts["/d"], CGIDirectory)


def test_siteFileMountOptions(scripts, tmp_path):
    service = _service([], tmp_path, f"""
[mounts."/wiki"]
kind = "cgi-script"
argument = "{scripts}/page.php"
interpreter = ["php-cgi", "php"]
timeout = 3
env = {{ LANG = "C.UTF-8" }}
pass-authorization = true
""")
    wiki = service.site.resource.mounts["/wiki"]
    assert isinstance(wiki, FilteredScript)
    assert wiki.filters == ["php-cgi", "php"]
    assert (wiki.timeout, wiki.env, wiki.passAuthorization) == (3.0, {"LANG": "C.UTF-8"}, True)


@pytest.mark.parametrize("args, message", [
    (["--mount", "/x=cgi:/no/such/dir"], "not a directory"),
    (["--mount", "/x=cgi-script:/no/such/file"], "not a file"),
    (["--mount", "/x=cgi:"], "needs a directory"),
])
def test_badMounts(args, message):
    with pytest.raises(ConfigError, match=message):
        _service(args)


def test_notExecutableScript(scripts):
    with pytest.raises(ConfigError, match="not executable"):
        _service(["--mount", f"/x=cgi-script:{scripts}/page.php"])


def test_unknownMountOption(scripts, tmp_path):
    with pytest.raises(ConfigError, match="unknown CGI mount option"):
        _service([], tmp_path, f"""
[mounts."/d"]
kind = "cgi"
argument = "{scripts}"
colour = "blue"
""")


@pytest.mark.parametrize("args", [["--cgi-timeout", "0"], ["--cgi-env", "novalue"],
                                  ["--cgi-dir", "rel=/tmp"]])
def test_badOptionValues(args):
    from twisted.python import usage

    with pytest.raises((usage.UsageError, ConfigError)):
        _service(args)


def _pluginServices(service):
    """
    The site service's children less web2's own (log reopening).
    """
    return [s for s in service.services if not isinstance(s, ReopenLogsService)]


def test_gatewayServices():
    service = _service(["--scgi", "tcp:0:interface=127.0.0.1",
                        "--fastcgi", "tcp:0:interface=127.0.0.1",
                        "--fastcgi", "unix:/tmp/web2-test-never-bound.sock",
                        "--gateway-prefix", "/app"])
    kinds = [(s.kind, type(s.factory)) for s in _pluginServices(service)]
    assert kinds == [("SCGI", SCGIFactory), ("FastCGI", FastCGIFactory),
                     ("FastCGI", FastCGIFactory)]
    assert all(s.factory.site is service.site for s in _pluginServices(service))
    assert all(s.factory.scriptName == "/app" for s in _pluginServices(service))


def test_badEndpoint():
    with pytest.raises(ConfigError, match="bad endpoint"):
        _service(["--scgi", "nonsense:1:2"])


class LiveGatewayTests(TestCase):
    timeout = 30

    @defer.inlineCallbacks
    def test_scgiServiceAnswers(self):
        service = _service(["--scgi", "tcp:0:interface=127.0.0.1",
                            "--mount", "/=text:through scgi"], reactor=reactor)
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        [listener] = _pluginServices(service)
        port = yield listener.whenListening()
        out = yield threads.deferToThread(
            socketExchange, port.getHost().port,
            scgiRequest({"REQUEST_METHOD": "GET", "REQUEST_URI": "/",
                         "SERVER_PROTOCOL": "HTTP/1.1"}))
        status, _, body = parseCGIResponse(out)
        self.assertEqual((status, body), (200, b"through scgi"))
