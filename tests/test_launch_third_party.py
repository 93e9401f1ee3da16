"""
A third-party plugin distribution (tests/plugins/web2-example-plugin),
installed like any other: its option shows in --help, its default mount
and its mount kind answer.  Runs only where it is installed.
"""

import sys
from pathlib import Path

import pytest

pytest.importorskip("web2_example_plugin")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import (  # noqa: E402
    Server,
    assertStoppedCleanly,
    fetch,
    pythonWeb2,
    runToEnd,
    twistdWeb2,
)

LOCAL = "tcp:0:interface=127.0.0.1"


def test_helpShowsItsOption():
    result = runToEnd(twistdWeb2("--help"))
    assert result.returncode == 0
    assert "--greeting=" in result.stdout
    assert "[example] Serve this greeting at /hello." in result.stdout


def test_listed():
    result = runToEnd(pythonWeb2("--list-plugins"))
    assert "example  (web2-example-plugin 0.1.0)  web2_example_plugin" in result.stdout
    assert "hooks: web2_mount_kinds, web2_mounts, web2_options" in result.stdout


def test_serves(tmp_path):
    """
    --greeting mounts the greeting at /hello; the kind hello is usable in
    --mount, with the option visible to the factory.
    """
    with Server(twistdWeb2("--listen", LOCAL, "--greeting", "Howdy",
                           "--mount", "/hi=hello:partner"), cwd=tmp_path) as server:
        port = server.port
        assert fetch(port, "/hello") == (200, fetch(port, "/hello")[1], b"Howdy\n")
        assert fetch(port, "/hello/any/path")[2] == b"Howdy\n"
        assert fetch(port, "/hi")[2] == b"Howdy, partner!\n"
        # A plugin's text answers as text (issue #19: it had no Content-Type).
        assert fetch(port, "/hi")[1]["content-type"] == "text/plain; charset=utf-8"
        assert fetch(port, "/")[0] == 404
        result = server.stop()
    assertStoppedCleanly(result)


def test_optionFromSiteFile(tmp_path):
    (tmp_path / "site.toml").write_text(
        f'listen = ["{LOCAL}"]\n[options]\ngreeting = "Ahoy"\n'
        '[mounts."/q"]\nkind = "hello"\nargument = "crew"\npunctuation = "?"\n')
    with Server(pythonWeb2("--config", "site.toml"), cwd=tmp_path) as server:
        port = server.port
        assert fetch(port, "/hello")[2] == b"Ahoy\n"
        assert fetch(port, "/q")[2] == b"Ahoy, crew?\n"
        assertStoppedCleanly(server.stop())


def test_badArgumentOfItsKind():
    result = runToEnd(pythonWeb2("--listen", LOCAL, "--mount", "/=hello:"))
    assert result.returncode == 1
    assert result.stderr.strip() == ("web2: error: --mount /=hello:: hello: needs a name, "
                                     "e.g. hello:world")
