"""
Tests for L{web2.config}: the site file and the command line merged into
one L{SiteConfig}, with precise messages for bad input.
"""

import dataclasses
import inspect
import os

import pytest

from web2.config import (
    SERVER_SETTINGS,
    ConfigError,
    buildSiteConfig,
    loadConfigFile,
    normalizeMountPath,
    parseMount,
)
from web2.hookspecs import Option


def _file(tmp_path, text, name="site.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _build(text=None, cli=None, tmp_path=None, **kw):
    fileData = None
    if text is not None:
        fileData = loadConfigFile(_file(tmp_path, text))
        return buildSiteConfig(cli or {}, fileData=fileData, fileName=str(tmp_path / "site.toml"), **kw)
    return buildSiteConfig(cli or {}, **kw)


def test_defaults():
    config = buildSiteConfig({})
    assert config.listeners == ["tcp:8080"]
    assert config.mounts == [] and config.accessLog is None
    assert config.logFormat == "combined" and config.shutdownTimeout == 10.0


@pytest.mark.parametrize("text, expected", [
    ("/=static:./public", ("/", "static", "./public")),
    ("/app/=wsgi:proj.wsgi:app", ("/app", "wsgi", "proj.wsgi:app")),
    ("/_plugins=plugins", ("/_plugins", "plugins", "")),
    ("/a/b=redirect:http://x/", ("/a/b", "redirect", "http://x/")),
])
def test_parseMount(text, expected):
    spec = parseMount(text)
    assert (spec.path, spec.kind, spec.argument) == expected
    assert spec.source == f"--mount {text}"


@pytest.mark.parametrize("text, message", [
    ("static:./public", "expected PATH=KIND:ARGUMENT"),
    ("/=", "expected PATH=KIND:ARGUMENT"),
    ("app=static:x", "mount path 'app' must start with '/'"),
    ("/a//b=static:x", "empty, '.' or '..' segment"),
    ("/a/../b=static:x", "empty, '.' or '..' segment"),
])
def test_parseMountErrors(text, message):
    with pytest.raises(ConfigError) as e:
        parseMount(text)
    assert message in str(e.value)
    assert str(e.value).startswith(f"--mount {text}:")


def test_normalizeMountPath():
    assert normalizeMountPath("/", "x") == "/"
    assert normalizeMountPath("/a/b/", "x") == "/a/b"


def test_missingFile(tmp_path):
    with pytest.raises(ConfigError) as e:
        loadConfigFile(str(tmp_path / "nope.toml"))
    assert str(e.value) == f"config file {str(tmp_path / 'nope.toml')!r} does not exist"


def test_malformedFile(tmp_path):
    path = _file(tmp_path, "listen = []\nshutdown-timeout = = 2\n")
    with pytest.raises(ConfigError) as e:
        loadConfigFile(path)
    assert "is not valid TOML" in str(e.value) and "line 2" in str(e.value)


FULL = """
listen = ["tcp:0:interface=127.0.0.1", "unix:/tmp/x.sock"]
shutdown-timeout = 3
python-path = ["lib"]

[access-log]
path = "access.log"
format = "json"

[server]
max-connections = 5
idle-timeout = 2.5
max-body-size = 1000
max-header-count = 20

[mounts]
"/" = "class:pkg.Root"
"/old/" = "redirect:/new"
[mounts."/files"]
kind = "static"
argument = "./public"
listing = true

[options]
greeting = "hi"
"""


def test_fullFile(tmp_path):
    config = _build(FULL, tmp_path=tmp_path, pluginOptions={"greeting": Option("greeting")},
                    logFormats=("combined", "json"))
    assert config.listeners == ["tcp:0:interface=127.0.0.1", "unix:/tmp/x.sock"]
    assert config.shutdownTimeout == 3.0
    # Paths in a site file are relative to the file, wherever it is read from.
    assert config.accessLog == str(tmp_path / "access.log") and config.logFormat == "json"
    assert {m.path: m.base for m in config.mounts} == dict.fromkeys(
        ["/", "/old", "/files"], str(tmp_path))
    assert config.factoryOptions == {"maxConnections": 5, "idleTimeout": 2.5}
    assert config.limits == {"max_body_size": 1000, "max_header_count": 20}
    mounts = {m.path: (m.kind, m.argument, m.options) for m in config.mounts}
    assert mounts == {"/": ("class", "pkg.Root", {}), "/old": ("redirect", "/new", {}),
                      "/files": ("static", "./public", {"listing": True})}
    assert config.get("greeting") == "hi"
    # python-path is relative to the site file's directory
    assert config.pythonPath == [os.path.join(str(tmp_path), "lib")]


def test_commandLineOverrides(tmp_path):
    """
    The command line replaces the file's listeners and values, replaces a
    file mount at the same path and adds its other mounts.
    """
    cli = {"listen": ["tcp:9"], "mount": [parseMount("/=text:hello"),
                                          parseMount("/x=text:x")],
           "access-log": "-", "log-format": "common", "shutdown-timeout": 1.0,
           "max-connections": None, "idle-timeout": 7.0, "greeting": "yo",
           "python-path": ["rel"]}
    config = _build(FULL, cli, tmp_path, pluginOptions={"greeting": Option("greeting")},
                    logFormats=("combined", "common", "json"))
    assert config.listeners == ["tcp:9"]
    assert config.accessLog == "-" and config.logFormat == "common"
    assert config.shutdownTimeout == 1.0
    assert config.factoryOptions == {"maxConnections": 5, "idleTimeout": 7.0}
    assert [(m.path, m.kind) for m in config.mounts] == [
        ("/old", "redirect"), ("/files", "static"), ("/", "text"), ("/x", "text")]
    assert config.get("greeting") == "yo"
    assert config.pythonPath[-1] == os.path.abspath("rel")


@pytest.mark.parametrize("text, message", [
    ("colour = 1", "site.toml: unknown key 'colour' (known keys: access-log, listen,"),
    ("listen = 8080", "site.toml: listen: expected a list of endpoint strings, got an integer 8080"),
    ("listen = []", "at least one endpoint"),
    ("shutdown-timeout = 'soon'", "expected a number of seconds, got a string 'soon'"),
    ("shutdown-timeout = -1", "must be a positive number of seconds"),
    ("shutdown-timeout = true", "got a boolean"),
    ("[access-log]\nfile = 'x'", "[access-log]: unknown key 'file' (known keys: format, path)"),
    ("[access-log]\nformat = 'xml'", "unknown access-log format 'xml' (known formats: combined, common, json)"),
    ("[server]\nmax-conns = 1", "[server]: unknown key 'max-conns'"),
    ("[server]\nidle-timeout = 'x'", "[server]: idle-timeout: could not convert"),
    ("[server]\nmax-header-count = 0", "must be a positive number"),
    ("[mounts]\napp = 'static:x'", "[mounts] 'app': mount path 'app' must start with '/'"),
    ("[mounts]\n'/' = 3", "[mounts] '/': expected a string \"KIND:ARGUMENT\" or a table, got an integer 3"),
    ("[mounts]\n'/' = ':x'", "expected PATH=KIND:ARGUMENT"),
    ("[mounts.'/']\nargument = 'x'", "[mounts] '/': missing key 'kind'"),
    ("[mounts]\n'/a' = 'text:a'\n'/a/' = 'text:b'",
     "site.toml: [mounts] '/a/'"),
    ("[options]\ncolour = 'red'", "[options]: unknown key 'colour' (known keys: greeting, loud, name)"),
    ("[options]\nloud = 'yes'", "[options] loud: expected true or false, got a string 'yes'"),
])
def test_fileErrors(tmp_path, text, message):
    options = {"greeting": Option("greeting"), "loud": Option("loud", flag=True),
               "name": Option("name", multiple=True)}
    with pytest.raises(ConfigError) as e:
        _build(text, tmp_path=tmp_path, pluginOptions=options)
    assert message in str(e.value)


def test_duplicateCommandLineMounts():
    with pytest.raises(ConfigError) as e:
        buildSiteConfig({"mount": [parseMount("/a=text:1"), parseMount("/a/=text:2")]})
    assert str(e.value) == ("two mounts at the same path '/a': --mount /a=text:1 and "
                            "--mount /a/=text:2")


def test_pluginOptionValues(tmp_path):
    """
    Plugin options: defaults, flags, repeatable ones (file then command
    line), and C{coerce} for strings from the file.
    """
    options = {"count": Option("count", default=3, coerce=int),
               "loud": Option("loud", flag=True),
               "name": Option("name", multiple=True),
               "quiet": Option("quiet", flag=True)}
    text = "[options]\ncount = '7'\nname = ['a']\nquiet = true\n"
    config = _build(text, {"name": ["b"], "loud": 1, "quiet": 0}, tmp_path,
                    pluginOptions=options)
    assert config.options == {"count": 7, "loud": True, "name": ["a", "b"], "quiet": True}
    config = buildSiteConfig({}, pluginOptions=options)
    assert config.options == {"count": 3, "loud": False, "name": [], "quiet": False}


def test_coerceErrorInFile(tmp_path):
    options = {"count": Option("count", coerce=int)}
    with pytest.raises(ConfigError) as e:
        _build("[options]\ncount = 'many'", tmp_path=tmp_path, pluginOptions=options)
    assert "site.toml: [options] count: invalid literal for int()" in str(e.value)


def test_settingsMatchTheServer():
    """
    Every server setting names a real argument of the HTTP factory or a
    field of its limits, so that a rename there fails here.
    """
    from web2._wire import Limits
    from web2.channel import HTTPFactory

    factoryArgs = inspect.signature(HTTPFactory).parameters
    fields = {f.name for f in dataclasses.fields(Limits)}
    for setting in SERVER_SETTINGS:
        if setting.target == "factory":
            assert setting.attribute in factoryArgs, setting
        elif setting.target == "listen":
            # A parameter of Twisted's listening endpoints.
            assert setting.attribute == "backlog", setting
        else:
            assert setting.target == "limits" and setting.attribute in fields, setting


def test_noneMeansUnlimited():
    [setting] = [s for s in SERVER_SETTINGS if s.name == "max-body-size"]
    assert setting.coerce("none") is None
    assert setting.coerce("12") == 12
    with pytest.raises(ValueError):
        setting.coerce("-1")


@pytest.mark.parametrize("name", ["max-kernel-unsent-bytes", "backlog"])
def test_socketSettingsFitTheKernel(name):
    """
    Settings handed to the kernel as a C int are refused beyond its range
    at startup: past it, setsockopt and listen raise OverflowError (for the
    kernel's cap on unsent bytes, on every connection).
    """
    [setting] = [s for s in SERVER_SETTINGS if s.name == name]
    assert setting.coerce("131072") == 131072
    with pytest.raises(ValueError):
        setting.coerce(str(2**31))
