"""
Tests for the blocking tree operations run in threads.
"""

from __future__ import annotations

import errno
import os

import pytest
from _dav_helpers import makeTree

from web2.dav import fileops


@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {"src": {"a": b"a", "d": {"b": b"b"}}, "f": b"f"})
    return tmp_path


def test_deleteTreeFileAndDirectory(tree):
    assert fileops.deleteTree(str(tree / "f")) == []
    assert fileops.deleteTree(str(tree / "src")) == []
    assert os.listdir(tree) == []
    assert fileops.deleteTree(str(tree / "missing")) == []


def test_deleteTreeRemovesLinksNotTargets(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "keep").write_bytes(b"k")
    os.symlink(outside, tree / "src" / "link")
    assert fileops.deleteTree(str(tree / "src")) == []
    assert (outside / "keep").exists()


def test_deleteTreeReportsOnlyTheFailure(tree, monkeypatch):
    real = os.unlink

    def unlink(path, *a, **k):
        if path.endswith(os.sep + "b"):
            raise PermissionError(errno.EPERM, "no", path)
        return real(path, *a, **k)

    monkeypatch.setattr(os, "unlink", unlink)
    failures = fileops.deleteTree(str(tree / "src"))
    assert [p for p, _ in failures] == [str(tree / "src" / "d" / "b")]
    assert not (tree / "src" / "a").exists()


def test_copyTree(tree):
    os.symlink("a", tree / "src" / "rel")
    assert fileops.copyTree(str(tree / "src"), str(tree / "dst")) == []
    assert (tree / "dst" / "d" / "b").read_bytes() == b"b"
    assert os.readlink(tree / "dst" / "rel") == "a"
    assert fileops.copyTree(str(tree / "src"), str(tree / "shallow"), infinite=False) == []
    assert os.listdir(tree / "shallow") == []
    assert fileops.copyTree(str(tree / "f"), str(tree / "g")) == []
    assert (tree / "g").read_bytes() == b"f"


def test_copyTreeReportsMemberFailures(tree, monkeypatch):
    import shutil

    real = shutil.copy2

    def copy2(src, dst, **k):
        if src.endswith(os.sep + "b"):
            raise OSError(errno.ENOSPC, "full", dst)
        return real(src, dst, **k)

    monkeypatch.setattr(shutil, "copy2", copy2)
    failures = fileops.copyTree(str(tree / "src"), str(tree / "dst"))
    assert [(p, e.errno) for p, e in failures] == [(str(tree / "dst" / "d" / "b"), errno.ENOSPC)]
    assert (tree / "dst" / "a").exists()


def test_moveTree(tree):
    assert fileops.moveTree(str(tree / "src"), str(tree / "moved")) == []
    assert (tree / "moved" / "d" / "b").exists()
    failures = fileops.moveTree(str(tree / "nothing"), str(tree / "x"))
    assert failures[0][1].errno == errno.ENOENT


def test_writeAll(tmp_path):
    fd = os.open(tmp_path / "w", os.O_WRONLY | os.O_CREAT)
    try:
        fileops.writeAll(fd, b"x" * 100_000)
    finally:
        os.close(fd)
    assert (tmp_path / "w").stat().st_size == 100_000


def test_moveTreeAcrossFileSystems(tree, monkeypatch):
    """
    EXDEV makes moveTree copy, then delete.
    """

    def rename(a, b):
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "rename", rename)
    assert fileops.moveTree(str(tree / "src"), str(tree / "moved")) == []
    assert (tree / "moved" / "d" / "b").exists()
    assert not (tree / "src").exists()


def test_copyTreeSkipsTemporaryFilesButKeepsSidecars(tree):
    (tree / "src" / ".web2dav-tmp-123").write_bytes(b"partial")
    (tree / "src" / ".web2dav-props.json").write_bytes(b"{}")
    assert fileops.copyTree(str(tree / "src"), str(tree / "c2")) == []
    assert sorted(os.listdir(tree / "c2")) == [".web2dav-props.json", "a", "d"]
