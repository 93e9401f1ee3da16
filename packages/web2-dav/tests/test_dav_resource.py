"""
Tests for DAVFile's traversal and naming: missing resources, reserved and
hidden names, hrefs under mounts, and the mapping of URLs to keys.
"""

from __future__ import annotations

import os

import pytest
from _dav_helpers import PROPFIND_ALL, Client, davFile, makeTree, responsesByHref

from web2 import http
from web2.dav import DAVFile
from web2.dav.resource import parentKey, statusForError


@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {"a b.txt": b"x", "sub": {"é.txt": b"e"}, ".hidden": b"h"})
    return tmp_path


def test_rootMustBeADirectory(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(ValueError):
        DAVFile(tmp_path / "f")


def test_hrefsAreQuotedAndMounted(tree):
    client = Client(davFile(tree), mount="files")
    r = client.request("PROPFIND", "/sub/", PROPFIND_ALL, [("Depth", "1")])
    assert set(responsesByHref(r)) == {"/files/sub/", "/files/sub/%C3%A9.txt"}
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")])
    assert "/files/a%20b.txt" in responsesByHref(r)


def test_hrefsAtSiteRoot(tree):
    client = Client(davFile(tree), mount=None)
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")])
    assert {"/", "/sub/", "/a%20b.txt", "/.hidden"} == set(responsesByHref(r))


def test_hiddenNamesFollowShowHidden(tree):
    assert Client(davFile(tree)).request("GET", "/.hidden").status == 200
    client = Client(davFile(tree, showHidden=False))
    assert client.request("GET", "/.hidden").status == 404
    assert client.request("PUT", "/.DS_Store", b"x").status == 404
    r = client.request("COPY", "/a%20b.txt", headers=[("Destination", "/dav/.x")])
    assert r.status == 403
    assert not (tree / ".DS_Store").exists()


def test_reservedNamesAreNeverReachable(tree):
    client = Client(davFile(tree))
    for name in (".web2dav-props.json", ".web2dav-tmp-1"):
        assert client.request("PUT", "/" + name, b"x").status == 404
        assert client.request("MKCOL", "/sub/" + name).status == 404
    assert not any(n.startswith(".web2dav") for n in os.listdir(tree))


def test_missingIntermediateIsConflictNotNotFound(tree):
    client = Client(davFile(tree))
    assert client.request("PUT", "/a/b/c", b"x").status == 409
    assert client.request("GET", "/a/b/c").status == 404
    assert client.request("PROPFIND", "/a/", headers=[("Depth", "0")]).status == 404


def test_traversalOutOfTreeRefused(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("out")
    os.symlink(outside, tree / "link")
    client = Client(davFile(tree))
    assert client.request("PUT", "/link/x", b"x").status == 404
    assert client.request("PUT", "/%2e%2e/x", b"x").status in (400, 404)
    assert os.listdir(outside) == []


def test_keyForURL(tree):
    dav = davFile(tree)

    class Req:
        host, port, path = "example.com", 80, "/dav/"

        def urlForResource(self, resource):
            return "/dav"

    req = Req()
    assert dav.keyForURL(req, "http://example.com/dav/sub/x.txt") == "sub/x.txt"
    assert dav.keyForURL(req, "/dav/") == ""
    assert dav.keyForURL(req, "/dav/a%20b.txt") == "a b.txt"
    assert dav.keyForURL(req, "http://other/dav/x") is None
    assert dav.keyForURL(req, "/elsewhere") is None
    with pytest.raises(http.HTTPError) as e:
        dav.keyForURL(req, "http://example.com:81/dav/x", strict=True)
    assert e.value.response.code == 502
    with pytest.raises(http.HTTPError) as e:
        dav.keyForURL(req, "/dav/x/../../etc", strict=True)
    assert e.value.response.code == 400


def test_helpers():
    assert parentKey("a/b/c") == "a/b"
    assert parentKey("a") == ""
    assert statusForError(PermissionError(13, "x")) == 403
    assert statusForError(OSError(28, "x")) == 507
    assert statusForError(OSError(5, "x")) == 500
