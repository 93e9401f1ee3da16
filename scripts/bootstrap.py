#!/usr/bin/env python3
"""
Create (or refresh) one of the repository's working venvs under C{.venvs/}.

  - C{dev}: every distribution installed editable, the test tools and the
    cross-package test requirements; what C{make run} starts the demo from.
  - C{docs}: every distribution (editable, so autodoc reads the current source)
    and C{docs/requirements.txt}; what C{make docs} builds with.
  - C{tools}: uv, build and hatchling; what the other scripts use.

A venv is rebuilt only when the files it was made from change; an editable
install already follows source edits.  Prints the venv's path last.

Usage: C{python3 scripts/bootstrap.py dev|docs|tools}
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _venvs import (  # noqa: E402
    ROOT,
    TEST_TOOLS,
    VENVS,
    Installer,
    fileBytes,
    fingerprint,
    packageDists,
)


def dev(installer: Installer) -> Path:
    dists = list(packageDists().values())
    reqs = ROOT / "tests" / "requirements.txt"
    venv = VENVS / "dev"
    key = fingerprint(
        "dev", *TEST_TOOLS, fileBytes(reqs),
        fileBytes(ROOT / "docs" / "requirements.txt"),
        *(d.pyprojectBytes() for d in dists),
    )
    if not installer.ensureVenv(venv, key, seed=True):
        installer.install(
            venv, [*TEST_TOOLS, "twisted[tls]"], dists, editable=True,
            requirementFiles=[reqs] if reqs.is_file() else [],
        )
        installer.stamp(venv, key)
    return venv


def docs(installer: Installer) -> Path:
    dists = list(packageDists().values())
    reqs = ROOT / "docs" / "requirements.txt"
    venv = VENVS / "docs"
    key = fingerprint("docs", fileBytes(reqs), *(d.pyprojectBytes() for d in dists))
    if not installer.ensureVenv(venv, key):
        installer.install(venv, [], dists, editable=True, requirementFiles=[reqs])
        installer.stamp(venv, key)
    return venv


def tools(installer: Installer) -> Path:
    return VENVS / "tools"


TARGETS = {"dev": dev, "docs": docs, "tools": tools}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in TARGETS:
        print(__doc__, file=sys.stderr)
        return 2
    venv = TARGETS[argv[0]](Installer.bootstrap())
    print(venv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
