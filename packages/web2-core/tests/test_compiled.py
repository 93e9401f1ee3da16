"""
The compiled build of web2-core: the build hook's rules, the list of compiled
modules, and the installed build being the one the test matrix asked for.

The matrix runs web2-core's tests twice, once on the wheel with the request
path compiled and once on the pure-Python wheel, and says which through
C{WEB2_EXPECT_BUILD}; by hand (an editable install, always pure Python) the
variable is unset and the build must merely be whole, never partial.
"""

import ast
import importlib
import importlib.util
import os
from pathlib import Path

import pytest
from _launch_helpers import Server, fetch, pythonWeb2, runToEnd, twistdWeb2
from twisted.logger import Logger

from web2 import _compiled
from web2._compiled import COMPILED_MODULES, compiledModules, describeBuild
from web2._version import __version__

HOOK = Path(__file__).resolve().parent.parent / "hatch_build.py"
SOURCE = Path(_compiled.__file__).resolve().parent


def loadHook():
    """
    The build hook module, or a skip where hatchling is not installed (the
    hook runs inside hatchling's build environment, not the test venv).
    """
    pytest.importorskip("hatchling")
    spec = importlib.util.spec_from_file_location("web2_hatch_build", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_buildIsWhole():
    """
    Every listed module is compiled, or none is: a partial build means an
    install went wrong, and would measure and behave as neither.
    """
    assert len(compiledModules()) in (0, len(COMPILED_MODULES))
    assert not describeBuild().startswith("partly")


def test_buildIsTheExpectedOne():
    """
    The test matrix says which build each run tests, and it is that one.
    """
    expected = os.environ.get("WEB2_EXPECT_BUILD")
    compiled = compiledModules()
    if expected == "compiled":
        assert compiled == list(COMPILED_MODULES)
        assert describeBuild() == f"compiled ({len(COMPILED_MODULES)} modules, Cython)"
    elif expected == "pure":
        assert compiled == []
        assert describeBuild() == "pure Python"
    else:
        assert expected is None, f"WEB2_EXPECT_BUILD={expected!r}: compiled or pure"
        # By hand: whatever is installed must at least be importable and whole.
        for name in COMPILED_MODULES:
            importlib.import_module(name)


def test_listedModulesExist():
    """
    Each listed module has its source beside it (the reference, shipped in
    both builds), listed once, in a package this distribution owns.
    """
    assert len(set(COMPILED_MODULES)) == len(COMPILED_MODULES)
    for name in COMPILED_MODULES:
        assert name.startswith("web2.")
        parts = name.split(".")[1:]
        assert (SOURCE.joinpath(*parts[:-1]) / (parts[-1] + ".py")).is_file(), name


#: What compiled code would do differently: read the caller's frame (there is
#: none), or hand Twisted a generator it checks the exact type of
#: (inlineCallbacks wants types.GeneratorType; Cython's generators are not).
#: Coroutines made by compiled code must reach Twisted through
#: Deferred.fromCoroutine, which accepts any coroutine, not maybeDeferred,
#: which wants CoroutineType: the stream tests run on both builds.
_FRAME_OR_TYPE_DEPENDENT = ("_getframe", "currentframe", "inspect.stack", "stacklevel",
                            "inlineCallbacks", "HookspecMarker", "HookimplMarker",
                            "locals()")  # fmt: skip


def _callee(node):
    return getattr(node.func, "id", None) or getattr(node.func, "attr", None)


@pytest.mark.parametrize("name", COMPILED_MODULES)
def test_listedModulesAreSafeToCompile(name):
    """
    No listed module declares a zope interface (its methods must stay plain
    functions), uses anything that depends on frames or on the exact type of
    generators and coroutines, leaves a Logger to guess its namespace from
    the caller's frame (it would log as importlib's), or makes a class with
    three-argument C{type()} without naming its module (which is otherwise
    read from the caller's frame).
    """
    parts = name.split(".")[1:]
    source = (SOURCE.joinpath(*parts[:-1]) / (parts[-1] + ".py")).read_text()
    for word in _FRAME_OR_TYPE_DEPENDENT:
        assert word not in source, f"{name} uses {word}"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            bases = {getattr(b, "id", getattr(b, "attr", None)) for b in node.bases}
            assert "Interface" not in bases, f"{name}.{node.name} is an interface"
        if isinstance(node, ast.Call) and _callee(node) == "Logger":
            assert node.args or node.keywords, f"{name}: Logger() without a namespace"
        if isinstance(node, ast.Call) and _callee(node) == "type" and len(node.args) == 3:
            namespace = node.args[2]
            assert isinstance(namespace, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "__module__"
                for k in namespace.keys
            ), f"{name}: type() without __module__ (line {node.lineno})"


def test_loggersAreNamedForTheirModule():
    """
    A module's log events carry its own name as their namespace, compiled or
    not, so that operators can filter by module.
    """
    namespaces = {}
    for name in COMPILED_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, Logger):
                namespaces[name] = value.namespace
    assert {"web2.server", "web2.channel.http", "web2.http"} <= namespaces.keys()
    assert {name: name for name in namespaces} == namespaces


def test_factoryProtocolKeepsItsModule():
    """
    The per-factory channel subclass belongs to web2.channel.http, compiled or
    not (three-argument type() would otherwise take the caller's module).
    """
    from twisted.internet.task import Clock

    from web2 import channel, resource, server

    factory = channel.HTTPFactory(server.Site(resource.Resource()), reactor=Clock())
    assert factory.protocol.__module__ == "web2.channel.http"
    assert factory.protocol.__mro__[1] is channel.HTTPChannel


def test_versionAndStartupNameTheBuild():
    """
    C{--version} and the startup log line both say which build is running.
    """
    build = describeBuild()
    result = runToEnd(twistdWeb2("--version"))
    assert result.returncode == 0
    assert result.stdout.rstrip().endswith(f"; {build})")
    with Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1",
                           "--mount", "/=text:built")) as server:  # fmt: skip
        assert fetch(server.port, "/")[::2] == (200, b"built")
        result = server.stop()
    assert f"web2 {__version__}, {build}; reactor " in result.output


class TestHook:
    """
    The rules of C{hatch_build.py}, without building (the matrix builds both
    wheels and runs every test on each).
    """

    @pytest.mark.parametrize("raw, mode", [
        (None, "auto"), ("", "auto"), ("auto", "auto"), (" AUTO ", "auto"),
        ("1", "require"), ("yes", "require"), ("require", "require"),
        ("0", "off"), ("no", "off"), ("off", "off"),
    ])  # fmt: skip
    def test_mode(self, monkeypatch, raw, mode):
        hook = loadHook()
        if raw is None:
            monkeypatch.delenv("WEB2_EXTENSIONS", raising=False)
        else:
            monkeypatch.setenv("WEB2_EXTENSIONS", raw)
        assert hook.extensionsMode() == mode

    @pytest.mark.parametrize("raw", ["2", "true-ish", "maybe"])
    def test_badModeIsAnError(self, monkeypatch, raw):
        hook = loadHook()
        monkeypatch.setenv("WEB2_EXTENSIONS", raw)
        with pytest.raises(ValueError, match="WEB2_EXTENSIONS"):
            hook.extensionsMode()

    def test_readsTheSameList(self):
        """
        The hook reads the list from the source without importing web2, and
        reads the same list as this installation has.
        """
        hook = loadHook()
        assert hook.compiledModuleNames(HOOK.parent) == list(COMPILED_MODULES)

    def makeHook(self, tmp_path):
        """
        The hook as hatchling makes it, with a recording stand-in for
        hatchling's application object.
        """
        module = loadHook()

        class App:
            warnings = []

            def display_warning(self, message):
                self.warnings.append(message)

        hook = module.CompileHook(str(HOOK.parent), {}, None, None, str(tmp_path),
                                  "wheel", App())  # fmt: skip
        return hook

    @staticmethod
    def buildData():
        return {"force_include": {}, "pure_python": True, "infer_tag": False}

    @pytest.mark.parametrize("mode, version", [("1", "editable"), ("0", "standard")])
    def test_compilesNothing(self, tmp_path, monkeypatch, mode, version):
        """
        An editable build compiles nothing, even when asked to compile, and
        neither does a build with WEB2_EXTENSIONS=0.
        """
        hook = self.makeHook(tmp_path)
        monkeypatch.setenv("WEB2_EXTENSIONS", mode)
        monkeypatch.setattr(hook, "_compile", lambda *a: pytest.fail("compiled"))
        data = self.buildData()
        hook.initialize(version, data)
        assert data == self.buildData()

    def test_compiledModulesGoIntoTheWheel(self, tmp_path, monkeypatch):
        """
        Each built library goes into the wheel at its module's path, and the
        wheel is tagged for this interpreter and platform; finalize removes
        the work directory.
        """
        hook = self.makeHook(tmp_path)
        monkeypatch.setenv("WEB2_EXTENSIONS", "auto")

        def compileInto(root, workDir):
            library = workDir / "lib" / "web2" / "channel" / "http.cpython-311-x.so"
            library.parent.mkdir(parents=True)
            library.write_bytes(b"")
            return {"web2.channel.http": library}

        monkeypatch.setattr(hook, "_compile", compileInto)
        data = self.buildData()
        hook.initialize("standard", data)
        [(source, target)] = data["force_include"].items()
        assert target == "web2/channel/http.cpython-311-x.so"
        assert Path(source).is_file()
        assert data["pure_python"] is False and data["infer_tag"] is True
        hook.finalize("standard", data, "artifact.whl")
        assert not Path(source).exists()

    def test_autoFallsBackToPurePython(self, tmp_path, monkeypatch):
        """
        In auto mode a failed compile (no compiler, say) is a warning and a
        pure-Python wheel; with WEB2_EXTENSIONS=1 it fails the build.
        """
        hook = self.makeHook(tmp_path)

        def noCompiler(root, workDir):
            raise OSError("gcc: not found")

        monkeypatch.setattr(hook, "_compile", noCompiler)
        monkeypatch.setenv("WEB2_EXTENSIONS", "auto")
        data = self.buildData()
        hook.initialize("standard", data)
        assert data == self.buildData()
        assert "gcc: not found" in hook.app.warnings[-1]
        assert "pure-Python" in hook.app.warnings[-1]
        monkeypatch.setenv("WEB2_EXTENSIONS", "1")
        with pytest.raises(OSError, match="gcc"):
            hook.initialize("standard", self.buildData())

    def test_dependencies(self, monkeypatch):
        """
        Cython is asked for only when the build may compile.
        """
        hook = loadHook()
        monkeypatch.setenv("WEB2_EXTENSIONS", "0")
        assert hook.CompileHook.dependencies(None) == []
        monkeypatch.setenv("WEB2_EXTENSIONS", "auto")
        assert any(r.startswith("cython") for r in hook.CompileHook.dependencies(None))



def _pxdClasses(path):
    """
    The C{cdef class} declarations of an augmenting C{.pxd}: C{{class name:
    [field, ...]}}.
    """
    classes = {}
    current = None
    for line in path.read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped.startswith("cdef class "):
            name = stripped[len("cdef class "):].rstrip(":").partition("(")[0]
            current = classes.setdefault(name, [])
        elif current is not None and stripped.startswith("    cdef "):
            current.append(stripped.split()[-1])
    return classes


def _declarations():
    found = []
    for name in COMPILED_MODULES:
        pxd = SOURCE.parent / (name.replace(".", "/") + ".pxd")
        if pxd.exists():
            for cls, fields in _pxdClasses(pxd).items():
                found.append((name, cls, fields))
    return found


def test_declaredClassesAreTheSlots():
    """
    A class that the compiled build declares as an extension type (an
    augmenting C{.pxd} beside its module) has exactly the fields its pure
    class has as C{__slots__}, so that both builds hold the same state.
    """
    declared = _declarations()
    assert {(name, cls) for name, cls, _ in declared} >= {
        ("web2._wire._reader", "RequestReader"),
        ("web2.http_headers", "Headers"),
        ("web2.channel._request", "HTTPChannelRequest"),
        ("web2.channel.http", "HTTPChannel"),
        ("web2.http", "Request"),
        ("web2.server", "Request"),
    }
    for name, cls, fields in declared:
        pure = getattr(importlib.import_module(name), cls)
        # A subclass declares its own fields only, as its __slots__ lists.
        assert sorted(fields) == sorted(pure.__dict__["__slots__"]), (name, cls)


def test_declaredClassesAreExtensionTypes():
    """
    In the compiled build the declared classes are Cython extension types
    (which Cython gives its own pickling methods; a .pxd that Cython did not
    find leaves a plain class); in the pure build, plain classes.  Either
    way they refuse attributes they do not declare, unless they or a base
    declare a C{__dict__} (requests: applications set attributes of their
    own on them).
    """
    compiled = bool(compiledModules())
    declared = _declarations()
    withDict = [
        getattr(importlib.import_module(name), cls)
        for name, cls, fields in declared if "__dict__" in fields
    ]
    for name, cls, _fields in declared:
        klass = getattr(importlib.import_module(name), cls)
        assert hasattr(klass, "__reduce_cython__") is compiled, (name, cls)
        instance = klass.__new__(klass)
        if issubclass(klass, tuple(withDict)):
            instance.notDeclared = 1
            assert instance.__dict__ == {"notDeclared": 1}
            continue
        with pytest.raises(AttributeError):
            instance.notDeclared = 1
