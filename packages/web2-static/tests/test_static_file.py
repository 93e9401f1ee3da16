"""
Tests for L{web2.static.File} serving files: types, validators and the
conditional and range requests they enable, index files, the slash
redirect, processors, ignored extensions, precompressed variants, the
memory cache, and L{web2.static.Data}.
"""

from __future__ import annotations

import os
import time

import pytest
from _static_helpers import get, makeTree, runNow, static

from web2 import http, resource
from web2.http_headers import generateDateTime
from web2.static import Data, File, FileCache


@pytest.fixture
def site(tmp_path):
    makeTree(tmp_path, {
        "hello.txt": b"hello world",
        "page.html": b"<p>page</p>",
        "archive.tar.gz": b"\x1f\x8b not really",
        "noext": b"raw",
        "docs": {"index.html": b"<h1>docs</h1>", "a.css": b"a{}"},
        "empty": {},
    })
    return tmp_path


def test_typeAndValidators(site):
    r = get(static(site), "/hello.txt")
    assert r.status == 200
    assert r.body == b"hello world"
    assert r.header("content-type") == "text/plain; charset=utf-8"
    assert r.header("content-length") == "11"
    st = os.stat(site / "hello.txt")
    etag = r.header("etag")
    assert etag.startswith('"') and not etag.startswith("W/")
    assert f"{st.st_ino:x}" in etag
    assert r.header("last-modified") == generateDateTime(int(st.st_mtime))
    assert r.header("accept-ranges") == "bytes"
    assert r.header("x-content-type-options") == "nosniff"
    assert r.header("content-encoding") is None


def test_lastModifiedIsFileMtime(site):
    os.utime(site / "hello.txt", (1_000_000_000, 1_000_000_000))
    r = get(static(site), "/hello.txt")
    assert r.header("last-modified") == "Sun, 09 Sep 2001 01:46:40 GMT"


def test_unknownAndDefaultType(site):
    assert get(static(site), "/noext").header("content-type") == "application/octet-stream"
    r = get(static(site, defaultType="text/x-custom"), "/noext")
    assert r.header("content-type") == "text/x-custom"


def test_gzipFileIsADownloadNotAnEncoding(site):
    """
    A file literally named C{.gz} is C{application/gzip} without
    Content-Encoding, so clients save it as it is on disk.
    """
    r = get(static(site), "/archive.tar.gz", accept_encoding="gzip")
    assert r.header("content-type") == "application/gzip"
    assert r.header("content-encoding") is None
    assert r.body == b"\x1f\x8b not really"


def test_contentTypeOverridesArePerFile(site):
    custom = static(site, contentTypes={"txt": "text/x-mine"})
    assert get(custom, "/hello.txt").header("content-type") == "text/x-mine"
    assert get(static(site), "/hello.txt").header("content-type").startswith("text/plain")


def test_etagChangesWithContent(site):
    root = static(site, cache=None)
    first = get(root, "/hello.txt").header("etag")
    (site / "hello.txt").write_bytes(b"changed content")
    second = get(root, "/hello.txt").header("etag")
    assert first != second


def test_ifNoneMatchGives304(site):
    root = static(site)
    etag = get(root, "/hello.txt").header("etag")
    r = get(root, "/hello.txt", if_none_match=etag)
    assert r.status == 304
    assert r.body == b""
    assert r.header("etag") == etag
    assert get(root, "/hello.txt", if_none_match='"other"').status == 200


def test_304And412WithoutCacheDoNotOpen(site, monkeypatch):
    root = static(site, cache=None)
    etag = get(root, "/hello.txt").header("etag")
    import web2.static.file as module

    def refuse(*args):
        raise AssertionError("opened the file for a 304")

    monkeypatch.setattr(module.os, "open", refuse)
    assert get(root, "/hello.txt", if_none_match=etag).status == 304
    assert get(root, "/hello.txt", if_match='"other"').status == 412
    assert get(root, "/hello.txt",
               if_unmodified_since="Sun, 09 Sep 2001 01:46:40 GMT").status == 412


def test_ifModifiedSince(site):
    root = static(site)
    lastModified = get(root, "/hello.txt").header("last-modified")
    assert get(root, "/hello.txt", if_modified_since=lastModified).status == 304
    assert get(root, "/hello.txt",
               if_modified_since="Sun, 09 Sep 2001 01:46:40 GMT").status == 200


def test_ifMatchMismatchOnGetIs412(site):
    assert get(static(site), "/hello.txt", if_match='"nope"').status == 412


def test_range(site):
    root = static(site)
    r = get(root, "/hello.txt", range="bytes=6-")
    assert r.status == 206
    assert r.body == b"world"
    assert r.header("content-range") == "bytes 6-10/11"
    r = get(root, "/hello.txt", range="bytes=-5")
    assert (r.status, r.body) == (206, b"world")


def test_rangeUncachedFile(site):
    r = get(static(site, cache=None), "/hello.txt", range="bytes=0-4")
    assert (r.status, r.body) == (206, b"hello")


def test_multipleRanges(site):
    (site / "long.txt").write_bytes(bytes(range(256)) * 4)
    r = get(static(site, cache=None), "/long.txt", range="bytes=0-1,500-501")
    assert r.status == 206
    assert r.header("content-type").startswith("multipart/byteranges")
    assert b"Content-Range: bytes 0-1/1024" in r.body
    assert b"Content-Range: bytes 500-501/1024" in r.body


def test_unsatisfiableRange(site):
    r = get(static(site), "/hello.txt", range="bytes=100-")
    assert r.status == 416
    assert r.header("content-range") == "bytes */11"


def test_ifRangeWithOldValidatorSendsAll(site):
    r = get(static(site), "/hello.txt", range="bytes=0-1", if_range='"stale"')
    assert (r.status, r.body) == (200, b"hello world")


def test_head(site):
    r = get(static(site, cache=None), "/hello.txt", method="HEAD")
    assert r.status == 200
    assert r.header("content-length") == "11"
    assert r.body == b""


def test_otherMethodsAre405(site):
    r = get(static(site), "/hello.txt", method="POST")
    assert r.status == 405
    assert set(r.header("allow").replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert "POST" not in r.header("allow")


def test_directoryWithoutSlashRedirects(site):
    r = get(static(site), "/docs")
    assert r.status == 301
    assert r.header("location") == "./docs/"


def test_directoryRedirectKeepsQuery(site):
    r = get(static(site), "/docs?a=1&b=2")
    assert r.status == 301
    assert r.header("location") == "./docs/?a=1&b=2"


def test_directoryRedirectIsRelativeEvenForStrangeNames(site):
    (site / "a:b").mkdir()
    r = get(static(site), "/a%3Ab")
    assert r.status == 301
    # "./" keeps "a:b" from reading as a URL scheme.
    assert r.header("location") == "./a%3Ab/"


def test_indexFile(site):
    r = get(static(site), "/docs/")
    assert (r.status, r.body) == (200, b"<h1>docs</h1>")
    assert r.header("content-type") == "text/html; charset=utf-8"


def test_customIndexNames(site):
    (site / "docs" / "home.txt").write_bytes(b"home")
    r = get(static(site, indexNames=["missing.html", "home.txt"]), "/docs/")
    assert r.body == b"home"
    root = static(site)
    root.indexNames = ["home.txt"]
    assert get(root, "/docs/").body == b"home"


def test_indexThatIsADirectoryIsIgnored(site):
    (site / "empty" / "index.html").mkdir()
    assert get(static(site), "/empty/").status == 403


def test_directoryWithoutIndexOrListingIs403(site):
    assert get(static(site), "/empty/").status == 403


def test_rootFileServedAtRoot(site):
    root = static(site / "hello.txt")
    assert get(root, "/").body == b"hello world"
    assert get(root, "/other").status == 404


def test_trailingSlashOnFileIs404(site):
    assert get(static(site), "/hello.txt/").status == 404


def test_emptyMiddleSegmentIs404(site):
    assert get(static(site), "/docs//a.css").status == 404
    assert get(static(site), "/docs/a.css").status == 200


def test_missingFileIs404(site):
    assert get(static(site), "/nothing.txt").status == 404
    assert get(static(site), "/nothing/below").status == 404


def test_putChild(site):
    root = static(site)
    root.putChild("virtual", Data(b"v", "text/plain"))
    assert get(root, "/virtual").body == b"v"
    assert get(static(site), "/virtual").status == 404


def test_subclassChildren(site):
    class MyFile(File):
        pass

    root = MyFile(site, runInThread=runNow)
    child, rest = root.locateChild(None, ("docs", "a.css"))
    assert type(child) is MyFile
    assert rest == ("a.css",)


def test_metadataMethods(site):
    f = static(site).createSimilarFile(str(site / "hello.txt"))
    assert f.exists() and not f.isdir()
    assert f.contentLength() == 11
    assert f.contentType() == "text/plain; charset=utf-8"
    assert f.lastModified() == int(os.stat(site / "hello.txt").st_mtime)
    assert f.etag() is not None
    assert f.displayName() == "hello.txt"
    assert f.fp.basename() == "hello.txt"
    d = static(site)
    assert d.isdir() and d.contentType() == "httpd/unix-directory"
    assert d.etag() is None
    assert "hello.txt" in d.listChildren()


# Processors


class _Script(resource.Resource):
    def __init__(self, path):
        self.path = path

    def locateChild(self, request, segments):
        return self, resource.StopTraversal

    def render(self, request):
        info = "/".join(request.postpath)
        return http.Response(200, None, f"ran {os.path.basename(self.path)} [{info}]")

    def http_POST(self, request):
        return self.render(request)


def test_processor(site):
    (site / "app.rpy").write_bytes(b"# script")
    root = static(site, processors={".rpy": _Script})
    assert get(root, "/app.rpy").body == b"ran app.rpy []"
    assert get(root, "/app.rpy/extra/path").body == b"ran app.rpy [extra/path]"
    assert get(root, "/app.rpy", method="POST").status == 200
    # Without the processor the script is just a file.
    assert get(static(site), "/app.rpy").body == b"# script"


def test_processorExtensionIsCaseInsensitive(site):
    (site / "APP.RPY").write_bytes(b"# script")
    root = static(site, processors={"rpy": _Script})
    assert get(root, "/APP.RPY").body == b"ran APP.RPY []"


def test_processorForTopLevelFile(site):
    (site / "app.rpy").write_bytes(b"# script")
    root = static(site / "app.rpy", processors={".rpy": _Script})
    assert get(root, "/").body == b"ran app.rpy []"


def test_processorForIndex(site):
    (site / "empty" / "index.rpy").write_bytes(b"")
    root = static(site, processors={".rpy": _Script}, indexNames=["index.rpy"])
    assert get(root, "/empty/").body == b"ran index.rpy []"


def test_processorsAreNotShared(site):
    a = static(site, processors={".rpy": _Script})
    b = static(site)
    assert ".rpy" in a.processors and ".rpy" not in b.processors
    with pytest.raises(TypeError):
        a.processors[".x"] = _Script


def test_processorsNeverApplyToDirectories(site):
    (site / "dir.rpy").mkdir()
    r = get(static(site, processors={".rpy": _Script}), "/dir.rpy/")
    assert r.status == 403


# Ignored extensions


def test_ignoredExts(site):
    root = static(site, ignoredExts=[".html"])
    assert get(root, "/page").body == b"<p>page</p>"
    assert get(root, "/page").header("content-type") == "text/html; charset=utf-8"
    assert get(static(site), "/page").status == 404


def test_ignoredExtsAny(site):
    root = static(site, ignoredExts=["*"])
    assert get(root, "/hello").body == b"hello world"
    assert get(root, "/nope").status == 404


def test_existingNameWinsOverIgnoredExt(site):
    (site / "page").write_bytes(b"plain")
    assert get(static(site, ignoredExts=[".html"]), "/page").body == b"plain"


# Precompressed variants


@pytest.fixture
def compressed(site):
    makeTree(site, {"app.css": b"body{}" * 100, "app.css.br": b"BROTLI",
                    "app.css.gz": b"GZIP"})
    return site


def test_brotliVariant(compressed):
    r = get(static(compressed), "/app.css", accept_encoding="gzip, deflate, br")
    assert r.body == b"BROTLI"
    assert r.header("content-encoding") == "br"
    assert r.header("content-type") == "text/css; charset=utf-8"
    assert r.header("vary") == "Accept-Encoding"
    assert r.header("content-length") == "6"


def test_gzipVariant(compressed):
    r = get(static(compressed), "/app.css", accept_encoding="gzip")
    assert (r.body, r.header("content-encoding")) == (b"GZIP", "gzip")


def test_identityWhenNotAccepted(compressed):
    r = get(static(compressed), "/app.css")
    assert r.body == b"body{}" * 100
    assert r.header("content-encoding") is None
    r = get(static(compressed), "/app.css", accept_encoding="br;q=0, gzip;q=0")
    assert r.header("content-encoding") is None
    assert r.header("vary") == "Accept-Encoding"


def test_wildcardAcceptsVariant(compressed):
    r = get(static(compressed), "/app.css", accept_encoding="*")
    assert r.header("content-encoding") == "br"


def test_variantsHaveTheirOwnETag(compressed):
    root = static(compressed)
    plain = get(root, "/app.css").header("etag")
    br = get(root, "/app.css", accept_encoding="br").header("etag")
    assert plain != br and br.endswith('-br"')


def test_variantRange(compressed):
    r = get(static(compressed), "/app.css", accept_encoding="br", range="bytes=0-1")
    assert (r.status, r.body) == (206, b"BR")


def test_staleVariantIgnored(compressed):
    old = time.time() - 3600
    os.utime(compressed / "app.css.br", (old, old))
    r = get(static(compressed), "/app.css", accept_encoding="br")
    assert r.header("content-encoding") is None


def test_precompressedOff(compressed):
    r = get(static(compressed, precompressed=False), "/app.css", accept_encoding="br")
    assert r.header("content-encoding") is None
    assert r.header("vary") is None


# The memory cache


def test_smallFilesServedFromCache(site, monkeypatch):
    cache = FileCache(runInThread=runNow)
    root = static(site, cache=cache)
    assert get(root, "/hello.txt").body == b"hello world"
    assert len(cache) == 1
    import web2.static.file as module

    def refuse(*args):
        raise AssertionError("opened a cached file")

    monkeypatch.setattr(module.os, "open", refuse)
    r = get(root, "/hello.txt")
    assert r.body == b"hello world"
    assert r.header("etag") is not None


def test_cacheInvalidatedWhenFileChanges(site):
    root = static(site, cache=FileCache(runInThread=runNow))
    assert get(root, "/hello.txt").body == b"hello world"
    (site / "hello.txt").write_bytes(b"new content!")
    assert get(root, "/hello.txt").body == b"new content!"
    assert get(root, "/hello.txt").body == b"new content!"


def test_largeFilesNotCached(site):
    (site / "big.bin").write_bytes(b"x" * 5000)
    cache = FileCache(maxEntrySize=1000, runInThread=runNow)
    r = get(static(site, cache=cache), "/big.bin")
    assert len(r.body) == 5000
    assert len(cache) == 0


# Data


def test_data():
    data = Data(b"body{}", "text/css")
    r = get(data, "/")
    assert (r.status, r.body) == (200, b"body{}")
    assert r.header("content-type") == "text/css"
    etag = r.header("etag")
    assert etag.startswith('"')
    assert Data(b"body{}", "text/css").render(None).headers.getRawHeaders("etag") == [etag]
    assert Data(b"other", "text/css").render(None).headers.getRawHeaders("etag") != [etag]
    assert get(data, "/", if_none_match=etag).status == 304
    assert get(data, "/", range="bytes=0-3").body == b"body"


def test_dataLastModified():
    data = Data(b"x", "text/plain", lastModified=1_000_000_000)
    assert data.lastModified() == 1_000_000_000
    r = get(data, "/", if_modified_since="Sun, 09 Sep 2001 01:46:40 GMT")
    assert r.status == 304


def test_dataHasNoChildren():
    root = resource.Resource()
    root.putChild("d", Data(b"x", "text/plain"))
    assert get(root, "/d").status == 200
    assert get(root, "/d/").status == 404
    assert get(root, "/d/more").status == 404


def test_dataNeedsBytes():
    with pytest.raises(TypeError):
        Data("text", "text/plain")


def test_staticPreconditionsForOtherMethods():
    """
    L{StaticRenderMixin} checks If-Match on state-changing methods against
    the resource's own ETag.
    """

    class Writable(Data):
        def http_PUT(self, request):
            return http.Response(204)

    data = Writable(b"x", "text/plain")
    etag = data.render(None).headers.getRawHeaders("etag")[0]
    assert get(data, "/", method="PUT", if_match='"other"').status == 412
    assert get(data, "/", method="PUT", if_match=etag).status == 204


def test_variantMissesRememberedUntilDirectoryChanges(site, monkeypatch):
    from web2.static import variants

    calls = []
    realResolve = variants.resolveChild

    def counting(*args):
        calls.append(args[1])
        return realResolve(*args)

    monkeypatch.setattr(variants, "resolveChild", counting)
    os.utime(site, (1_000_000_000, 1_000_000_000))
    root = static(site)
    assert get(root, "/hello.txt", accept_encoding="br, gzip").header("content-encoding") is None
    assert sorted(calls) == ["hello.txt.br", "hello.txt.gz"]
    del calls[:]
    assert get(root, "/hello.txt", accept_encoding="br, gzip").header("content-encoding") is None
    assert calls == []
    # Adding a variant changes the directory, so it is found at once.
    (site / "hello.txt.gz").write_bytes(b"GZ")
    r = get(root, "/hello.txt", accept_encoding="br, gzip")
    assert (r.body, r.header("content-encoding")) == (b"GZ", "gzip")


def test_recentlyChangedDirectoryNotTrusted(site, monkeypatch):
    from web2.static import variants

    calls = []
    realResolve = variants.resolveChild
    monkeypatch.setattr(variants, "resolveChild",
                        lambda *args: calls.append(args[1]) or realResolve(*args))
    os.utime(site)  # changed just now
    root = static(site)
    get(root, "/hello.txt", accept_encoding="gzip")
    get(root, "/hello.txt", accept_encoding="gzip")
    assert calls == ["hello.txt.gz", "hello.txt.gz"]


@pytest.mark.parametrize("header,expected", [
    ("gzip", {"gzip": 1.0}),
    ("GZIP;q=0.5, br;q=0", {"gzip": 0.5, "br": 0.0}),
    ("x-gzip", {"gzip": 1.0}),
    ("br;q=abc, gzip;q=2", {"br": 0.0, "gzip": 0.0}),
    (" , ;q=1, *", {"*": 1.0}),
])
def test_acceptedCodings(header, expected):
    from web2.static.variants import acceptedCodings

    assert acceptedCodings((header,)) == expected


def test_coarseTimestampsGiveWeakETagWhileRecent(site, monkeypatch):
    """
    A file whose mtime has no sub-second part and is less than a second
    old gets a weak ETag: a second write in the same second would not
    change its metadata.  Later it gets a strong one.
    """
    import types

    import web2.static.file as module

    mtime = 1_700_000_000
    os.utime(site / "hello.txt", ns=(mtime * 10**9, mtime * 10**9))
    clock = types.SimpleNamespace(time=lambda: mtime + 0.5)
    monkeypatch.setattr(module, "time", clock)
    root = static(site)
    assert get(root, "/hello.txt").header("etag").startswith('W/"')
    clock.time = lambda: mtime + 5
    etag = get(root, "/hello.txt").header("etag")
    assert etag.startswith('"')
    os.utime(site / "hello.txt", ns=(mtime * 10**9 + 1, mtime * 10**9 + 1))
    clock.time = lambda: mtime + 0.5
    assert get(root, "/hello.txt").header("etag").startswith('"')
