"""
Tests for directory listings: off by default, the HTML page (escaping,
links, sizes, dates, types, sorting, the mobile viewport, the CSP) and the
JSON form, both under the traversal policy (no hidden names, no links out
of the root).
"""

from __future__ import annotations

import json
import os

import pytest
from _static_helpers import get, makeTree, static

from web2.static import dirlist


@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {
        "outside.txt": b"secret",
        "www": {
            "small.txt": b"x",
            "big.bin": b"y" * 3000,
            "page.html": b"<p>",
            "<script>alert(1)<.txt": b"xss",
            'quote"amp&.txt': b"q",
            "with space#hash?.txt": b"s",
            ".hidden": b"h",
            "sub": {"inner.txt": b"i"},
            "zdir": {},
        },
    })
    www = tmp_path / "www"
    os.utime(www / "small.txt", (1_600_000_000, 1_600_000_000))
    os.utime(www / "big.bin", (1_500_000_000, 1_500_000_000))
    os.symlink(tmp_path / "outside.txt", www / "link-out")
    os.symlink("small.txt", www / "link-in")
    return tmp_path


def _listing(tree, **kwargs):
    kwargs.setdefault("listing", True)
    return static(tree / "www", **kwargs)


def test_listingOffByDefault(tree):
    r = get(static(tree / "www"), "/")
    assert r.status == 403
    assert b"small.txt" not in r.body


def test_htmlListing(tree):
    r = get(_listing(tree), "/")
    assert r.status == 200
    assert r.header("content-type") == "text/html; charset=utf-8"
    assert "script-src" not in r.header("content-security-policy")
    assert "default-src 'none'" in r.header("content-security-policy")
    page = r.body.decode("utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<a href="small.txt">small.txt</a>' in page
    assert '<a href="sub/">sub/</a>' in page
    assert 'title="3000 bytes">2.9 KiB<' in page
    assert "2020-09-13 12:26" in page
    assert '<td class="type">text/plain</td>' in page
    assert '<a href="../">' not in page


def test_namesAreEscaped(tree):
    page = get(_listing(tree), "/").body.decode("utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;.txt" in page
    assert 'href="%3Cscript%3Ealert(1)%3C.txt"' in page
    assert "quote&quot;amp&amp;.txt" in page
    assert 'href="quote%22amp&amp;.txt"' in page
    assert 'href="with%20space%23hash%3F.txt"' in page


def test_linksInListingWork(tree):
    """
    Every href in the page fetches the entry it names.
    """
    import re

    root = _listing(tree)
    page = get(root, "/").body.decode("utf-8")
    hrefs = re.findall(r'<td class="name"><a href="([^"?]+)">', page)
    assert len(hrefs) >= 8
    for href in hrefs:
        target = "/" + href.replace("&amp;", "&")
        assert get(root, target).status == 200, target


def test_policyAppliesToListing(tree):
    page = get(_listing(tree), "/").body.decode("utf-8")
    assert ".hidden" not in page
    assert "link-out" not in page
    assert "link-in" in page
    page = get(_listing(tree, showHidden=True, followSymlinks=True), "/").body
    assert b".hidden" in page and b"link-out" in page


def test_subdirectoryListingHasParentLink(tree):
    r = get(_listing(tree), "/sub/")
    page = r.body.decode("utf-8")
    assert "Index of /sub/" in page
    assert '<a href="../">../</a>' in page
    assert '<a href="inner.txt">' in page


def test_listingNeedsSlash(tree):
    r = get(_listing(tree), "/sub")
    assert (r.status, r.header("location")) == (301, "./sub/")


def test_indexWinsOverListing(tree):
    (tree / "www" / "sub" / "index.html").write_bytes(b"index")
    assert get(_listing(tree), "/sub/").body == b"index"


def _names(page: bytes):
    import re

    return re.findall(r'<td class="name"><a href="[^"]*">([^<]*)</a>', page.decode())


def test_sortBySizeDescending(tree):
    names = _names(get(_listing(tree), "/?sort=size&order=desc").body)
    assert names[:2] == ["sub/", "zdir/"]
    assert names[2] == "big.bin"
    assert names[-1] in ("small.txt", "link-in")


def test_sortByModified(tree):
    names = _names(get(_listing(tree), "/?sort=modified").body)
    files = [n for n in names if not n.endswith("/")]
    assert files[0] == "big.bin"
    assert files[1] in ("small.txt", "link-in")


def test_sortHeadingsToggleOrder(tree):
    page = get(_listing(tree), "/?sort=size").body.decode()
    assert 'href="?sort=size&amp;order=desc"' in page
    assert 'href="?sort=name&amp;order=asc"' in page


def test_unknownSortFallsBackToName(tree):
    assert get(_listing(tree), "/?sort=%3Cbad%3E&order=x").status == 200


def test_jsonListing(tree):
    r = get(_listing(tree), "/?format=json")
    assert r.header("content-type") == "application/json"
    document = json.loads(r.body)
    assert document["path"] == "/"
    assert document["truncated"] is False
    entries = {e["name"]: e for e in document["entries"]}
    assert entries["sub"]["type"] == "directory"
    assert entries["sub"]["href"] == "sub/"
    assert entries["sub"]["size"] is None
    assert entries["big.bin"] == {
        "name": "big.bin", "href": "big.bin", "type": "file", "size": 3000,
        "modified": "2017-07-14T02:40:00Z", "mtime": 1_500_000_000.0,
        "contentType": "application/octet-stream",
    }
    assert ".hidden" not in entries and "link-out" not in entries


def test_jsonByAccept(tree):
    r = get(_listing(tree), "/", accept="application/json")
    assert r.header("content-type") == "application/json"
    assert "Accept" in r.header("vary")
    r = get(_listing(tree), "/", accept="text/html,application/json;q=0.9")
    assert r.header("content-type").startswith("text/html")


def test_nonUTF8NameListed(tree):
    (tree / "www" / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"l1")
    root = _listing(tree)
    page = get(root, "/").body.decode("utf-8")
    assert 'href="caf%E9.txt"' in page
    assert "caf\ufffd.txt" in page
    names = [e["name"] for e in json.loads(get(root, "/?format=json").body)["entries"]]
    assert "caf\ufffd.txt" in names
    assert get(root, "/caf%E9.txt").body == b"l1"


def test_maxEntries(tree):
    r = get(_listing(tree, maxListingEntries=2), "/?format=json")
    document = json.loads(r.body)
    assert len(document["entries"]) == 2 and document["truncated"] is True
    page = get(_listing(tree, maxListingEntries=2), "/").body
    assert b"more entries than are shown" in page


def test_unreadableDirectory(tree, monkeypatch):
    import errno

    def fail(path):
        raise PermissionError(errno.EACCES, "denied")

    monkeypatch.setattr(dirlist.os, "scandir", fail)
    assert get(_listing(tree), "/").status == 403


def test_listingRunsInThread(tree):
    calls = []

    def runInThread(f, *args):
        from twisted.internet import defer

        calls.append(f)
        return defer.maybeDeferred(f, *args)

    get(_listing(tree, runInThread=runInThread), "/")
    assert dirlist.scanDirectory in calls


@pytest.mark.parametrize("size,text", [
    (None, "-"), (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
    (1536, "1.5 KiB"), (10 * 1024 ** 2, "10.0 MiB"), (3 * 1024 ** 5, "3.0 PiB"),
])
def test_formatSize(size, text):
    assert dirlist.formatSize(size) == text
