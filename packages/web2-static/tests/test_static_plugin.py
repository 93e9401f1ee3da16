"""
Tests for web2-static's plugin: its options and mount kinds, C{--path},
and the whole chain from a C{twistd web2} command line or a site file to a
served file.
"""

from __future__ import annotations

import json

import pytest
from _static_helpers import get, makeTree
from twisted.internet.testing import MemoryReactorClock

from web2.static import Data, File, plugin


@pytest.fixture
def public(tmp_path):
    makeTree(tmp_path, {"public": {
        "index.html": b"<h1>home</h1>",
        "notes.md": b"# notes",
        "page.html": b"page",
        "files": {"a.txt": b"a", "b.txt": b"bb"},
        "app.rpy": b"script",
    }})
    return tmp_path / "public"


@pytest.fixture(autouse=True)
def _synchronousThreads(monkeypatch):
    """
    The plugin's Files use deferToThread; no reactor runs here, so run the
    work at once.
    """
    from _static_helpers import runNow
    from twisted.internet import threads

    monkeypatch.setattr(threads, "deferToThread", runNow)


def _pluginManager():
    from web2.plugins import build_plugin_manager

    return build_plugin_manager(only=["static"])


def _service(args, tmp_path=None, configText=None):
    from web2 import tap

    if configText is not None:
        path = tmp_path / "site.toml"
        path.write_text(configText)
        args = ["--config", str(path)] + args
    options = tap.makeOptionsClass(_pluginManager())()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1"] + args)
    return tap.buildService(options, reactor=MemoryReactorClock())


def test_pluginIsRegistered():
    pm = _pluginManager()
    assert pm.has_plugin("static")
    assert pm.get_plugin("static") is plugin


def test_optionNames():
    names = {o.name for o in plugin.web2_options()}
    assert {"path", "listing", "no-listing", "index", "mime-type", "cache-max-size",
            "ignore-ext", "processor", "show-hidden", "follow-symlinks",
            "no-precompressed", "cache-control", "default-type"} <= names


def test_mountKinds():
    assert set(plugin.web2_mount_kinds()) == {"static", "file", "data"}


def test_pathOption(public):
    service = _service(["--path", str(public)])
    root = service.site.resource
    assert isinstance(root, File)
    assert get(root, "/").body == b"<h1>home</h1>"
    assert get(root, "/files/").status == 403


def test_listingAndIndexOptions(public):
    service = _service(["--path", str(public), "--listing", "--index", "page.html"])
    root = service.site.resource
    assert get(root, "/").body == b"page"
    assert b'href="a.txt"' in get(root, "/files/").body


def test_noListingWins(public):
    service = _service(["--path", str(public), "--listing", "--no-listing"])
    assert get(service.site.resource, "/files/").status == 403


def test_mimeTypeOption(public):
    service = _service(["--path", str(public), "--mime-type", ".md=text/plain"])
    assert get(service.site.resource, "/notes.md").header("content-type") == "text/plain"


def test_badMimeTypeOption(public):
    from twisted.python import usage

    with pytest.raises((usage.UsageError, SystemExit)):
        _service(["--path", str(public), "--mime-type", "nonsense"])


def test_cacheOptions(public, tmp_path):
    # "0" in the site file; on the command line web2.config currently drops
    # a 0 (TODO(core): `given not in (None, False)` treats 0 as not given).
    service = _service(["--path", str(public)], tmp_path,
                       "[options]\ncache-max-size = 0\n")
    assert service.site.resource.cache is None
    service = _service(["--path", str(public), "--cache-max-size", "1000",
                        "--cache-max-entry-size", "10"])
    cache = service.site.resource.cache
    assert (cache.maxSize, cache.maxEntrySize) == (1000, 10)


def test_otherOptions(public):
    service = _service(["--path", str(public), "--ignore-ext", ".html",
                        "--cache-control", "max-age=60", "--show-hidden",
                        "--follow-symlinks", "--no-precompressed",
                        "--default-type", "text/plain",
                        "--processor", ".rpy=web2.static.Data"])
    root = service.site.resource
    assert root.ignoredExts == (".html",)
    assert root.showHidden and root.followSymlinks
    assert root.precompressed == ()
    assert root.defaultType == "text/plain"
    assert root.processors == {".rpy": Data}
    assert get(root, "/page", ).header("cache-control") == "max-age=60"


def test_badProcessor(public):
    from web2.config import ConfigError

    with pytest.raises((ConfigError, ValueError, SystemExit)):
        _service(["--path", str(public), "--processor", ".rpy=no.such.thing"])


def test_mountOption(public):
    service = _service(["--mount", f"/pub={'static'}:{public}", "--listing",
                        "--mount", "/robots.txt=data:User-agent: *"])
    root = service.site.resource
    assert get(root, "/pub/").body == b"<h1>home</h1>"
    assert get(root, "/pub").header("location") == "./pub/"
    assert b"a.txt" in get(root, "/pub/files/").body
    r = get(root, "/robots.txt")
    assert (r.body, r.header("content-type")) == (b"User-agent: *", "text/plain; charset=utf-8")


def test_fileKind(public):
    service = _service(["--mount", f"/notes=file:{public / 'notes.md'}"])
    assert get(service.site.resource, "/notes").body == b"# notes"
    from web2.config import ConfigError

    with pytest.raises((ConfigError, SystemExit)):
        _service(["--mount", f"/x=file:{public}"])


def test_missingPathIsAConfigError(public):
    from web2.config import ConfigError

    with pytest.raises((ConfigError, SystemExit)) as info:
        _service(["--mount", f"/x=static:{public / 'nope'}"])
    assert "does not exist" in str(info.value)


def test_siteFileMountWithOptions(public, tmp_path):
    config = f"""
[mounts."/files"]
kind = "static"
argument = "{public / 'files'}"
listing = true

[mounts."/docs"]
kind = "static"
argument = "{public}"
index = ["page.html"]
mime-type = [".md=text/x-markdown"]

[options]
cache-max-size = 4096
"""
    service = _service([], tmp_path, config)
    root = service.site.resource
    assert json.loads(get(root, "/files/?format=json").body)["entries"][0]["name"] == "a.txt"
    assert get(root, "/docs/").body == b"page"
    assert get(root, "/docs/notes.md").header("content-type") == "text/x-markdown"
    assert service.site.resource.mounts["/files"].cache.maxSize == 4096
    assert (service.site.resource.mounts["/files"].cache
            is service.site.resource.mounts["/docs"].cache)


def test_siteFileOptionsPath(public, tmp_path):
    config = f"""
[options]
path = "{public}"
listing = true
index = ["nothing.html"]
"""
    root = _service([], tmp_path, config).site.resource
    assert b"index.html" in get(root, "/").body


def test_unknownMountOption(public, tmp_path):
    from web2.config import ConfigError

    config = f"""
[mounts."/x"]
kind = "static"
argument = "{public}"
lisitng = true
"""
    with pytest.raises((ConfigError, SystemExit)) as info:
        _service([], tmp_path, config)
    assert "lisitng" in str(info.value)


def test_makeStaticDirectly(public):
    root = plugin.makeStatic(str(public), listing=True, index="page.html")
    assert root.listing and root.indexNames == ("page.html",)
    with pytest.raises(ValueError):
        plugin.makeStatic("")


def test_dataKindContentType():
    data = plugin.web2_mount_kinds()["data"]("{}", None, content_type="application/json")
    assert data.contentType() == "application/json"
    with pytest.raises(ValueError):
        plugin.web2_mount_kinds()["data"]("x", None, content_type="nonsense")
    with pytest.raises(ValueError):
        plugin.web2_mount_kinds()["data"]("x", None, colour="red")


def test_dataMountInSiteFile(tmp_path):
    config = """
[mounts."/api"]
kind = "data"
argument = '{"ok": true}'
content-type = "application/json"
"""
    r = get(_service([], tmp_path, config).site.resource, "/api")
    assert (r.body, r.header("content-type")) == (b'{"ok": true}', "application/json")


def test_noPathNoMount():
    from web2.config import SiteConfig

    assert plugin.web2_mounts(SiteConfig()) == []


def test_siteFilePathsAreRelativeToTheFile(public, tmp_path, monkeypatch):
    """
    C{"/" = "static:public"} in a site file serves the directory beside
    the file, whatever the working directory.
    """
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = """
[mounts]
"/" = "static:public"
"/page" = "file:public/page.html"
"""
    root = _service([], tmp_path, config).site.resource
    assert get(root, "/").body == b"<h1>home</h1>"
    assert get(root, "/page").body == b"page"
