"""
Bad input to C{python -m web2} and C{twistd web2}, each run as a real
subprocess: one clear message naming the problem, a non-zero exit status,
and no traceback.
"""

import socket
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import (  # noqa: E402
    Server,
    fetch,
    pythonWeb2,
    runToEnd,
    twistdWeb2,
)

LOCAL = "tcp:0:interface=127.0.0.1"


def _fails(command, message, *, env=None, cwd=None, status=None, where="stderr"):
    """
    Run C{command}; check it fails with C{message} and without a traceback.
    """
    result = runToEnd(command, env=env, cwd=cwd)
    assert result.returncode != 0, result.output
    if status is not None:
        assert result.returncode == status
    assert message in getattr(result, where), result.output
    assert "Traceback" not in result.output, result.output
    return result


def test_unknownOption():
    result = _fails(pythonWeb2("--colour", "red"), "web2: error: option --colour not recognized",
                    status=2)
    assert result.stdout == ""
    # twistd web2 says the same in two lines, not its whole help first
    result = _fails(twistdWeb2("--colour", "red"),
                    "web2: error: option --colour not recognized\n"
                    "Try 'twistd web2 --help' for the options.\n", status=2)
    assert result.stdout == ""


def test_missingConfigFile(tmp_path):
    _fails(pythonWeb2("--config", "nope.toml"),
           "web2: error: config file 'nope.toml' does not exist", cwd=tmp_path, status=1)
    _fails(twistdWeb2("--config", "nope.toml"),
           "web2: error: config file 'nope.toml' does not exist", cwd=tmp_path)


def test_malformedConfigFile(tmp_path):
    (tmp_path / "site.toml").write_text("[mounts]\n'/' = \n")
    _fails(pythonWeb2("--config", "site.toml"),
           "web2: error: config file 'site.toml' is not valid TOML: ", cwd=tmp_path)


def test_unknownConfigKey(tmp_path):
    (tmp_path / "site.toml").write_text("lisen = ['tcp:0']\n")
    _fails(pythonWeb2("--config", "site.toml"),
           "web2: error: site.toml: unknown key 'lisen' (known keys: ", cwd=tmp_path)


def test_twoMountsAtOnePath(tmp_path):
    _fails(pythonWeb2("--listen", LOCAL, "--mount", "/a=text:1", "--mount", "/a/=text:2"),
           "web2: error: two mounts at the same path '/a': --mount /a=text:1 and "
           "--mount /a/=text:2")
    (tmp_path / "site.toml").write_text(textwrap.dedent("""
        [mounts]
        "/x" = "text:1"
        "/x/" = "text:2"
    """))
    _fails(twistdWeb2("--config", "site.toml"), "two mounts at the same path '/x'",
           cwd=tmp_path)


def test_pluginMountClash():
    """
    A plugin's own mount (here web2-static's --path) on a path already
    mounted is named as such.
    """
    pytest.importorskip("web2.static.plugin")
    _fails(pythonWeb2("--listen", LOCAL, "--path", ".", "--mount", "/=text:x"),
           "two mounts at the same path '/': --mount /=text:x and plugin 'static'")


def test_portInUse(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        listen = f"tcp:{port}:interface=127.0.0.1"
        message = f"web2: error: cannot listen on '{listen}': Address already in use"
        _fails(pythonWeb2("--listen", listen, "--mount", "/=text:x"), message)
        # twistd has redirected standard error to its log by then
        _fails(twistdWeb2("--listen", listen, "--mount", "/=text:x"), message, cwd=tmp_path,
               where="output")


def test_badEndpoint():
    _fails(pythonWeb2("--listen", "tcpp:80"),
           "web2: error: bad --listen 'tcpp:80': unknown endpoint type 'tcpp' "
           "(common ones: tcp, tcp6, ssl, unix, systemd)")


def test_kindOfMissingPlugin():
    """
    A mount of a kind whose plugin is not installed (here: disabled) says
    which package provides it.
    """
    _fails(pythonWeb2("--listen", LOCAL, "--mount", "/=static:."),
           "web2: error: --mount /=static:.: unknown mount kind 'static' (known kinds: ",
           env={"WEB2_DISABLE_PLUGINS": "static"})
    _fails(twistdWeb2("--listen", LOCAL, "--mount", "/=static:."),
           "; it is provided by web2-static: pip install web2-static",
           env={"WEB2_DISABLE_PLUGINS": "static"})


def test_badMountArgument():
    _fails(pythonWeb2("--listen", LOCAL, "--mount", "/=class:nowhere.Nothing"),
           "web2: error: --mount /=class:nowhere.Nothing: cannot find class "
           "'nowhere.Nothing'")


@pytest.fixture
def brokenPlugin(tmp_path):
    """
    A third-party distribution whose plugin module fails to import, on the
    subprocess's path.
    """
    site = tmp_path / "site"
    info = site / "web2_broken_fixture-0.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: web2-broken-fixture\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[web2]\nbroken = web2_broken_fixture\n")
    (site / "web2_broken_fixture.py").write_text("import a_module_that_is_not_there\n")
    return {"PYTHONPATH": str(site)}


def test_brokenPlugin(brokenPlugin, tmp_path):
    message = ("web2: error: plugin 'broken' (web2-broken-fixture 0.3) failed to load: "
               "ModuleNotFoundError: No module named 'a_module_that_is_not_there' "
               "(use --skip-broken-plugins to start without it)")
    _fails(pythonWeb2("--listen", LOCAL, "--mount", "/=text:x"), message, env=brokenPlugin)
    _fails(twistdWeb2("--listen", LOCAL, "--mount", "/=text:x"), message, env=brokenPlugin,
           cwd=tmp_path)


def test_brokenPluginListed(brokenPlugin):
    result = runToEnd(pythonWeb2("--list-plugins"), env=brokenPlugin)
    assert result.returncode == 0
    assert "broken  (web2-broken-fixture 0.3)  BROKEN" in result.stdout


def test_skipBrokenPlugin(brokenPlugin, tmp_path):
    """
    With --skip-broken-plugins the server starts, warning about the plugin.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/=text:ok",
                           "--skip-broken-plugins"), env=brokenPlugin) as server:
        assert fetch(server.port, "/")[2] == b"ok"
        result = server.stop()
    assert "plugin 'broken' (web2-broken-fixture 0.3) failed to load" in result.output
    assert "skipped" in result.output
    assert "Traceback" not in result.output
