"""
Tests for L{web2.mount}: dispatch by mounted path, and turning mount
specifications into resources with precise errors.
"""

import os

import pytest
from _core_helpers import Connection

from web2 import http, resource
from web2.config import ConfigError, MountSpec, SiteConfig, parseMount
from web2.iweb import IResource
from web2.mount import MountTree, buildRoot, resolveMounts


class Echo(resource.LeafResource):
    """
    Answers with its name and the request's prepath and postpath.
    """

    def __init__(self, name):
        self.name = name

    def render(self, request):
        return http.Response(200, None, f"{self.name} prepath={'/'.join(request.prepath)}"
                                        f" postpath={'/'.join(request.postpath)}")


class Dir(resource.Resource):
    addSlash = True

    def __init__(self, name):
        self.name = name
        self.putChild("leaf", Echo(name + "-leaf"))

    def render(self, request):
        return http.Response(200, None, self.name + " index")


def _get(root, path):
    c = Connection(root)
    c.send(f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
    [r] = c.responses()
    return r


def _tree():
    return MountTree({"/": Dir("root"), "/app": Echo("app"), "/app/admin": Echo("admin"),
                      "/a/b/c": Dir("deep")})


@pytest.mark.parametrize("path, status, body", [
    ("/", 200, b"root index"),
    ("/leaf", 200, b"root-leaf prepath=leaf postpath="),
    ("/app", 200, b"app prepath=app postpath="),
    ("/app/x/y", 200, b"app prepath=app postpath=x/y"),
    ("/application", 404, None),  # whole segments only: falls back to "/"
    ("/app/admin/z", 200, b"admin prepath=app/admin postpath=z"),
    ("/app/administrator", 200, b"app prepath=app postpath=administrator"),
    ("/a/b/c/leaf/q", 200, b"deep-leaf prepath=a/b/c/leaf postpath=q"),
    ("/a/b/c/", 200, b"deep index"),
    ("/a/b", 404, None),
    ("/a%2Fb/c", 404, None),  # an encoded slash is part of a segment
])
def test_dispatch(path, status, body):
    """
    The longest mounted prefix wins, in whole segments; the mounted
    resource sees its prefix in C{prepath} and the rest in C{postpath}.
    """
    r = _get(_tree(), path)
    assert r.status == status, r
    if body is not None:
        assert r.body == body


@pytest.mark.parametrize("order", [
    ("/a", "/a/b", "/a/b/c"), ("/a/b/c", "/a", "/a/b"), ("/a/b", "/a/b/c", "/a")])
def test_deepestPrefixWhateverTheMountOrder(order):
    """
    Mounts sharing a first segment are tried deepest first, in whatever
    order they were mounted; a path below none of them is the root's.
    """
    tree = MountTree({})
    tree.mount("/", Echo("root"))
    for path in order:
        tree.mount(path, Echo(path))
    assert _get(tree, "/a/b/c/d").body == b"/a/b/c prepath=a/b/c postpath=d"
    assert _get(tree, "/a/b/x").body == b"/a/b prepath=a/b postpath=x"
    assert _get(tree, "/a/x").body == b"/a prepath=a postpath=x"
    assert _get(tree, "/a").body == b"/a prepath=a postpath="
    assert _get(tree, "/b/a").body == b"root prepath= postpath=b/a"


def test_noRootMount():
    """
    Without a mount at C{/}, unmounted paths are 404.
    """
    tree = MountTree({"/app": Echo("app")})
    assert _get(tree, "/").status == 404
    assert _get(tree, "/other").status == 404
    assert _get(tree, "/app/1").body == b"app prepath=app postpath=1"


def test_slashRedirectAtMount():
    """
    A directory-like resource mounted at C{/d} redirects C{/d} to C{/d/}.
    """
    r = _get(MountTree({"/d": Dir("d")}), "/d")
    assert r.status == 301 and r.header("location").endswith("/d/")


def test_mountTwice():
    tree = MountTree({"/a": Echo("a")})
    with pytest.raises(ConfigError):
        tree.mount("/a/", Echo("b"))


def test_buildRoot():
    """
    A single mount at C{/} is the root itself; anything else is a tree.
    """
    leaf = Echo("x")
    assert buildRoot([("/", leaf, "s")]) is leaf
    tree = buildRoot([("/x", leaf, "s")])
    assert isinstance(tree, MountTree) and tree.mounts == {"/x": leaf}


def _kinds():
    def echo(argument, config):
        if argument == "bad":
            raise ValueError("echo: 'bad' is not a name")
        return Echo(argument)

    def opts(argument, config, colour="red"):
        return Echo(argument + colour)

    return {"echo": echo, "opts": opts, "none": lambda argument, config: object()}


def test_resolveMounts():
    specs = [parseMount("/=echo:root"), MountSpec("/o", "opts", "x", {"colour": "blue"}, "s")]
    mounts = resolveMounts(specs, _kinds(), SiteConfig(),
                           [("/plug/", Echo("p"), "myplugin")])
    assert [(p, s) for p, _, s in mounts] == [
        ("/", "--mount /=echo:root"), ("/o", "s"), ("/plug", "plugin 'myplugin'")]
    assert mounts[1][1].name == "xblue"


@pytest.mark.parametrize("spec, message", [
    ("/=static:./public",
     "--mount /=static:./public: unknown mount kind 'static' (known kinds: echo, none, "
     "opts); it is provided by web2-static: pip install web2-static"),
    ("/=wsgi:app:application", "pip install web2-wsgi"),
    ("/=flurb:x", "unknown mount kind 'flurb' (known kinds: echo, none, opts)"),
    ("/=echo:bad", "--mount /=echo:bad: echo: 'bad' is not a name"),
    ("/=none:", "mount kind 'none' made <object"),
])
def test_resolveErrors(spec, message):
    with pytest.raises(ConfigError) as e:
        resolveMounts([parseMount(spec)], _kinds(), SiteConfig())
    assert message in str(e.value)


def test_unknownMountOption():
    spec = MountSpec("/", "echo", "x", {"listing": True}, "site.toml: [mounts] '/'")
    with pytest.raises(ConfigError) as e:
        resolveMounts([spec], _kinds(), SiteConfig())
    assert str(e.value) == ("site.toml: [mounts] '/': mount kind 'echo' does not accept "
                            "the options listing")


def test_pluginMountClash():
    """
    A plugin mounting a path already mounted is reported with both sources.
    """
    with pytest.raises(ConfigError) as e:
        resolveMounts([parseMount("/=echo:a")], _kinds(), SiteConfig(),
                      [("/", Echo("b"), "static")])
    assert str(e.value) == ("two mounts at the same path '/': --mount /=echo:a and "
                            "plugin 'static'")
    with pytest.raises(ConfigError) as e:
        resolveMounts([], _kinds(), SiteConfig(),
                      [("/x", Echo("a"), "one"), ("/x/", Echo("b"), "two")])
    assert str(e.value) == "two mounts at the same path '/x': plugin 'one' and plugin 'two'"


def test_pluginMountNotAResource():
    with pytest.raises(ConfigError) as e:
        resolveMounts([], _kinds(), SiteConfig(), [("/x", 42, "bad")])
    assert "plugin 'bad' mounted 42 at '/x', not a resource" in str(e.value)


def test_providesIResource():
    from zope.interface.verify import verifyObject

    assert verifyObject(IResource, MountTree())


def test_pathArgumentsFromASiteFileAreRelativeToIt(tmp_path):
    """
    A kind that declares a path argument gets a site file's relative path
    joined to the file's directory; absolute paths, home-relative paths,
    command-line mounts and kinds without the declaration are untouched.
    """
    seen = []

    def files(argument, config):
        seen.append(argument)
        return Echo(argument)

    files.pathArgument = True

    def other(argument, config):
        seen.append(argument)
        return Echo(argument)

    base = str(tmp_path)
    specs = [
        MountSpec("/a", "files", "www/pub", {}, "file", base),
        MountSpec("/b", "files", "/abs/www", {}, "file", base),
        MountSpec("/c", "files", "~/www", {}, "file", base),
        MountSpec("/d", "other", "www/pub", {}, "file", base),
        parseMount("/e=files:www/pub"),
    ]
    resolveMounts(specs, {"files": files, "other": other}, SiteConfig())
    assert seen == [os.path.join(base, "www", "pub"), "/abs/www", "~/www", "www/pub", "www/pub"]
