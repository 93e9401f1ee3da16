"""
Tests for the scale of L{web2.dav.LockManager}: every question about one
key examines the locks on that key's path, not every lock of the tree;
expired locks are found without a scan; and the results always agree
with a plain scan over all the locks (checked against a reference model
with random operations).

"Examined" is counted, not timed: the manager's locks are made from a
subclass of L{web2.dav.locks.Lock} that counts every attribute read, so a
scan over all the locks shows up as thousands of reads however fast or
loaded the machine is.
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
    responsesByHref,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import task

from web2.dav import locks as locks_mod
from web2.dav.locks import LockManager, isBelow

MANY = 6000


class _Reads:
    """
    Counts the attribute reads of L{_CountingLock}s while switched on.
    """

    on = False
    count = 0


class _CountingLock(locks_mod.Lock):
    def __getattribute__(self, name):
        if _Reads.on:
            _Reads.count += 1
        return object.__getattribute__(self, name)


@pytest.fixture
def counting(monkeypatch):
    """
    Make the managers' locks count their attribute reads; return a
    function C{reads(f, *args) -> (result, reads)}.
    """
    monkeypatch.setattr(locks_mod, "Lock", _CountingLock)

    def reads(f, *args):
        _Reads.count = 0
        _Reads.on = True
        try:
            result = f(*args)
        finally:
            _Reads.on = False
        return result, _Reads.count

    return reads


def _crowded(maxLocks=MANY + 100):
    """
    A manager holding C{MANY} Depth 0 locks on the members of C{d}, a
    Depth infinity lock on C{d} and one on C{e/x}.
    """
    clock = task.Clock()
    manager = LockManager(clock=clock, defaultTimeout=3600, maxTimeout=3600, maxLocks=maxLocks)
    members = [manager.create(f"d/f{i}", "0", "exclusive", None, 3600) for i in range(MANY)]
    outer = manager.create("d", "infinity", "shared", None, 3600)
    other = manager.create("e/x", "0", "exclusive", None, 3600)
    return manager, clock, members, outer, other


def test_coveringExaminesOnlyThePath(counting):
    """
    C{covering(key)} reads only the locks it returns (a few reads each),
    however many other locks the tree holds.
    """
    manager, _, members, outer, _ = _crowded()
    result, reads = counting(manager.covering, "d/f17")
    assert result == [members[17], outer]
    assert reads <= 10
    result, reads = counting(manager.covering, "d/f17/below/deeper")
    assert result == [outer]
    assert reads <= 10
    result, reads = counting(manager.covering, "elsewhere")
    assert result == [] and reads == 0


def test_belowWalksOnlyLockedSubtrees(counting):
    """
    C{below(key)} reads nothing for a key with no lock under it, and only
    the locks it returns otherwise.
    """
    manager, _, members, _, other = _crowded()
    for key in ("d/f17", "e/x", "nothing", "e/x/y"):
        result, reads = counting(manager.below, key)
        assert result == [] and reads == 0, key
    result, reads = counting(manager.below, "e")
    assert result == [other] and reads <= 5


def test_conflictsLenAndGetExamineLittle(counting):
    """
    The questions LOCK asks before granting a lock do not scan the tree.
    """
    manager, _, members, outer, _ = _crowded()
    result, reads = counting(manager.conflicts, "d/f17", "0", "exclusive")
    assert result == [members[17], outer] and reads <= 20
    result, reads = counting(manager.conflicts, "d/new", "infinity", "shared")
    assert result == [] and reads <= 20
    result, reads = counting(len, manager)
    assert result == MANY + 2 and reads == 0
    result, reads = counting(manager.get, members[5].token)
    assert result is members[5] and reads <= 5


def test_createRemoveAndRemoveTreeExamineLittle(counting):
    """
    Adding and dropping locks touches only the locks concerned.
    """
    manager, _, members, outer, other = _crowded()
    lock, reads = counting(manager.create, "d/g", "0", "exclusive", None, 60)
    assert reads <= 10
    _, reads = counting(manager.remove, lock.token)
    assert reads <= 10
    _, reads = counting(manager.removeTree, "d/f3")
    assert reads <= 10
    assert manager.get(members[3].token) is None
    assert manager.covering("d/f3") == [outer]
    _, reads = counting(manager.removeTree, "e")
    assert reads <= 10
    assert manager.get(other.token) is None
    assert len(manager) == MANY


def test_expiryExaminesOnlyExpiredLocks(counting):
    """
    When a few locks expire among thousands, dropping them reads those few
    (the soonest expiry is known without looking at the others).
    """
    manager, clock, members, outer, _ = _crowded()
    short = [manager.create(f"s{i}", "0", "exclusive", None, 10) for i in range(5)]
    clock.advance(11)
    result, reads = counting(len, manager)
    assert result == MANY + 2
    assert reads <= 10 * len(short)
    assert manager.get(short[0].token) is None
    clock.advance(3600)
    assert len(manager) == 0
    assert manager.covering("d/f1") == [] and manager.below("") == []


def test_refreshesKeepTheExpiryIndexSmall():
    """
    A client refreshing one lock over and over leaves no pile of stale
    expiry entries behind (they are dropped once they outnumber the locks).
    """
    clock = task.Clock()
    manager = LockManager(clock=clock, defaultTimeout=60, maxTimeout=3600)
    lock = manager.create("a", "0", "exclusive", None, 3600)
    for _ in range(10000):
        manager.refresh(lock, 3600)
    assert len(manager._deadlines) <= 2 * len(manager) + 64
    clock.advance(3599)
    assert manager.get(lock.token) is lock
    clock.advance(2)
    assert manager.get(lock.token) is None
    assert len(manager._deadlines) == 0


def test_refreshExtendsOnlyTheRefreshedLock():
    clock = task.Clock()
    manager = LockManager(clock=clock, defaultTimeout=60, maxTimeout=3600)
    kept = manager.create("a", "0", "exclusive", None, 10)
    lost = manager.create("b", "0", "exclusive", None, 10)
    clock.advance(5)
    manager.refresh(kept, 10)
    clock.advance(6)
    assert manager.get(kept.token) is kept and manager.get(lost.token) is None
    assert manager.covering("b") == []
    clock.advance(5)
    assert len(manager) == 0


def test_soonestExpiry():
    """
    C{secondsUntilExpiry()} says when the first lock frees its place
    (what a client refused for too many locks may wait for).
    """
    clock = task.Clock()
    manager = LockManager(clock=clock, defaultTimeout=60, maxTimeout=3600)
    assert manager.secondsUntilExpiry() is None
    manager.create("a", "0", "exclusive", None, 300)
    b = manager.create("b", "0", "exclusive", None, 100)
    clock.advance(30)
    assert manager.secondsUntilExpiry() == 70
    manager.remove(b.token)
    assert manager.secondsUntilExpiry() == 270


# Agreement with a plain scan


class _Reference:
    """
    The obvious model: every question scans every lock.
    """

    def __init__(self):
        self.locks = {}

    def purge(self, now):
        for token in [t for t, (lock, expires) in self.locks.items() if expires <= now]:
            del self.locks[token]

    def covering(self, key):
        return {t for t, (lock, _) in self.locks.items() if lock.covers(key)}

    def below(self, key):
        return {t for t, (lock, _) in self.locks.items() if isBelow(lock.key, key)}


_KEYS = st.sampled_from(["", "a", "a/b", "a/b/c", "a/bc", "ab", "b", "b/a", "a/b/c/d"])

_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), _KEYS, st.sampled_from(["0", "infinity"]),
                  st.sampled_from(["exclusive", "shared"]), st.integers(1, 50)),
        st.tuples(st.just("remove"), st.integers(0, 40)),
        st.tuples(st.just("refresh"), st.integers(0, 40), st.integers(1, 50)),
        st.tuples(st.just("removeTree"), _KEYS),
        st.tuples(st.just("advance"), st.integers(0, 30)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_OPERATIONS)
def test_agreesWithAScan(operations):
    clock = task.Clock()
    manager = LockManager(clock=clock, defaultTimeout=60, maxTimeout=3600)
    model = _Reference()
    made = []
    for op in operations:
        now = clock.seconds()
        model.purge(now)
        if op[0] == "create":
            _, key, depth, scope, timeout = op
            lock = manager.create(key, depth, scope, None, timeout)
            made.append(lock)
            model.locks[lock.token] = (lock, now + timeout)
        elif op[0] == "remove" and made:
            lock = made[op[1] % len(made)]
            manager.remove(lock.token)
            model.locks.pop(lock.token, None)
        elif op[0] == "refresh" and made:
            lock = made[op[1] % len(made)]
            if manager.get(lock.token) is not None:
                manager.refresh(lock, op[2])
                model.locks[lock.token] = (lock, now + op[2])
        elif op[0] == "removeTree":
            manager.removeTree(op[1])
            for token in [t for t, (lock, _) in model.locks.items()
                          if lock.key == op[1] or isBelow(lock.key, op[1])]:
                del model.locks[token]
        elif op[0] == "advance":
            clock.advance(op[1])
        model.purge(clock.seconds())
        assert len(manager) == len(model.locks)
        for key in ["", "a", "a/b", "a/b/c", "a/bc", "ab", "b", "b/a", "a/b/c/d", "z"]:
            covering = manager.covering(key)
            assert {lock.token for lock in covering} == model.covering(key), key
            assert len(covering) == len(set(map(id, covering)))
            below = manager.below(key)
            assert {lock.token for lock in below} == model.below(key), key
            for depth in ("0", "infinity"):
                for scope in ("exclusive", "shared"):
                    expected = {
                        t for t in model.covering(key) | (model.below(key) if depth == "infinity" else set())
                        if scope == "exclusive" or model.locks[t][0].scope == "exclusive"
                    }
                    got = manager.conflicts(key, depth, scope)
                    assert {lock.token for lock in got} == expected, (key, depth, scope)
        for token, (lock, _) in model.locks.items():
            assert manager.get(token) is lock


def test_removalsKeepTheExpiryIndexSmall():
    clock = task.Clock()
    manager = LockManager(clock=clock, defaultTimeout=60, maxTimeout=3600)
    made = [manager.create(f"k{i}", "0", "exclusive", None, 3600) for i in range(1000)]
    for lock in made[:-1]:
        manager.remove(lock.token)
    assert len(manager) == 1
    assert len(manager._deadlines) <= 2 * len(manager) + 64
    manager.removeTree("")
    manager.create("again", "0", "exclusive", None, 60)
    assert len(manager) == 1 and len(manager._deadlines) <= 64


# Over HTTP: the cap, and PROPFIND


@pytest.fixture
def logged():
    from twisted.logger import globalLogPublisher

    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def _lockMessages(events):
    from twisted.logger import formatEvent

    return [formatEvent(e) for e in events if "lock" in formatEvent(e).lower()]


def _lock(client, path, timeout=100):
    r = client.request("LOCK", path, lockBody(), [("Depth", "0"), ("Timeout", f"Second-{timeout}")])
    return r, (r.header("Lock-Token") or "").strip("<>")


def test_lockCapAnswers503WithRetryAfter(tmp_path, logged):
    """
    Past C{maxLocks} live locks a LOCK gets 503 with Retry-After (when the
    first lock expires), a plain-text reason, no new file, and one log
    line per stretch of refusals.
    """
    clock = task.Clock()
    client = Client(davFile(tmp_path, lockManager=LockManager(clock=clock, maxLocks=3)))
    tokens = [_lock(client, f"/n{i}", timeout=100 + i)[1] for i in range(3)]
    assert all(tokens)
    clock.advance(40)
    r, _ = _lock(client, "/n3")
    assert r.status == 503
    assert r.header("Retry-After") == "60"
    assert r.header("Content-Type").startswith("text/plain")
    assert b"3 locks" in r.body
    assert not (tmp_path / "n3").exists()
    assert _lock(client, "/n4")[0].status == 503
    assert len(_lockMessages(logged)) == 1
    assert client.request("UNLOCK", "/n0", headers=[("Lock-Token", f"<{tokens[0]}>")]).status == 204
    assert _lock(client, "/n3")[0].status == 201
    assert _lock(client, "/n5")[0].status == 503
    assert len(_lockMessages(logged)) == 2
    # Expiry frees places too.
    clock.advance(100)
    assert _lock(client, "/n5")[0].status == 201


def test_davFileMaxLocks(tmp_path):
    """
    C{DAVFile(maxLocks=N)} caps the tree's own lock manager; the default
    is 10000.
    """
    from web2.dav import DAVFile

    assert DAVFile(str(tmp_path))._dav.locks.maxLocks == 10000
    dav = DAVFile(str(tmp_path), maxLocks=2)
    assert dav._dav.locks.maxLocks == 2
    with pytest.raises(ValueError, match="maxLocks"):
        DAVFile(str(tmp_path), maxLocks=2, lockManager=LockManager())


def test_propfindDepthOneReadsLocksPerMember(tmp_path, counting):
    """
    A Depth 1 PROPFIND of a collection whose members are all locked reads
    each member's own locks, not every lock once per member.
    """
    members = 1000
    (tmp_path / "d").mkdir()
    clock = task.Clock()
    manager = LockManager(clock=clock)
    for i in range(members):
        (tmp_path / "d" / f"f{i}").write_bytes(b"")
        manager.create(f"d/f{i}", "0", "exclusive", None, 3600, rootHref=f"/dav/d/f{i}")
    client = Client(davFile(tmp_path, lockManager=manager))
    r, reads = counting(client.request, "PROPFIND", "/d/", PROPFIND_ALL, [("Depth", "1")])
    assert r.status == 207
    found = responsesByHref(r)
    assert len(found) == members + 1
    discovered = found["/dav/d/f7"].find(f"{D}propstat/{D}prop/{D}lockdiscovery")
    assert discovered.findtext(f"{D}activelock/{D}lockroot/{D}href") == "/dav/d/f7"
    assert reads <= 40 * members


def test_propfindWithoutLockdiscoveryReadsNoLock(tmp_path, counting):
    """
    Members' locks are looked up only when C{DAV:lockdiscovery} is asked
    for.
    """
    (tmp_path / "d").mkdir()
    manager = LockManager(clock=task.Clock())
    for i in range(200):
        (tmp_path / "d" / f"f{i}").write_bytes(b"")
        manager.create(f"d/f{i}", "0", "exclusive", None, 3600)
    client = Client(davFile(tmp_path, lockManager=manager))
    body = propfindBody("D:getcontentlength")
    r, reads = counting(client.request, "PROPFIND", "/d/", body, [("Depth", "1")])
    assert r.status == 207 and len(responsesByHref(r)) == 201
    assert reads == 0


def test_propfindRefusesAnOversizedAnswerBeforeWorking(tmp_path, monkeypatch):
    """
    When a collection's members alone pass C{maxPropfindResources}, the
    507 comes before the properties of any member are computed.
    """
    from web2.dav import DAVFile

    makeTree(tmp_path, {f"f{i}": b"" for i in range(50)})
    computed = []
    original = DAVFile._propStats

    def counted(self, *args):
        computed.append(self.path)
        return original(self, *args)

    monkeypatch.setattr(DAVFile, "_propStats", counted)
    client = Client(davFile(tmp_path, maxPropfindResources=10))
    assert client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")]).status == 507
    assert len(computed) <= 1
