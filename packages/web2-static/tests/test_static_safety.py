"""
Tests that nothing escapes a L{web2.static.File} root: dot segments in all
their encodings, encoded separators, NUL, absolute paths, symbolic links
out of the root, hidden files; that file-system errors map to 403/404/503
and never to 500; and a property test over arbitrary segments.
"""

from __future__ import annotations

import errno
import os
import urllib.parse

import pytest
from _static_helpers import Connection, get, makeTree, static
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web2.static.paths import isInside, isSafeSegment, resolveChild

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT"


@pytest.fixture
def tree(tmp_path):
    """
    tmp/secret.txt and tmp/outside/ lie outside the root tmp/www.
    """
    makeTree(tmp_path, {
        "secret.txt": SECRET,
        "outside": {"s.txt": SECRET, "LEAKED-NAME": b""},
        "www": {
            "public.txt": b"public",
            "sub": {"inner.txt": b"inner"},
            ".env": b"PASSWORD=" + SECRET,
            ".git": {"config": SECRET},
            ".well-known": {"acme.txt": b"token"},
        },
    })
    return tmp_path


def _www(tree, **kwargs):
    return static(tree / "www", **kwargs)


ATTACKS = [
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/sub%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..%5c..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/public.txt%00.html",
    "/%00",
    "/sub/%00/inner.txt",
    "//secret.txt",
    "/%2fetc%2fpasswd",
    "/%2f" + "%2e%2e%2f" * 8 + "etc%2fpasswd",
    "/..",
    "/.",
    "/%2e",
    "/%2e%2e",
    "/sub/.",
    "/sub/..",
    "/%c0%ae%c0%ae/secret.txt",
    "/%252e%252e/secret.txt",
    "/" + "a" * 5000,
    "/.env",
    "/.git/config",
    "/sub/../.env",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_traversalAttacksAreRefused(tree, target):
    r = get(_www(tree, listing=True), target)
    assert r.status in (400, 404), (target, r)
    assert SECRET not in r.body


def test_dotSegmentsAreRefusedNotResolved(tree):
    """
    A path that would resolve inside the root after removing dot segments
    is still refused: segments are names, never path syntax.
    """
    assert get(_www(tree), "/sub/../public.txt").status in (400, 404)
    assert get(_www(tree), "/sub/%2e%2e/public.txt").status == 404


def test_absolutePathTarget(tree):
    r = get(_www(tree), "http://example.com/../secret.txt")
    assert r.status in (400, 404) and SECRET not in r.body


def test_legitimateFilesStillServed(tree):
    root = _www(tree)
    assert get(root, "/public.txt").body == b"public"
    assert get(root, "/sub/inner.txt").body == b"inner"
    assert get(root, "/%70ublic.txt").body == b"public"


def test_hiddenFilesRefusedByDefault(tree):
    root = _www(tree)
    assert get(root, "/.env").status == 404
    assert get(root, "/.git/config").status == 404
    assert get(root, "/.well-known/acme.txt").body == b"token"


def test_showHidden(tree):
    root = _www(tree, showHidden=True)
    assert get(root, "/.env").status == 200
    assert get(root, "/.git/config").status == 200


def test_allowHiddenCanBeEmptied(tree):
    assert get(_www(tree, allowHidden=()), "/.well-known/acme.txt").status == 404


@pytest.fixture
def links(tree):
    www = tree / "www"
    os.symlink(tree / "secret.txt", www / "out-file")
    os.symlink(tree / "outside", www / "out-dir")
    os.symlink("../secret.txt", www / "out-relative")
    os.symlink(www / "public.txt", www / "in-file")
    os.symlink("sub", www / "in-dir")
    os.symlink("nowhere", www / "dangling")
    os.symlink("loop", www / "loop")
    return tree


@pytest.mark.parametrize("target", ["/out-file", "/out-dir/s.txt", "/out-relative",
                                    "/out-dir/", "/out-dir"])
def test_symlinksOutOfRootRefused(links, target):
    r = get(_www(links, listing=True), target)
    assert r.status == 404
    assert SECRET not in r.body


def test_symlinksOutOfRootAllowedByPolicy(links):
    root = _www(links, followSymlinks=True)
    assert get(root, "/out-file").body == SECRET
    assert get(root, "/out-dir/s.txt").body == SECRET


def test_symlinksInsideRootFollowed(links):
    root = _www(links)
    assert get(root, "/in-file").body == b"public"
    assert get(root, "/in-dir/inner.txt").body == b"inner"


def test_symlinkToRootItselfStaysInside(links):
    os.symlink(".", links / "www" / "self")
    assert get(_www(links), "/self/self/public.txt").body == b"public"


def test_danglingAndLoopingLinks(links):
    root = _www(links)
    assert get(root, "/dangling").status == 404
    assert get(root, "/loop").status == 404


def test_rootReachedThroughSymlink(tree):
    os.symlink(tree / "www", tree / "alias")
    root = static(tree / "alias")
    assert get(root, "/public.txt").body == b"public"
    assert get(root, "/../secret.txt").status in (400, 404)


def test_symlinkSwappedInAfterLookupIsNotFollowed(tree, monkeypatch):
    """
    The last component is opened with O_NOFOLLOW: if it became a link after
    the check, the open fails (404) instead of following it.
    """
    www = tree / "www"
    root = _www(www.parent, cache=None)
    conn = Connection(root)
    import web2.static.file as module

    realOpen = os.open

    def swapThenOpen(path, flags, *args):
        os.remove(path)
        os.symlink(tree / "secret.txt", path)
        return realOpen(path, flags, *args)

    monkeypatch.setattr(module.os, "open", swapThenOpen)
    r = conn.request("/www/public.txt")
    assert r.status == 404
    assert SECRET not in r.body


def test_fifoIsNotOpened(tree):
    os.mkfifo(tree / "www" / "pipe")
    r = get(_www(tree), "/pipe")
    assert r.status == 404


def test_nonUTF8FileName(tree):
    name = os.fsdecode(b"caf\xe9.txt")
    (tree / "www" / name).write_bytes(b"latin-1 name")
    assert get(_www(tree), "/caf%E9.txt").body == b"latin-1 name"


def test_utf8FileName(tree):
    (tree / "www" / "café.txt").write_bytes(b"utf-8 name")
    assert get(_www(tree), "/caf%C3%A9.txt").body == b"utf-8 name"


def test_fileVanishedIs404(tree):
    root = _www(tree, cache=None)
    child, _ = root.locateChild(None, ("public.txt",))
    os.remove(tree / "www" / "public.txt")
    assert get(root, "/public.txt").status == 404
    assert get(static(tree / "www" / "sub" / "inner.txt"), "/").status == 200
    os.remove(tree / "www" / "sub" / "inner.txt")
    assert get(static(tree / "www" / "sub" / "inner.txt"), "/").status == 404


def _failingOpen(code):
    def fail(*args):
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize("code,status", [
    (errno.EACCES, 403),
    (errno.EPERM, 403),
    (errno.ENOENT, 404),
    (errno.ELOOP, 404),
    (errno.EMFILE, 503),
    (errno.EIO, 404),
])
def test_openErrorsMapToStatus(tree, monkeypatch, code, status):
    import web2.static.file as module

    root = _www(tree, cache=None)
    monkeypatch.setattr(module.os, "open", _failingOpen(code))
    r = get(root, "/public.txt")
    assert r.status == status
    assert str(tree) not in r.body.decode("utf-8", "replace")


def test_unreadableFileIs403(tree):
    path = tree / "www" / "private.txt"
    path.write_bytes(b"private")
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running with privileges that ignore file modes (root)")
    assert get(_www(tree, cache=None), "/private.txt").status == 403


def test_statErrorsMapToStatus(tree, monkeypatch):
    import web2.static.paths as paths

    monkeypatch.setattr(paths.os, "lstat", _failingOpen(errno.EACCES))
    assert get(_www(tree), "/public.txt").status == 403


# Unit tests of the path rules


@pytest.mark.parametrize("segment", ["", ".", "..", "a/b", "a\\b", "a\x00b", "/", "\\"])
def test_unsafeSegments(segment):
    assert not isSafeSegment(segment)
    assert not isSafeSegment(segment, _nt=True)


@pytest.mark.parametrize("segment", ["C:", "a:b", "con", "NUL.txt", "x.", "x ", "a*b"])
def test_unsafeOnWindows(segment):
    assert not isSafeSegment(segment, _nt=True)


@pytest.mark.parametrize("segment", ["a", "...", ".hidden", "a b", "café", "%2e", "a.."])
def test_safeSegments(segment):
    assert isSafeSegment(segment, _nt=False)


def test_isInside():
    assert isInside("/srv/www", "/srv/www")
    assert isInside("/srv/www/a", "/srv/www")
    assert not isInside("/srv/www2/a", "/srv/www")
    assert not isInside("/srv", "/srv/www")
    assert isInside("/a", "/")


def test_resolveChildRefusesLinkOut(links):
    root = os.path.realpath(links / "www")
    assert resolveChild(root, "out-file", root, False) == (None, None)
    real, st = resolveChild(root, "out-file", root, True)
    assert real == os.path.realpath(links / "secret.txt") and st is not None
    assert resolveChild(root, "missing", root, False)[1] is None


# Property: whatever the segments, no 500 and nothing from outside.

_segment = st.one_of(
    st.sampled_from(["..", ".", "", "%2e%2e", "%2f", "%5c", "%00", "sub", "public.txt",
                     "secret.txt", "outside", "out-dir", "out-file", ".env", "%2e",
                     "s.txt", "out-relative", ".git", "config", "in-dir", "self",
                     "%c0%ae", "~", "..%2f..", "a%00b"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).map(
        lambda s: urllib.parse.quote(s, safe="")),
)


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(_segment, min_size=1, max_size=6))
def test_noEscapeAndNo500(links, segments):
    root = _www(links, listing=True)
    target = "/" + "/".join(segments)
    r = get(root, target)
    assert r.status != 500, (target, r)
    assert SECRET not in r.body, target
    assert b"LEAKED-NAME" not in r.body, target


def test_rememberedChildrenFollowTheDisk(tree):
    """
    A directory remembers the File it made for each plain entry, so a
    later request costs one lstat; the entry is still checked every time:
    deleted, it is 404; replaced by a link out of the root, it is refused;
    rewritten, its new content and validators are served; and a policy
    change (hidden files, here) is never bypassed by a remembered child.
    """
    www = tree / "www"
    root = _www(tree)
    first = root.locateChild(None, ("public.txt",))[0]
    assert root.locateChild(None, ("public.txt",))[0] is first
    r = get(root, "/public.txt")
    assert (r.status, r.body) == (200, b"public")
    etag = r.header("etag")

    (www / "public.txt").write_bytes(b"rewritten, and longer")
    r = get(root, "/public.txt")
    assert (r.status, r.body) == (200, b"rewritten, and longer")
    assert r.header("etag") != etag

    os.unlink(www / "public.txt")
    assert get(root, "/public.txt").status == 404

    os.symlink(tree / "secret.txt", www / "public.txt")
    r = get(root, "/public.txt")
    assert r.status == 404
    assert SECRET not in r.body

    os.unlink(www / "public.txt")
    os.mkdir(www / "public.txt")
    (www / "public.txt" / "inner.txt").write_bytes(b"now a directory")
    assert get(root, "/public.txt/inner.txt").body == b"now a directory"
    assert get(root, "/public.txt").status == 301


def test_rememberedChildrenHonourPolicyChanges(tree):
    root = _www(tree)
    assert get(root, "/sub/inner.txt").status == 200
    root.showHidden = False
    (tree / "www" / "sub" / ".hidden").write_bytes(SECRET)
    assert get(root, "/sub/.hidden").status == 404
    root.listing = True
    assert get(root, "/sub/").status == 200
