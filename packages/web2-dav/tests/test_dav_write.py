"""
Tests for PUT, MKCOL, DELETE, COPY and MOVE.
"""

from __future__ import annotations

import errno
import os

import pytest
from _dav_helpers import (
    Client,
    D,
    davFile,
    makeTree,
    propfindBody,
    proppatchBody,
    propStatus,
    responsesByHref,
)

from web2.dav.props import RESERVED_PREFIX


@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {
        "a.txt": b"hello",
        "sub": {"b.txt": b"b", "deeper": {"c.txt": b"c"}},
        "other": {},
    })
    return tmp_path


@pytest.fixture
def client(tree):
    return Client(davFile(tree))


def _leftovers(tree):
    return [n for _, _, files in os.walk(tree) for n in files if n.startswith(RESERVED_PREFIX + "tmp")]


# PUT

def test_putCreatesThenReplaces(client, tree):
    r = client.request("PUT", "/new.txt", b"first")
    assert r.status == 201
    assert r.header("ETag")
    assert (tree / "new.txt").read_bytes() == b"first"
    r = client.request("PUT", "/new.txt", b"second")
    assert r.status == 204
    assert (tree / "new.txt").read_bytes() == b"second"
    assert client.request("GET", "/new.txt").body == b"second"
    assert _leftovers(tree) == []


def test_putEmptyAndLarge(tree):
    client = Client(davFile(tree, putFlushSize=1000))
    assert client.request("PUT", "/empty", b"").status == 201
    assert (tree / "empty").read_bytes() == b""
    data = os.urandom(300_000)
    assert client.request("PUT", "/big.bin", data).status == 201
    assert (tree / "big.bin").read_bytes() == data


def test_putKeepsMode(client, tree):
    os.chmod(tree / "a.txt", 0o640)
    client.request("PUT", "/a.txt", b"x")
    assert os.stat(tree / "a.txt").st_mode & 0o777 == 0o640


def test_putNoParent(client, tree):
    assert client.request("PUT", "/missing/deeper/x.txt", b"x").status == 409
    assert not (tree / "missing").exists()


def test_putOnCollection(client):
    assert client.request("PUT", "/sub", b"x").status == 405


def test_putContentRangeRefused(client, tree):
    r = client.request("PUT", "/a.txt", b"xx", [("Content-Range", "bytes 0-1/5")])
    assert r.status == 400
    assert (tree / "a.txt").read_bytes() == b"hello"


def test_putPreconditions(client, tree):
    etag = client.request("HEAD", "/a.txt").header("ETag")
    assert client.request("PUT", "/a.txt", b"x", [("If-Match", '"nope"')]).status == 412
    assert client.request("PUT", "/a.txt", b"x", [("If-None-Match", "*")]).status == 412
    assert (tree / "a.txt").read_bytes() == b"hello"
    assert client.request("PUT", "/a.txt", b"x", [("If-Match", etag)]).status == 204
    assert client.request("PUT", "/fresh", b"x", [("If-None-Match", "*")]).status == 201
    assert client.request("PUT", "/fresh2", b"x", [("If-Match", "*")]).status == 412


def test_putSizeLimit(tree):
    client = Client(davFile(tree, maxUploadSize=10))
    assert client.request("PUT", "/big", b"x" * 11).status == 413
    assert not (tree / "big").exists()
    assert client.request("PUT", "/ok", b"x" * 10).status == 201
    assert _leftovers(tree) == []


def test_putChunkedOverLimit(tree):
    client = Client(davFile(tree, maxUploadSize=10))
    raw = (b"PUT /dav/big HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
    assert client.request("PUT", "/big", raw=raw).status == 413
    assert not (tree / "big").exists()
    assert _leftovers(tree) == []


def test_putNewClearsStaleProperties(client, tree):
    client.request("PUT", "/n.txt", b"1")
    client.request("PROPPATCH", "/n.txt", proppatchBody(['<x:p xmlns:x="urn:x">v</x:p>']))
    os.unlink(tree / "n.txt")  # removed behind the server's back
    client.request("PUT", "/n.txt", b"2")
    r = client.request("PROPFIND", "/n.txt", propfindBody("{urn:x}p"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/n.txt"])["{urn:x}p"][0] == 404


# MKCOL

def test_mkcol(client, tree):
    assert client.request("MKCOL", "/newcoll/").status == 201
    assert (tree / "newcoll").is_dir()
    assert client.request("MKCOL", "/newcoll/").status == 405
    assert client.request("MKCOL", "/a.txt").status == 405
    assert client.request("MKCOL", "/no/parent/").status == 409
    assert client.request("MKCOL", "/withbody", b"<x/>").status == 415
    assert not (tree / "withbody").exists()


# DELETE

def test_deleteFile(client, tree):
    client.request("PROPPATCH", "/a.txt", proppatchBody(['<x:p xmlns:x="urn:x">v</x:p>']))
    assert client.request("DELETE", "/a.txt").status == 204
    assert not (tree / "a.txt").exists()
    assert client.request("DELETE", "/a.txt").status == 404


def test_deleteCollection(client, tree):
    assert client.request("DELETE", "/sub/", headers=[("Depth", "0")]).status == 400
    assert client.request("DELETE", "/sub/").status == 204
    assert not (tree / "sub").exists()


def test_deleteRootRefused(client, tree):
    assert client.request("DELETE", "/").status == 403
    assert tree.exists()


def test_deletePartialFailure(client, tree, monkeypatch):
    real = os.unlink

    def unlink(path, *args, **kwargs):
        if str(path).endswith("c.txt"):
            raise PermissionError(errno.EACCES, "denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    r = client.request("DELETE", "/sub/")
    assert r.status == 207
    responses = responsesByHref(r)
    assert list(responses) == ["/dav/sub/deeper/c.txt"]
    assert "403" in responses["/dav/sub/deeper/c.txt"].findtext(D + "status")
    assert (tree / "sub" / "deeper" / "c.txt").exists()
    assert not (tree / "sub" / "b.txt").exists()


# COPY and MOVE

def _dest(path):
    return ("Destination", "http://example.com/dav" + path)


def test_copyFile(client, tree):
    client.request("PROPPATCH", "/a.txt", proppatchBody(['<x:p xmlns:x="urn:x">v</x:p>']))
    r = client.request("COPY", "/a.txt", headers=[_dest("/other/a2.txt")])
    assert r.status == 201
    assert (tree / "other" / "a2.txt").read_bytes() == b"hello"
    r = client.request("PROPFIND", "/other/a2.txt", propfindBody("{urn:x}p"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/other/a2.txt"])["{urn:x}p"][1].text == "v"
    # Overwrite: default T gives 204, F gives 412.
    assert client.request("COPY", "/a.txt", headers=[_dest("/other/a2.txt")]).status == 204
    r = client.request("COPY", "/a.txt", headers=[_dest("/other/a2.txt"), ("Overwrite", "F")])
    assert r.status == 412


def test_copyWithPathDestination(client, tree):
    r = client.request("COPY", "/a.txt", headers=[("Destination", "/dav/a3.txt")])
    assert r.status == 201
    assert (tree / "a3.txt").exists()


def test_copyCollection(client, tree):
    client.request("PROPPATCH", "/sub/deeper/c.txt", proppatchBody(['<x:p xmlns:x="urn:x">c</x:p>']))
    assert client.request("COPY", "/sub/", headers=[_dest("/copy/")]).status == 201
    assert (tree / "copy" / "deeper" / "c.txt").read_bytes() == b"c"
    r = client.request("PROPFIND", "/copy/deeper/c.txt", propfindBody("{urn:x}p"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/copy/deeper/c.txt"])["{urn:x}p"][1].text == "c"
    r = client.request("COPY", "/sub/", headers=[_dest("/shallow/"), ("Depth", "0")])
    assert r.status == 201
    assert os.listdir(tree / "shallow") == []
    assert client.request("COPY", "/sub/", headers=[_dest("/x/"), ("Depth", "1")]).status == 400


def test_copyOverwritesCollection(client, tree):
    assert client.request("COPY", "/a.txt", headers=[_dest("/sub")]).status == 204
    assert (tree / "sub").read_bytes() == b"hello"


def test_copyConflicts(client, tree):
    assert client.request("COPY", "/a.txt", headers=[_dest("/none/x.txt")]).status == 409
    assert client.request("COPY", "/nothing", headers=[_dest("/y")]).status == 404
    assert client.request("COPY", "/a.txt").status == 400
    assert client.request("COPY", "/a.txt", headers=[_dest("/a.txt")]).status == 403
    assert client.request("COPY", "/sub/", headers=[_dest("/sub/inside/")]).status == 403
    assert client.request("MOVE", "/sub/deeper/", headers=[_dest("/sub/")]).status == 403
    assert (tree / "sub" / "deeper" / "c.txt").exists()


def test_copyToAnotherHost(client):
    r = client.request("COPY", "/a.txt", headers=[("Destination", "http://elsewhere.example/dav/x")])
    assert r.status == 502


@pytest.mark.parametrize("target", [
    "/dav/../escape.txt", "/dav/%2e%2e/escape.txt", "/dav/sub/%2E%2E/%2e%2e/escape.txt",
])
def test_destinationTraversalRefused(client, tree, target):
    r = client.request("COPY", "/a.txt", headers=[("Destination", target)])
    assert r.status == 400
    assert not (tree.parent / "escape.txt").exists()


def test_destinationOutsideTreeRefused(client, tree):
    for target in ("/elsewhere/x", "/dav/sub%2Fx", "/dav/" + RESERVED_PREFIX + "props.json"):
        r = client.request("MOVE", "/a.txt", headers=[("Destination", target)])
        assert r.status == 403, target
    assert (tree / "a.txt").exists()


def test_destinationSymlinkOutRefused(client, tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    os.symlink(outside, tree / "link")
    r = client.request("COPY", "/a.txt", headers=[_dest("/link/x.txt")])
    assert r.status in (403, 409)
    assert os.listdir(outside) == []


def test_moveFile(client, tree):
    client.request("PROPPATCH", "/a.txt", proppatchBody(['<x:p xmlns:x="urn:x">v</x:p>']))
    r = client.request("MOVE", "/a.txt", headers=[_dest("/sub/moved.txt")])
    assert r.status == 201
    assert not (tree / "a.txt").exists()
    r = client.request("PROPFIND", "/sub/moved.txt", propfindBody("{urn:x}p"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/sub/moved.txt"])["{urn:x}p"][1].text == "v"
    assert client.request("MOVE", "/sub/moved.txt", headers=[_dest("/sub/b.txt")]).status == 204
    assert (tree / "sub" / "b.txt").read_bytes() == b"hello"


def test_moveCollection(client, tree):
    assert client.request("MOVE", "/sub/", headers=[_dest("/other/")]).status == 204
    assert (tree / "other" / "deeper" / "c.txt").exists()
    assert not (tree / "sub").exists()
    r = client.request("MOVE", "/other/", headers=[_dest("/x/"), ("Depth", "0")])
    assert r.status == 400


def test_blockingWorkGoesToThread(tree):
    calls = []

    def runInThread(f, *args):
        from twisted.internet import defer

        calls.append(f.__name__)
        return defer.maybeDeferred(f, *args)

    client = Client(davFile(tree, runInThread=runInThread))
    client.request("COPY", "/sub/", headers=[_dest("/c/")])
    client.request("DELETE", "/c/")
    client.request("MOVE", "/sub/", headers=[_dest("/m/")])
    client.request("PUT", "/p", b"data")
    assert calls == ["copyTree", "deleteTree", "moveTree", "writeAll"]


def test_putAbortedLeavesNothing(tree):
    """
    The client goes away in the middle of the body: the temporary file is
    removed and the target untouched.
    """
    from twisted.internet import address
    from twisted.internet.testing import StringTransport
    from twisted.python.failure import Failure

    from web2.channel import HTTPFactory

    client = Client(davFile(tree))
    factory = HTTPFactory(client.site, reactor=client.clock)
    peer = address.IPv4Address("TCP", "127.0.0.1", 1)
    channel = factory.buildProtocol(peer)
    channel.makeConnection(StringTransport(peerAddress=peer))
    channel.dataReceived(b"PUT /dav/a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
    assert len(_leftovers(tree)) == 1  # the upload is under way
    channel.connectionLost(Failure(ConnectionError("gone")))
    assert (tree / "a.txt").read_bytes() == b"hello"
    assert _leftovers(tree) == []
