"""
Shared helpers of the repository scripts: find the packages, bootstrap the tools
venv, create and reuse virtual environments, install into them.

Only the standard library is used, so that a fresh machine with nothing but
Python 3.11 can run C{make test}.

Installs go through U{uv<https://docs.astral.sh/uv/>} (fast, with a shared
cache) when it can be had, else through pip.  uv is never allowed to download
an interpreter: every venv is made from the Python running this script.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
VENVS = Path(os.environ.get("WEB2_VENVS", ROOT / ".venvs"))

# Bump when the way venvs are built changes, so old ones are rebuilt.
LAYOUT_VERSION = "1"

#: What every test venv gets besides the packages under test.
TEST_TOOLS = ["pytest", "hypothesis", "pytest-timeout"]

#: What the tools venv holds: the installer and the build front end, and what
#: web2-core's compiling build hook needs (C{make wheels} builds without
#: isolation).
TOOL_REQUIREMENTS = ["uv", "build", "hatchling", "cython>=3.0,<4", "setuptools>=68"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def say(message: str) -> None:
    """
    Print one progress line of the scripts, flushed so it interleaves properly
    with the output of the child processes.
    """
    print(f"[web2] {message}", flush=True)


def run(cmd: list[str | os.PathLike], **kwargs) -> None:
    """
    Run C{cmd}, echoing it, and raise L{subprocess.CalledProcessError} if it
    fails.
    """
    say("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def normalize(name: str) -> str:
    """
    The PEP 503 normal form of a distribution name.
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def requirementName(requirement: str) -> str:
    """
    The normalized distribution name a PEP 508 requirement string names.
    """
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"cannot parse requirement {requirement!r}")
    return normalize(match.group(1))


@dataclass
class LocalDist:
    """
    One distribution of this repository: a directory with a pyproject.toml.

    @ivar name: the normalized distribution name.
    @ivar path: its directory.
    @ivar dependencies: the names of its run-time requirements (no extras).
    """

    name: str
    path: Path
    dependencies: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> LocalDist:
        data = tomllib.loads((path / "pyproject.toml").read_text())
        project = data["project"]
        return cls(
            name=normalize(project["name"]),
            path=path,
            dependencies=[requirementName(r) for r in project.get("dependencies", [])],
        )

    def pyprojectBytes(self) -> bytes:
        return (self.path / "pyproject.toml").read_bytes()


def packageDists() -> dict[str, LocalDist]:
    """
    Every distribution under C{packages/}, by name, in name order.
    """
    found = {}
    for path in sorted(PACKAGES.iterdir()):
        if (path / "pyproject.toml").is_file():
            dist = LocalDist.load(path)
            found[dist.name] = dist
    return found


def testPluginDists() -> list[LocalDist]:
    """
    The plugin distributions the cross-package tests install (C{tests/plugins/*/}).
    """
    base = ROOT / "tests" / "plugins"
    if not base.is_dir():
        return []
    return [
        LocalDist.load(p)
        for p in sorted(base.iterdir())
        if (p / "pyproject.toml").is_file()
    ]


def localClosure(
    roots: list[LocalDist], local: dict[str, LocalDist]
) -> list[LocalDist]:
    """
    C{roots} and every local distribution they require, directly or not, so the
    web2-* requirements are installed from this repository and never from an
    index.
    """
    seen: dict[str, LocalDist] = {}
    todo = list(roots)
    while todo:
        dist = todo.pop()
        if dist.name in seen:
            continue
        seen[dist.name] = dist
        todo.extend(local[dep] for dep in dist.dependencies if dep in local)
    return sorted(seen.values(), key=lambda d: d.name)


def fingerprint(*parts: bytes | str) -> str:
    """
    A digest of everything a venv's third-party contents depend on.
    """
    digest = hashlib.sha256()
    for part in (LAYOUT_VERSION, sys.version, *parts):
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def fileBytes(path: Path) -> bytes:
    """
    The contents of C{path}, or nothing if it is absent, for fingerprints.
    """
    return path.read_bytes() if path.is_file() else b""


class Installer:
    """
    Creates venvs and installs into them with uv when available, else pip.

    @ivar uv: the uv executable, or L{None} to use pip.
    """

    def __init__(self, uv: str | None):
        self.uv = uv
        self.python = sys.executable

    @classmethod
    def bootstrap(cls) -> Installer:
        """
        Make sure the tools venv exists (with uv, build and hatchling), then
        return an installer using its uv, or pip if uv cannot be had.
        Setting C{WEB2_NO_UV=1} forces pip.
        """
        tools = VENVS / "tools"
        key = fingerprint(*TOOL_REQUIREMENTS)
        if not _fresh(tools, key):
            shutil.rmtree(tools, ignore_errors=True)
            _stdlibVenv(tools)
            try:
                run([_bin(tools, "python"), "-m", "pip", "install", "-q", "--upgrade",
                     *TOOL_REQUIREMENTS])
            except subprocess.CalledProcessError:
                say("could not install uv/build into the tools venv; trying on")
            else:
                _stamp(tools, key)
        if os.environ.get("WEB2_NO_UV") == "1":
            return cls(None)
        uv = _bin(tools, "uv")
        if uv.exists():
            return cls(str(uv))
        onPath = shutil.which("uv")
        if onPath:
            return cls(onPath)
        say("uv is unavailable: falling back to pip (slower)")
        return cls(None)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["UV_PYTHON_DOWNLOADS"] = "never"
        env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        return env

    def ensureVenv(self, venv: Path, key: str, seed: bool = False) -> bool:
        """
        Create C{venv} unless it exists with the same fingerprint C{key}.

        @param seed: also put pip into it (for venvs people use by hand).
        @return: C{True} if the venv was reused.
        """
        if _fresh(venv, key):
            say(f"reusing {venv.relative_to(ROOT) if venv.is_relative_to(ROOT) else venv}")
            return True
        shutil.rmtree(venv, ignore_errors=True)
        if self.uv:
            cmd = [self.uv, "venv", "-q", "--python", self.python]
            if seed:
                cmd.append("--seed")
            run([*cmd, venv], env=self.env())
        else:
            _stdlibVenv(venv)
        return False

    def stamp(self, venv: Path, key: str) -> None:
        """
        Record that C{venv} is complete for fingerprint C{key}.
        """
        _stamp(venv, key)

    def buildWheel(self, dist: LocalDist, outDir: Path, env: dict[str, str]) -> Path:
        """
        Build C{dist}'s wheel into C{outDir} (emptied first) with the extra
        environment C{env}, and return its path.
        """
        shutil.rmtree(outDir, ignore_errors=True)
        outDir.mkdir(parents=True)
        if self.uv:
            cmd = [self.uv, "build", "-q", "--wheel", "--python", self.python,
                   "--out-dir", outDir, dist.path]  # fmt: skip
        else:
            # The tools venv holds the build backends (TOOL_REQUIREMENTS),
            # as for scripts/build-dists.py: no isolated environment to fetch.
            cmd = [_bin(VENVS / "tools", "python"), "-m", "build", "--wheel",
                   "--no-isolation", "--outdir", outDir, dist.path]  # fmt: skip
        run(cmd, env={**self.env(), **env})
        (wheel,) = outDir.glob("*.whl")
        return wheel

    def install(
        self,
        venv: Path,
        requirements: list[str] = (),
        local: list[LocalDist] = (),
        editable: bool = False,
        requirementFiles: list[Path] = (),
        wheels: dict[str, Path] | None = None,
    ) -> None:
        """
        Install third-party C{requirements} and the C{local} distributions
        (always rebuilt and reinstalled, so the venv holds the current source),
        each from its wheel in C{wheels} (by name) when it has one there.
        """
        python = _bin(venv, "python")
        wheels = wheels or {}
        paths: list[str] = []
        for dist in local:
            if editable:
                paths += ["-e", str(dist.path)]
            else:
                paths.append(str(wheels.get(dist.name, dist.path)))
        files: list[str] = []
        for f in requirementFiles:
            files += ["-r", str(f)]
        env = self.env()
        if editable:
            # Editable builds compile nothing: saying so spares fetching the
            # compiler's build requirements (hatch_build.py).
            env["WEB2_EXTENSIONS"] = "0"
        if self.uv:
            cmd = [self.uv, "pip", "install", "-q", "--python", python]
            for dist in local:
                cmd += ["--reinstall-package", dist.name]
            run([*cmd, *requirements, *files, *paths], env=env)
            return
        pip = [python, "-m", "pip", "install", "-q"]
        run([*pip, *requirements, *files, *paths], env=env)
        if local and not editable:
            run([*pip, "--force-reinstall", "--no-deps", *paths], env=env)


def _bin(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def _fresh(venv: Path, key: str) -> bool:
    stamp = venv / ".web2-venv.json"
    if not (stamp.is_file() and _bin(venv, "python").exists()):
        return False
    try:
        return json.loads(stamp.read_text()).get("key") == key
    except ValueError:
        return False


def _stamp(venv: Path, key: str) -> None:
    (venv / ".web2-venv.json").write_text(json.dumps({"key": key}) + "\n")


def _stdlibVenv(venv: Path) -> None:
    """
    Create C{venv} with the standard library's venv module (with pip).  On a
    Debian Python without ensurepip, install python3-venv first if we may.
    """
    cmd = [sys.executable, "-m", "venv", str(venv)]
    try:
        run(cmd)
        return
    except subprocess.CalledProcessError:
        if not (shutil.which("apt-get") and os.geteuid() == 0):
            raise
    shutil.rmtree(venv, ignore_errors=True)
    minor = f"python3.{sys.version_info.minor}-venv"
    say(f"the venv module lacks ensurepip: installing python3-venv / {minor}")
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends",
                    "python3-venv", minor], check=False)
    run(cmd)
