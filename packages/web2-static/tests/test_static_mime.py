"""
Tests for L{web2.static.mime}: the built-in table (independent of the
host's mime.types), overrides, and the parsers of C{mime.types} files and
of C{EXT=TYPE} options.
"""

from __future__ import annotations

import mimetypes

import pytest

from web2.static import mime


@pytest.mark.parametrize("name,kind", [
    ("index.html", "text/html; charset=utf-8"),
    ("INDEX.HTM", "text/html; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("app.mjs", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("data.json", "application/json"),
    ("logo.svg", "image/svg+xml"),
    ("photo.JPG", "image/jpeg"),
    ("font.woff2", "font/woff2"),
    ("module.wasm", "application/wasm"),
    ("a.tar.gz", "application/gzip"),
    ("a.tgz", "application/gzip"),
    ("a.zip", "application/zip"),
    ("video.mp4", "video/mp4"),
    ("doc.pdf", "application/pdf"),
    ("README", "application/octet-stream"),
    ("weird.unknownext", "application/octet-stream"),
    (".bashrc", "application/octet-stream"),
])
def test_builtinTypes(name, kind):
    assert mime.contentTypeFor(name) == kind


def test_notFromTheHost(monkeypatch):
    """
    The host's mimetypes registry has no influence.
    """
    monkeypatch.setitem(mimetypes.types_map, ".html", "application/x-wrong")
    mimetypes.add_type("application/x-wrong", ".css")
    try:
        assert mime.contentTypeFor("a.html") == "text/html; charset=utf-8"
        assert mime.contentTypeFor("a.css") == "text/css; charset=utf-8"
    finally:
        mimetypes.init()


def test_buildTableDoesNotModifyDefaults():
    table = mime.buildTable({"md": "text/plain", ".X": "a/b"})
    assert table[".md"] == "text/plain"
    assert table[".x"] == "a/b"
    assert mime.DEFAULT_TYPES[".md"].startswith("text/markdown")
    assert ".x" not in mime.DEFAULT_TYPES


def test_defaultForUnknown():
    assert mime.contentTypeFor("a.zzz", default="text/plain") == "text/plain"


def test_readMimeTypes(tmp_path):
    path = tmp_path / "mime.types"
    path.write_text(
        "# comment\n"
        "text/x-foo   foo  FOO2\n"
        "application/x-none\n"
        "garbage line\n"
        "image/x-bar bar # trailing comment\n"
    )
    assert mime.readMimeTypes(str(path)) == {
        ".foo": "text/x-foo", ".foo2": "text/x-foo", ".bar": "image/x-bar",
    }


@pytest.mark.parametrize("text,parsed", [
    (".md=text/plain", (".md", "text/plain")),
    ("MD=text/markdown; charset=utf-8", (".md", "text/markdown; charset=utf-8")),
])
def test_parseMimeOption(text, parsed):
    assert mime.parseMimeOption(text) == parsed


@pytest.mark.parametrize("text", ["md", "=text/plain", ".md=", ".md=plain", "."])
def test_parseMimeOptionRejects(text):
    with pytest.raises(ValueError):
        mime.parseMimeOption(text)
