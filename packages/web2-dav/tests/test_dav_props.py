"""
Tests for the JSON sidecar dead-property store.
"""

from __future__ import annotations

import json
import os

import pytest

from web2.dav.props import SIDECAR, SidecarPropertyStore, StoreFull


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"")
    (tmp_path / "g").write_bytes(b"")
    return tmp_path


def test_fileAndCollectionEntries(tree):
    store = SidecarPropertyStore()
    store.update(str(tree / "d" / "f"), False, [("{u}a", "<a/>")])
    store.update(str(tree / "d"), True, [("{u}b", "<b/>")])
    data = json.loads((tree / "d" / SIDECAR).read_text())
    assert data == {"version": 1, "entries": {"f": {"{u}a": "<a/>"}, "": {"{u}b": "<b/>"}}}
    assert store.properties(str(tree / "d" / "f"), False) == {"{u}a": "<a/>"}
    assert store.childProperties(str(tree / "d"))["f"] == {"{u}a": "<a/>"}


def test_updateInOrderAndRemoveLast(tree):
    store = SidecarPropertyStore()
    path = str(tree / "g")
    store.update(path, False, [("{u}a", "<a>1</a>"), ("{u}a", None), ("{u}a", "<a>2</a>")])
    assert store.properties(path, False) == {"{u}a": "<a>2</a>"}
    store.update(path, False, [("{u}a", None)])
    assert not (tree / SIDECAR).exists()


def test_limits(tree):
    store = SidecarPropertyStore(maxProperties=1)
    with pytest.raises(StoreFull):
        store.update(str(tree / "g"), False, [("{u}a", "<a/>"), ("{u}b", "<b/>")])
    assert store.properties(str(tree / "g"), False) == {}
    store = SidecarPropertyStore(maxSidecarBytes=50)
    with pytest.raises(StoreFull):
        store.update(str(tree / "g"), False, [("{u}a", "<a>" + "x" * 100 + "</a>")])
    assert not (tree / SIDECAR).exists()
    assert [n for n in os.listdir(tree) if n.startswith(".web2dav")] == []


def test_copyMoveRemove(tree):
    store = SidecarPropertyStore()
    store.update(str(tree / "g"), False, [("{u}a", "<a/>")])
    store.copy(str(tree / "g"), str(tree / "d" / "copy"), False)
    assert store.properties(str(tree / "d" / "copy"), False) == {"{u}a": "<a/>"}
    os.rename(tree / "g", tree / "d" / "moved")
    store.move(str(tree / "g"), str(tree / "d" / "moved"), False)
    assert store.properties(str(tree / "d" / "moved"), False) == {"{u}a": "<a/>"}
    assert store.properties(str(tree / "g"), False) == {}
    store.remove(str(tree / "d" / "moved"), False)
    assert store.properties(str(tree / "d" / "moved"), False) == {}


def test_damagedSidecarIsIgnored(tree):
    (tree / SIDECAR).write_bytes(b"{not json")
    store = SidecarPropertyStore()
    assert store.properties(str(tree / "g"), False) == {}
    store.update(str(tree / "g"), False, [("{u}a", "<a/>")])
    assert store.properties(str(tree / "g"), False) == {"{u}a": "<a/>"}
