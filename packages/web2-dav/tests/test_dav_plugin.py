"""
Tests for web2-dav's plugin: options, the dav: mount kind, --dav and
--dav-readonly, through the real twistd option parser.
"""

from __future__ import annotations

import pytest
from _dav_helpers import Client, responsesByHref, runNow
from twisted.internet.testing import MemoryReactorClock

from web2.dav import DAVFile, plugin


@pytest.fixture(autouse=True)
def _synchronousThreads(monkeypatch):
    from twisted.internet import threads

    monkeypatch.setattr(threads, "deferToThread", runNow)


def _pluginManager():
    from web2.plugins import build_plugin_manager

    return build_plugin_manager(only=["dav", "static"])


def _service(args):
    from web2 import tap

    options = tap.makeOptionsClass(_pluginManager())()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"] + args)
    return tap.buildService(options, reactor=MemoryReactorClock())


def test_pluginIsRegistered():
    pm = _pluginManager()
    assert pm.get_plugin("dav") is plugin


def test_optionsAndKinds():
    assert {o.name for o in plugin.web2_options()} == {
        "dav", "dav-readonly", "dav-max-upload-size"}
    assert set(plugin.web2_mount_kinds()) == {"dav"}


def test_davOptionMountsAtRoot(tmp_path):
    service = _service(["--dav", str(tmp_path)])
    root = service.site.resource
    assert isinstance(root, DAVFile)
    assert not root.readOnly


def test_readOnlyFlag(tmp_path):
    service = _service(["--dav", str(tmp_path), "--dav-readonly"])
    assert service.site.resource.readOnly


def test_mountKind(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"x")
    service = _service(["--mount", f"/files=dav:{tmp_path}"])
    client = Client(service.site.resource, mount=None)
    r = client.request("PROPFIND", "/files/", headers=[("Depth", "1")])
    assert r.status == 207
    assert set(responsesByHref(r)) == {"/files/", "/files/f.txt"}
    assert client.request("PUT", "/files/new.txt", b"n").status == 201
    assert (tmp_path / "new.txt").read_bytes() == b"n"


def test_readOnlyMount(tmp_path):
    service = _service(["--mount", f"/files=dav:{tmp_path}", "--dav-readonly"])
    client = Client(service.site.resource, mount=None)
    assert client.request("PUT", "/files/new.txt", b"n").status == 405
    assert client.request("OPTIONS", "/files/").header("DAV") == "1"


def test_makeDAVOptions(tmp_path):
    dav = plugin.makeDAV(str(tmp_path), None, readonly=True, max_upload_size="10",
                         allow_infinite_depth=True)
    assert dav.readOnly
    assert dav._dav.maxUploadSize == 10 and dav._dav.allowInfiniteDepth
    with pytest.raises(ValueError, match="unknown dav mount option"):
        plugin.makeDAV(str(tmp_path), None, colour="blue")
    with pytest.raises(ValueError, match="not a directory"):
        plugin.makeDAV(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="needs a directory"):
        plugin.makeDAV("")
