"""
Guards of the monorepo's layout: the rules that keep six separately released
distributions sharing the C{web2} namespace (PEP 420) installable side by side.

These read the source tree only, so they run in any venv in a second.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
CORE = "web2-core"
DISTS = sorted(p.name for p in PACKAGES.iterdir() if (p / "pyproject.toml").is_file())
EXTENSIONS = [d for d in DISTS if d != CORE]

#: Files that make a namespace a regular package, and who must never ship one.
FORBIDDEN_INITS = [
    "web2/__init__.py",
    "twisted/__init__.py",
    "twisted/plugins/__init__.py",
]


def pyproject(dist: str) -> dict:
    return tomllib.loads((PACKAGES / dist / "pyproject.toml").read_text())


def localVersion(dist: str) -> Version:
    """
    The version a distribution's hatch version file declares.
    """
    path = PACKAGES / dist / pyproject(dist)["tool"]["hatch"]["version"]["path"]
    match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", path.read_text())
    assert match, f"{path} declares no __version__"
    return Version(match.group(1))


def allRequirements(dist: str) -> list[Requirement]:
    project = pyproject(dist)["project"]
    found = [Requirement(r) for r in project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        found += [Requirement(r) for r in extra]
    return found


def test_distributionsFound():
    """
    The guard sees the six distributions, so it cannot pass vacuously.
    """
    assert CORE in DISTS
    assert set(EXTENSIONS) >= {
        "web2-static", "web2-wsgi", "web2-cgi", "web2-dav", "web2-compat",
    }


@pytest.mark.parametrize("forbidden", FORBIDDEN_INITS)
def test_noNamespaceInit(forbidden):
    """
    No distribution (nor a test plugin) ships an C{__init__.py} that would turn
    the shared C{web2} namespace, C{twisted} or C{twisted.plugins} into a
    regular package and hide every other distribution's modules.
    """
    roots = [PACKAGES / d / "src" for d in DISTS]
    roots += sorted((ROOT / "tests" / "plugins").glob("*/src"))
    roots += sorted((ROOT / "tests" / "plugins").glob("*"))
    offenders = [str(r / forbidden) for r in roots if (r / forbidden).exists()]
    assert offenders == []


def test_noInitAnywhereInSourceNamespaces():
    """
    The same rule, searched deep: an C{__init__.py} directly in any C{web2},
    C{twisted} or C{twisted/plugins} directory of any distribution's C{src/}.
    """
    offenders = [
        str(path.relative_to(ROOT))
        for path in PACKAGES.glob("*/src/**/__init__.py")
        if path.parent.name == "web2"
        or path.parent.name == "twisted"
        or path.parent.as_posix().endswith("twisted/plugins")
    ]
    assert offenders == []


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize(
    "entry", ["pyproject.toml", "README.md", "CHANGELOG.md", "tests", "src/web2"]
)
def test_distributionFiles(dist, entry):
    """
    Every distribution has its own metadata, README, changelog, source tree and
    tests directory.
    """
    assert (PACKAGES / dist / entry).exists(), f"{dist} lacks {entry}"


@pytest.mark.parametrize("dist", EXTENSIONS)
def test_extensionOwnsOneSubpackage(dist):
    """
    An extension ships exactly one regular subpackage, C{web2.<name>}, named
    after the distribution, and nothing else in the namespace (anything else
    would collide with web2-core's modules).
    """
    name = dist.removeprefix("web2-")
    ns = PACKAGES / dist / "src" / "web2"
    assert (ns / name / "__init__.py").is_file()
    others = sorted(p.name for p in ns.iterdir() if p.name not in (name, "__pycache__"))
    assert others == []


def test_coreModulesInNamespace():
    """
    web2-core's modules sit directly in the namespace and it ships the twistd
    dropin; it owns no extension's subpackage name.
    """
    ns = PACKAGES / CORE / "src" / "web2"
    assert (ns / "iweb.py").is_file()
    for ext in EXTENSIONS:
        assert not (ns / ext.removeprefix("web2-")).exists()
    plugins = PACKAGES / CORE / "src" / "twisted" / "plugins"
    assert (plugins / "web2_plugin.py").is_file()


def test_noFileShippedTwice():
    """
    No two distributions ship the same file (the later install would silently
    overwrite the earlier one's).
    """
    owners: dict[str, list[str]] = {}
    for dist in DISTS:
        src = PACKAGES / dist / "src"
        for path in src.rglob("*.py"):
            owners.setdefault(str(path.relative_to(src)), []).append(dist)
    assert {f: o for f, o in owners.items() if len(o) > 1} == {}


@pytest.mark.parametrize("dist", EXTENSIONS)
def test_extensionRequiresCompatibleCore(dist):
    """
    Each extension declares a bounded web2-core range that the web2-core in
    this repository satisfies.
    """
    reqs = [r for r in allRequirements(dist) if r.name == CORE]
    assert len(reqs) == 1, f"{dist} must require {CORE} exactly once"
    spec = reqs[0].specifier
    assert any(s.operator in ("<", "<=", "~=", "==") for s in spec), (
        f"{dist}'s {CORE} range {spec} has no upper bound"
    )
    assert spec.contains(localVersion(CORE), prereleases=True)


@pytest.mark.parametrize("dist", DISTS)
def test_localRequirementsSatisfied(dist):
    """
    Every web2-* requirement, extras included, accepts the version of that
    distribution in this repository (so the repository installs together).
    """
    for req in allRequirements(dist):
        if req.name in DISTS:
            assert req.specifier.contains(localVersion(req.name), prereleases=True), (
                f"{dist} requires {req} but the repository has "
                f"{localVersion(req.name)}"
            )


@pytest.mark.parametrize("dist", DISTS)
def test_pluginEntryPoint(dist):
    """
    Each distribution registers its plugin module in the C{web2} entry-point
    group, and that module exists in its source tree.
    """
    group = pyproject(dist)["project"].get("entry-points", {}).get("web2", {})
    assert group, f"{dist} registers nothing in the 'web2' entry-point group"
    for target in group.values():
        module = target.split(":")[0]
        path = PACKAGES / dist / "src" / Path(*module.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@pytest.mark.parametrize("dist", DISTS)
def test_changelogNamesVersion(dist):
    """
    The changelog has an entry for the version being built.
    """
    text = (PACKAGES / dist / "CHANGELOG.md").read_text()
    assert str(localVersion(dist)) in text


@pytest.mark.parametrize("dist", DISTS)
def test_pythonRequirement(dist):
    """
    Every distribution claims the same Python range as the workspace tests.
    """
    assert pyproject(dist)["project"]["requires-python"] == ">=3.11"


def test_ciWorkflowCoversEveryDistribution():
    """
    The hosted CI workflow has a job for every distribution, and one for the
    pure-Python build of each distribution that compiles (a C{hatch_build.py}),
    as C{make test} has (its matrix is written out by hand).
    """
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    match = re.search(r"package:\s*\[([^\]]*)\]", workflow)
    assert match, "ci.yml has no package matrix"
    listed = sorted(name.strip() for name in match.group(1).split(","))
    pure = [d + "-pure" for d in DISTS
            if (ROOT / "packages" / d / "hatch_build.py").is_file()]  # fmt: skip
    assert pure == ["web2-core-pure"]
    assert listed == sorted(DISTS + pure)
