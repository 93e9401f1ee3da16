#!/usr/bin/env python3
"""
Build the sdist and wheel of every distribution in C{packages/} into one
directory (C{dist/} by default), as they would be uploaded.

Each wheel is built from its sdist (C{python -m build}'s default), which proves
the sdist is complete.  The build runs without isolation in an environment that
already holds hatchling (the tools venv, or C{--python}), so no index is needed.

Usage: C{python3 scripts/build-dists.py [--out DIR] [--python PY] [DIST ...]}
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _venvs import ROOT, VENVS, Installer, packageDists, run, say  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--python",
        help="an interpreter with 'build' and 'hatchling' installed "
        "(default: the tools venv's, created if needed)",
    )
    parser.add_argument("--clean", action="store_true", help="empty --out first")
    parser.add_argument("dists", nargs="*", help="default: every distribution")
    args = parser.parse_args(argv)

    python = args.python
    if python is None:
        Installer.bootstrap()
        python = str(VENVS / "tools" / "bin" / "python")
    local = packageDists()
    names = args.dists or list(local)
    out = args.out.resolve()
    if args.clean and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            dist = local[name]
        except KeyError:
            parser.error(f"unknown distribution {name!r}; choose from {list(local)}")
        try:
            run([python, "-m", "build", "--no-isolation", "--outdir", out, dist.path],
                stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError:
            say(f"building {name} failed")
            return 1
    for built in sorted(out.iterdir()):
        say(f"built {built.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
