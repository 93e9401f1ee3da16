"""
Tests for locking: the L{LockManager}, the evaluation of the If header,
and LOCK/UNLOCK with their effect on the other methods (423, 412).
"""

from __future__ import annotations

import pytest
from _dav_helpers import (
    PROPFIND_ALL,
    Client,
    D,
    davFile,
    lockBody,
    makeTree,
    propfindBody,
    proppatchBody,
    propStatus,
    responsesByHref,
)
from twisted.internet import task

from web2.dav import LockManager
from web2.dav.locks import NO_LOCK, evaluateIf, submittedTokens
from web2.http_headers import Headers

# The manager

def _manager():
    clock = task.Clock()
    return LockManager(clock=clock, defaultTimeout=60, maxTimeout=600), clock


def test_coveringAndBelow():
    m, _ = _manager()
    deep = m.create("a", "infinity", "exclusive", None, 60)
    flat = m.create("b", "0", "shared", None, 60)
    assert m.covering("a/x/y") == [deep]
    assert m.covering("b/x") == []
    assert m.covering("b") == [flat]
    assert m.below("") == [deep, flat]
    assert m.below("a") == []
    assert m.covering("ab") == []


def test_conflicts():
    m, _ = _manager()
    shared = m.create("a", "0", "shared", None, 60)
    assert m.conflicts("a", "0", "shared") == []
    assert m.conflicts("a", "0", "exclusive") == [shared]
    assert m.conflicts("", "infinity", "exclusive") == [shared]
    assert m.conflicts("", "0", "exclusive") == []
    excl = m.create("b", "infinity", "exclusive", None, 60)
    assert m.conflicts("b/c", "0", "shared") == [excl]


def test_expiryAndRefresh():
    m, clock = _manager()
    lock = m.create("a", "0", "exclusive", None, 60)
    clock.advance(50)
    assert m.remaining(lock) == 10
    m.refresh(lock, 60)
    clock.advance(50)
    assert m.get(lock.token) is lock
    clock.advance(11)
    assert m.get(lock.token) is None
    assert len(m) == 0


def test_grantedTimeout():
    m, _ = _manager()
    assert m.grantedTimeout(None) == 60
    assert m.grantedTimeout(["Infinite"]) == 600
    assert m.grantedTimeout([30, "Infinite"]) == 30
    assert m.grantedTimeout([10**9]) == 600
    assert m.grantedTimeout([0]) == 1


def test_removeTree():
    m, _ = _manager()
    m.create("a", "0", "exclusive", None, 60)
    m.create("a/b", "0", "exclusive", None, 60)
    keep = m.create("ab", "0", "exclusive", None, 60)
    m.removeTree("a")
    assert m.below("") == [keep]


def _if(raw):
    h = Headers()
    h.setRawHeaders("if", [raw])
    return h.getHeader("if")


def test_evaluateIf():
    state = {"r": (None, {"urn:uuid:1"}), "s": (None, set())}

    def check(raw, key="r"):
        return evaluateIf(_if(raw), key, lambda url: url.rsplit("/", 1)[-1] or None, state.__getitem__)

    assert check("(<urn:uuid:1>)")
    assert not check("(<urn:uuid:2>)")
    assert check("(<urn:uuid:2>) (Not <DAV:no-lock>)")
    assert not check("(<DAV:no-lock>)")
    assert check("<http://h/s> (Not <urn:uuid:1>)")
    assert not check("<http://h/s> (<urn:uuid:1>)")
    assert submittedTokens(_if("(<urn:uuid:1>) (Not <urn:uuid:2>) (<DAV:no-lock>)")) == {
        "urn:uuid:1", NO_LOCK,
    }


# Over HTTP

@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {"f.txt": b"data", "coll": {"m.txt": b"m"}})
    return tmp_path


@pytest.fixture
def client(tree):
    return Client(davFile(tree))


def _lock(client, path, scope="exclusive", depth="infinity", extra=()):
    r = client.request("LOCK", path, lockBody(scope), [("Depth", depth), ("Timeout", "Second-100"), *extra])
    token = (r.header("Lock-Token") or "").strip("<>")
    return r, token


def test_lockResponse(client):
    r, token = _lock(client, "/f.txt")
    assert r.status == 200
    assert token.startswith("urn:uuid:")
    active = r.xml().find(f"{D}lockdiscovery/{D}activelock")
    assert active.find(f"{D}lockscope/{D}exclusive") is not None
    assert active.findtext(f"{D}locktoken/{D}href") == token
    assert active.findtext(f"{D}lockroot/{D}href") == "/dav/f.txt"
    assert active.findtext(f"{D}timeout") == "Second-100"
    assert active.find(f"{D}owner/{D}href").text == "mailto:me@example.com"


def test_lockdiscoveryProperty(client):
    _, token = _lock(client, "/coll/")
    r = client.request("PROPFIND", "/coll/m.txt", propfindBody("D:lockdiscovery"), [("Depth", "0")])
    prop = propStatus(responsesByHref(r)["/dav/coll/m.txt"])[D + "lockdiscovery"][1]
    assert prop.findtext(f"{D}activelock/{D}locktoken/{D}href") == token
    assert prop.findtext(f"{D}activelock/{D}lockroot/{D}href") == "/dav/coll/"


def test_exclusiveLockBlocksOthers(client, tree):
    _, token = _lock(client, "/f.txt")
    r = client.request("PUT", "/f.txt", b"x")
    assert r.status == 423
    assert r.xml().findtext(f"{D}lock-token-submitted/{D}href") == "/dav/f.txt"
    assert client.request("DELETE", "/f.txt").status == 423
    assert client.request("MOVE", "/f.txt", headers=[("Destination", "/dav/g")]).status == 423
    assert client.request("PROPPATCH", "/f.txt", proppatchBody(["<x/>"])).status == 423
    assert client.request("COPY", "/coll/m.txt", headers=[("Destination", "/dav/f.txt")]).status == 423
    r, _ = _lock(client, "/f.txt")
    assert r.status == 423
    assert r.xml().find(D + "no-conflicting-lock") is not None
    assert (tree / "f.txt").read_bytes() == b"data"
    # The owner may; COPY from a locked source needs no token.
    assert client.request("PUT", "/f.txt", b"new", [("If", f"(<{token}>)")]).status == 204
    assert client.request("COPY", "/f.txt", headers=[("Destination", "/dav/copy")]).status == 201


def test_ifHeaderPreconditions(client):
    _, token = _lock(client, "/f.txt")
    etag = client.request("HEAD", "/f.txt").header("ETag")
    assert client.request("PUT", "/f.txt", b"x", [("If", f'(<{token}> ["nope"])')]).status == 412
    assert client.request("PUT", "/f.txt", b"x", [("If", f'(<DAV:no-lock> [{etag}])')]).status == 412
    r = client.request("PUT", "/f.txt", b"x", [("If", f"(<{token}x>) (Not <DAV:no-lock>)")])
    assert r.status == 423
    tagged = f"<http://example.com/dav/f.txt> (<{token}> [{etag}])"
    assert client.request("PUT", "/f.txt", b"x", [("If", tagged)]).status == 204
    assert client.request("GET", "/f.txt", headers=[("If", "(<urn:uuid:nope>)")]).status == 412
    assert client.request("PUT", "/f.txt", b"x", [("If", "(garbage")]).status == 400


def test_sharedLocks(client):
    r1, t1 = _lock(client, "/f.txt", "shared")
    r2, t2 = _lock(client, "/f.txt", "shared")
    assert (r1.status, r2.status) == (200, 200) and t1 != t2
    assert _lock(client, "/f.txt", "exclusive")[0].status == 423
    assert client.request("PUT", "/f.txt", b"x").status == 423
    assert client.request("PUT", "/f.txt", b"x", [("If", f"(<{t2}>)")]).status == 204


def test_collectionLock(client, tree):
    _, token = _lock(client, "/coll/")
    assert client.request("PUT", "/coll/new.txt", b"x").status == 423
    assert client.request("PUT", "/coll/m.txt", b"x").status == 423
    assert client.request("MKCOL", "/coll/sub/").status == 423
    assert client.request("DELETE", "/coll/").status == 423
    assert _lock(client, "/coll/m.txt")[0].status == 423
    ok = [("If", f"<http://example.com/dav/coll/> (<{token}>)")]
    assert client.request("PUT", "/coll/new.txt", b"x", ok).status == 201
    # A lock below blocks a Depth infinity lock above.
    assert _lock(client, "/", depth="infinity")[0].status == 423


def test_depthZeroCollectionLockProtectsMembership(client):
    _, token = _lock(client, "/coll/", depth="0")
    assert client.request("PUT", "/coll/added", b"x").status == 423
    assert client.request("PUT", "/coll/m.txt", b"x").status == 204
    # An untagged list applies to the request's resource, which the lock
    # does not cover: the If header is false.  Tagged with the collection,
    # it holds and submits the token.
    assert client.request("PUT", "/coll/added", b"x", [("If", f"(<{token}>)")]).status == 412
    tagged = [("If", f"</dav/coll/> (<{token}>)")]
    assert client.request("PUT", "/coll/added", b"x", tagged).status == 201


def test_refreshAndUnlock(client):
    _, token = _lock(client, "/coll/")
    r = client.request("LOCK", "/coll/m.txt", headers=[("If", f"(<{token}>)"), ("Timeout", "Second-50")])
    assert r.status == 200
    assert r.xml().findtext(f"{D}lockdiscovery/{D}activelock/{D}timeout") == "Second-50"
    assert client.request("LOCK", "/coll/m.txt", headers=[("If", "(<urn:uuid:x>)")]).status == 412
    assert client.request("LOCK", "/coll/").status == 400
    assert client.request("UNLOCK", "/f.txt", headers=[("Lock-Token", f"<{token}>")]).status == 409
    assert client.request("UNLOCK", "/coll/").status == 400
    assert client.request("UNLOCK", "/coll/m.txt", headers=[("Lock-Token", f"<{token}>")]).status == 204
    assert client.request("PUT", "/coll/m.txt", b"x").status == 204


def test_lockUnmappedCreatesEmptyResource(client, tree):
    r, token = _lock(client, "/fresh.txt", depth="0")
    assert r.status == 201
    assert (tree / "fresh.txt").read_bytes() == b""
    assert _lock(client, "/none/x")[0].status == 409
    assert client.request("PUT", "/fresh.txt", b"x", [("If", f"(<{token}>)")]).status == 204


def test_lockBadBodies(client):
    assert client.request("LOCK", "/f.txt", b"<x/>").status == 400
    body = b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope></D:lockinfo>'
    assert client.request("LOCK", "/f.txt", body).status == 400
    assert client.request("LOCK", "/f.txt", lockBody(), [("Depth", "1")]).status == 400


def test_deleteDropsLocks(client):
    _, token = _lock(client, "/f.txt")
    assert client.request("DELETE", "/f.txt", headers=[("If", f"(<{token}>)")]).status == 204
    assert client.request("PUT", "/f.txt", b"again").status == 201


def test_moveDropsSourceLocks(client):
    _, token = _lock(client, "/f.txt")
    r = client.request("MOVE", "/f.txt", headers=[("Destination", "/dav/g.txt"), ("If", f"(<{token}>)")])
    assert r.status == 201
    assert client.request("PUT", "/g.txt", b"x").status == 204
    assert client.request("PUT", "/f.txt", b"x").status == 201


def test_lockTimeoutExpires(tree):
    clock = task.Clock()
    client = Client(davFile(tree, lockManager=LockManager(clock=clock)))
    _lock(client, "/f.txt")
    assert client.request("PUT", "/f.txt", b"x").status == 423
    clock.advance(101)
    assert client.request("PUT", "/f.txt", b"x").status == 204


def test_lockLimit(tree):
    client = Client(davFile(tree, lockManager=LockManager(clock=task.Clock(), maxLocks=1)))
    assert _lock(client, "/f.txt", "shared")[0].status == 200
    assert _lock(client, "/f.txt", "shared")[0].status == 503


def test_allpropIncludesLockProperties(client):
    _lock(client, "/f.txt")
    r = client.request("PROPFIND", "/f.txt", PROPFIND_ALL, [("Depth", "0")])
    props = propStatus(responsesByHref(r)["/dav/f.txt"])
    assert props[D + "lockdiscovery"][1].find(D + "activelock") is not None
    assert len(props[D + "supportedlock"][1]) == 2
