"""
The wheel build hook of web2-core: compile the request path with Cython.

The modules named in C{src/web2/_compiled.py} are compiled from their own
source into extension modules that ship beside the C{.py} files (Python
imports the extension first).  Nothing in the source is Cython-specific: the
pure-Python modules stay the reference, and the same tests run on both builds.

C{WEB2_EXTENSIONS} chooses, at build time:

  - unset or C{auto}: compile; if that fails (no C compiler, no Python
    headers), warn and build the pure-Python wheel;
  - C{1}: compile, and fail the build if compiling fails;
  - C{0}: pure Python, without asking for Cython at all.

Editable installs are always pure Python, so that edits take effect.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: What the build needs besides hatchling when it compiles.
COMPILE_REQUIREMENTS = ["cython>=3.0,<4", "setuptools>=68"]

#: Cython's reading of the sources: Python 3 semantics, and annotations left
#: as annotations (they are documentation here, not C types: a C{-> bool}
#: must not turn a function into one that can only return True or False).
DIRECTIVES = {
    "language_level": 3,
    "annotation_typing": False,
    "binding": True,
    "embedsignature": True,
}


def extensionsMode() -> str:
    """
    C{"auto"}, C{"require"} or C{"off"}, from C{$WEB2_EXTENSIONS}.
    """
    raw = os.environ.get("WEB2_EXTENSIONS", "auto").strip().lower()
    modes = {"": "auto", "auto": "auto", "1": "require", "require": "require",
             "yes": "require", "0": "off", "off": "off", "no": "off"}  # fmt: skip
    if raw not in modes:
        raise ValueError(f"WEB2_EXTENSIONS={raw!r}: use auto, 1 or 0")
    return modes[raw]


def compiledModuleNames(root: Path) -> list[str]:
    """
    L{web2._compiled.COMPILED_MODULES}, read from the source without importing
    it (web2 is not installed where the wheel is built).
    """
    tree = ast.parse((root / "src" / "web2" / "_compiled.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "COMPILED_MODULES" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise LookupError("COMPILED_MODULES not found in src/web2/_compiled.py")


class CompileHook(BuildHookInterface):
    """
    Compile L{compiledModuleNames} into the wheel, and tag it for this
    interpreter and platform when it does.
    """

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return [] if extensionsMode() == "off" else list(COMPILE_REQUIREMENTS)

    def initialize(self, version: str, build_data: dict) -> None:
        mode = extensionsMode()
        if version == "editable" or mode == "off":
            return
        root = Path(self.root)
        workDir = Path(tempfile.mkdtemp(prefix="web2-compile-"))
        try:
            built = self._compile(root, workDir)
        except Exception as e:
            shutil.rmtree(workDir, ignore_errors=True)
            if mode == "require":
                raise
            self.app.display_warning(
                f"web2-core: compiling failed ({e.__class__.__name__}: {e}); "
                "building the pure-Python wheel instead"
            )
            return
        self._workDir = workDir
        for library in built.values():
            relative = library.relative_to(workDir / "lib").as_posix()
            build_data["force_include"][str(library)] = relative
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict, artifact: str) -> None:
        workDir = getattr(self, "_workDir", None)
        if workDir is not None:
            shutil.rmtree(workDir, ignore_errors=True)

    def _compile(self, root: Path, workDir: Path) -> dict[str, Path]:
        """
        Cythonize and compile each module into C{workDir}.

        @return: each module's name and the path of its built library.
        """
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension

        names = compiledModuleNames(root)
        extensions = [
            Extension(
                name,
                [str(root / "src" / (name.replace(".", "/") + ".py"))],
                # No debug information: smaller libraries, and debugging
                # happens on the pure-Python build.
                extra_compile_args=["-g0"] if os.name == "posix" else [],
            )
            for name in names
        ]
        jobs = os.cpu_count() or 1
        modules = cythonize(
            extensions,
            build_dir=str(workDir / "c"),
            # Where Cython finds the augmenting .pxd files beside the
            # sources (src/web2/http_headers.pxd: the extension types of the
            # compiled build); without it, web2 being a namespace package,
            # they are silently ignored.
            include_path=[str(root / "src")],
            compiler_directives=DIRECTIVES,
            nthreads=jobs,
            quiet=True,
        )
        distribution = Distribution({"name": "web2-core", "ext_modules": modules})
        command = distribution.get_command_obj("build_ext")
        command.build_lib = str(workDir / "lib")
        command.build_temp = str(workDir / "tmp")
        command.parallel = jobs
        command.ensure_finalized()
        command.run()
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = {}
        for name in names:
            library = workDir / "lib" / (name.replace(".", "/") + suffix)
            if not library.is_file():
                raise FileNotFoundError(f"{name}: no {library.name} after compiling")
            built[name] = library
        print(f"web2-core: compiled {len(built)} modules with Cython", file=sys.stderr)
        return built
