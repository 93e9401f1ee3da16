"""
Tests for L{web2.static.cache.FileCache}: filled off the request path,
validated by the file's metadata, bounded in bytes, least recently used
first out.
"""

from __future__ import annotations

import os

from _static_helpers import runNow
from twisted.internet import defer

from web2.static.cache import FileCache


def _write(path, data):
    path.write_bytes(data)
    return str(path), os.stat(path)


def test_missThenHit(tmp_path):
    cache = FileCache(runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    assert cache.get(path, st) is None
    assert cache.get(path, st) == b"abc"
    assert cache.size == 3


def test_fillIsDeferred(tmp_path):
    """
    A miss does not wait for the read: it starts one and answers None; the
    bytes are there once it completes.
    """
    pending = []

    def later(f, *args):
        d = defer.Deferred()
        pending.append((d, f, args))
        return d

    cache = FileCache(runInThread=later)
    path, st = _write(tmp_path / "a", b"abc")
    assert cache.get(path, st) is None
    assert cache.get(path, st) is None
    assert len(pending) == 1, "a second miss must not start a second read"
    d, f, args = pending[0]
    d.callback(f(*args))
    assert cache.get(path, st) == b"abc"


def test_changedFileInvalidates(tmp_path):
    cache = FileCache(runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    cache.get(path, st)
    _, st2 = _write(tmp_path / "a", b"abcd")
    assert cache.get(path, st2) is None
    assert cache.get(path, st2) == b"abcd"
    assert cache.size == 4


def test_sameSizeSameSecondChangeDetected(tmp_path):
    cache = FileCache(runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    cache.get(path, st)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    st2 = os.stat(path)
    assert cache.get(path, st2) is None


def test_fileChangedDuringFillNotCached(tmp_path):
    path, st = _write(tmp_path / "a", b"abc")
    _write(tmp_path / "a", b"xyz12")
    cache = FileCache(runInThread=runNow)
    assert cache.get(path, st) is None
    assert len(cache) == 0


def test_tooLargeNeverCached(tmp_path):
    cache = FileCache(maxEntrySize=2, runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    cache.get(path, st)
    assert cache.get(path, st) is None
    assert len(cache) == 0


def test_boundedLRU(tmp_path):
    cache = FileCache(maxSize=10, maxEntrySize=10, runInThread=runNow)
    files = [_write(tmp_path / name, b"1234") for name in "abc"]
    for path, st in files[:2]:
        cache.get(path, st)
    cache.get(*files[0])  # a is now most recently used
    cache.get(*files[2])  # loads c, evicting b
    assert cache.size <= 10
    assert cache.get(*files[0]) == b"1234"
    assert cache.get(*files[2]) == b"1234"
    assert files[1][0] not in cache._entries


def test_vanishedFileNotCached(tmp_path):
    cache = FileCache(runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    os.remove(path)
    assert cache.get(path, st) is None
    assert len(cache) == 0 and not cache._loading


def test_zeroSizeDisables(tmp_path):
    cache = FileCache(maxSize=0, runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    cache.get(path, st)
    assert cache.get(path, st) is None


def test_clear(tmp_path):
    cache = FileCache(runInThread=runNow)
    path, st = _write(tmp_path / "a", b"abc")
    cache.get(path, st)
    cache.clear()
    assert (len(cache), cache.size) == (0, 0)


def test_knownChildrenBoundedForTheWholeTree(tmp_path):
    """
    The Files remembered between requests are bounded for the whole tree
    (not per directory): walking more names than the bound keeps at most
    that many, and every answer stays right.
    """
    from _static_helpers import get, makeTree, static

    makeTree(tmp_path, {f"d{i}": {f"f{j}.txt": b"%d-%d" % (i, j) for j in range(5)}
                        for i in range(4)})
    root = static(tmp_path)
    known = root._policy.knownChildren
    known.maxEntries = 8
    for _ in range(2):
        for i in range(4):
            for j in range(5):
                r = get(root, f"/d{i}/f{j}.txt")
                assert (r.status, r.body) == (200, b"%d-%d" % (i, j))
                assert len(known) <= 8
    assert len(known) > 0


def test_knownChildrenTable():
    from web2.static.cache import KnownChildren

    known = KnownChildren(maxEntries=16)
    for n in range(40):
        known.remember("/d", str(n), n)
        assert len(known) <= 16
    assert known.get("/d", "39") == 39
    assert known.get("/d", "0") is None
    known.forget("/d", "39")
    assert known.get("/d", "39") is None
