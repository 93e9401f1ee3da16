#!/usr/bin/env python3
"""
Run every test of the repository the way CI does: one venv per distribution.

For each distribution in C{packages/}, a venv holds only that distribution, the
distributions it requires (installed from this repository, never from an
index), their third-party dependencies and the test tools (pytest, hypothesis,
pytest-timeout), plus the lines of C{packages/<dist>/tests/requirements.txt} if
that file exists; then that distribution's C{tests/} runs.  The project's
distributions are installed as users get them (built wheels, not editable).
Last, a cross-package venv holds every distribution, every plugin distribution
under C{tests/plugins/*/} and C{tests/requirements.txt}, and runs C{tests/}.

A distribution with a C{hatch_build.py} compiles part of itself (web2-core: its
request path, with Cython).  Its wheel is built once per matrix run, compiled
(C{WEB2_EXTENSIONS=1}: a failure to compile fails the run) and installed
wherever it is needed; its tests then run a second time, as C{<dist>-pure},
against the pure-Python wheel, the reference.  Each pytest run is told which
build it tests through C{WEB2_EXPECT_BUILD} (C{compiled} or C{pure}).

Each pytest run writes a JUnit XML file under C{build/test-results/}; the
script ends with one aggregate line and one pytest-style summary line, and
exits non-zero if any run failed, errored, or if no test ran at all.

Venvs are kept under C{.venvs/} and reused while the pyproject.toml files and
requirement files they were made from are unchanged; the project's own
distributions are reinstalled on every run.

Usage::

    python3 scripts/test-matrix.py                   # everything
    python3 scripts/test-matrix.py web2-core cross   # some runs only
    python3 scripts/test-matrix.py web2-core -- -k channel -x  # pytest arguments
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _venvs import (  # noqa: E402
    ROOT,
    TEST_TOOLS,
    VENVS,
    Installer,
    fileBytes,
    fingerprint,
    localClosure,
    packageDists,
    say,
    testPluginDists,
)

CROSS = "cross"
#: The suffix of the runs of a compiled distribution's pure-Python build.
PURE = "-pure"
RESULTS = ROOT / "build" / "test-results"
#: pytest's exit status when it collected no test.
NO_TESTS_COLLECTED = 5
#: The longest one pytest run may take, in seconds (per-test timeouts are
#: pytest-timeout's, from the root pyproject.toml).
RUN_TIMEOUT = float(os.environ.get("WEB2_RUN_TIMEOUT", 25 * 60))


@dataclass
class Outcome:
    """
    The counts of one pytest run.
    """

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    note: str = ""

    @property
    def ok(self) -> bool:
        return not (self.failed or self.errors)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            "total",
            self.passed + other.passed,
            self.failed + other.failed,
            self.skipped + other.skipped,
            self.errors + other.errors,
            self.seconds + other.seconds,
        )


def readJUnit(path: Path) -> Outcome | None:
    """
    The counts of the JUnit XML file pytest wrote, or L{None} if it is absent
    or unreadable.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    out = Outcome(path.stem)
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0))
        errors = int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        out.passed += tests - failed - errors - skipped
        out.failed += failed
        out.errors += errors
        out.skipped += skipped
    return out


def runPytest(
    name: str, venv: Path, testDir: Path, extra: list[str], build: str
) -> Outcome:
    """
    Run pytest from C{venv} on C{testDir}, output to the terminal, and count.
    C{build} is what the venv's compiled distributions are: C{compiled} or
    C{pure}.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    junit = RESULTS / f"{name}.xml"
    junit.unlink(missing_ok=True)
    cmd = [
        str(venv / "bin" / "pytest"),
        "-c", str(ROOT / "pyproject.toml"),
        "--rootdir", str(ROOT),
        "-ra",
        f"--junitxml={junit}",
        "-o", f"junit_suite_name={name}",
        str(testDir.relative_to(ROOT)),
        *extra,
    ]
    print(f"\n{'#' * 20} {name}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    try:
        env = {**os.environ, "WEB2_EXPECT_BUILD": build}
        rc = subprocess.run(cmd, cwd=ROOT, timeout=RUN_TIMEOUT, env=env).returncode
    except subprocess.TimeoutExpired:
        rc = None
    seconds = time.monotonic() - started
    outcome = readJUnit(junit) or Outcome(name)
    outcome.name, outcome.seconds = name, seconds
    if rc is None:
        outcome.errors += 1
        outcome.note = f"timed out after {RUN_TIMEOUT:.0f}s"
    elif rc == NO_TESTS_COLLECTED:
        outcome.note = "no tests collected"
    elif rc != 0 and outcome.ok:
        # pytest failed without a failing test in the XML (usage error,
        # internal error, crash): count the run itself as one error.
        outcome.errors += 1
        outcome.note = f"pytest exited {rc}"
    return outcome


class Wheels:
    """
    The wheels of the distributions that compile part of themselves, built
    once per matrix run and per build (C{compiled} or C{pure}).
    """

    def __init__(self, installer: Installer):
        self.installer = installer
        self.built: dict[tuple[str, str], Path | Exception] = {}

    @staticmethod
    def compiles(dist) -> bool:
        return (dist.path / "hatch_build.py").is_file()

    def forDists(self, dists, build: str) -> dict[str, Path]:
        """
        The wheel of each of C{dists} that compiles, by name, for C{build}.
        """
        wheels = {}
        for dist in dists:
            if not self.compiles(dist):
                continue
            key = (dist.name, build)
            if key not in self.built:
                mode = "1" if build == "compiled" else "0"
                say(f"building the {build} wheel of {dist.name}")
                try:
                    self.built[key] = self.installer.buildWheel(
                        dist, ROOT / "build" / "wheels" / build / dist.name,
                        {"WEB2_EXTENSIONS": mode},
                    )
                except subprocess.CalledProcessError as e:
                    # Remembered, so that every later run fails at once
                    # instead of compiling again.
                    self.built[key] = e
            built = self.built[key]
            if isinstance(built, Exception):
                raise built
            wheels[dist.name] = built
        return wheels


def setUpPackageVenv(
    installer: Installer, wheels: Wheels, dist, local, build: str
) -> Path:
    """
    The venv of one distribution: it, its local requirements, their
    dependencies and the test tools, with the C{build} of whatever compiles.
    """
    closure = localClosure([dist], local)
    extraReqs = dist.path / "tests" / "requirements.txt"
    venv = VENVS / f"test-{dist.name}{PURE if build == 'pure' else ''}"
    key = fingerprint(
        *TEST_TOOLS, fileBytes(extraReqs), *(d.pyprojectBytes() for d in closure)
    )
    installer.ensureVenv(venv, key)
    installer.install(
        venv,
        TEST_TOOLS,
        closure,
        requirementFiles=[extraReqs] if extraReqs.is_file() else [],
        wheels=wheels.forDists(closure, build),
    )
    installer.stamp(venv, key)
    return venv


def setUpCrossVenv(installer: Installer, wheels: Wheels, local) -> Path:
    """
    The venv of the cross-package tests: every distribution, the test plugins
    and C{tests/requirements.txt}.
    """
    plugins = testPluginDists()
    everything = list(local.values()) + plugins
    reqFiles = [p for p in [ROOT / "tests" / "requirements.txt"] if p.is_file()]
    venv = VENVS / "test-cross"
    key = fingerprint(
        *TEST_TOOLS,
        *(fileBytes(f) for f in reqFiles),
        fileBytes(ROOT / "docs" / "requirements.txt"),
        *(d.pyprojectBytes() for d in everything),
    )
    installer.ensureVenv(venv, key)
    installer.install(venv, TEST_TOOLS, everything, requirementFiles=reqFiles,
                      wheels=wheels.forDists(everything, "compiled"))
    installer.stamp(venv, key)
    return venv


def summaryLine(total: Outcome) -> str:
    """
    A closing line in pytest's own format, e.g.
    C{==== 1 failed, 811 passed, 4 skipped in 123.4s ====}.
    """
    parts = []
    for count, word in [
        (total.failed, "failed"),
        (total.passed, "passed"),
        (total.skipped, "skipped"),
        (total.errors, "error" if total.errors == 1 else "errors"),
    ]:
        if count:
            parts.append(f"{count} {word}")
    body = ", ".join(parts) or "no tests ran"
    return f"==== {body} in {total.seconds:.1f}s ===="


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "runs", nargs="*",
        help="distributions to test (e.g. web2-core, web2-core-pure) and/or "
             "'cross'; default: all",
    )
    parser.add_argument(
        "--pytest-args", default=os.environ.get("PYTEST_ARGS", ""),
        help="extra arguments for every pytest run (split on whitespace)",
    )
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"] + args.pytest_args.split()

    started = time.monotonic()
    local = packageDists()
    every = []
    for name, dist in local.items():
        every += [name, name + PURE] if Wheels.compiles(dist) else [name]
    every.append(CROSS)
    wanted = [r for part in args.runs for r in part.split(",") if r]
    unknown = [r for r in wanted if r not in every]
    if unknown:
        parser.error(f"unknown run(s) {unknown}; choose from {every}")
    runs = wanted or every

    installer = Installer.bootstrap()
    wheels = Wheels(installer)
    outcomes: list[Outcome] = []
    for name in runs:
        build = "pure" if name.endswith(PURE) else "compiled"
        try:
            if name == CROSS:
                venv = setUpCrossVenv(installer, wheels, local)
                testDir = ROOT / "tests"
            else:
                dist = local[name.removesuffix(PURE)]
                venv = setUpPackageVenv(installer, wheels, dist, local, build)
                testDir = dist.path / "tests"
        except subprocess.CalledProcessError as e:
            say(f"{name}: setting up its venv failed: {e}")
            outcomes.append(Outcome(name, errors=1, note="venv setup failed"))
            continue
        if not testDir.is_dir():
            outcomes.append(Outcome(name, note="no tests/ directory"))
            continue
        outcomes.append(runPytest(name, venv, testDir, extra, build))

    total = sum(outcomes, Outcome("total"))
    total.seconds = time.monotonic() - started
    print(f"\n{'=' * 24} test matrix {'=' * 24}")
    for o in outcomes:
        status = "ok  " if o.ok else "FAIL"
        print(
            f"{status} {o.name:<16} {o.passed:5d} passed {o.failed:4d} failed "
            f"{o.skipped:4d} skipped {o.errors:3d} errors {o.seconds:7.1f}s"
            + (f"  ({o.note})" if o.note else "")
        )
    failedRuns = [o.name for o in outcomes if not o.ok]
    if failedRuns:
        print(f"failed runs: {', '.join(failedRuns)}")
    ran = total.passed + total.failed + total.errors
    if ran == 0:
        print("no test ran at all: that is a failure, not a pass")
    print(
        f"matrix: {total.passed} passed, {total.failed} failed, "
        f"{total.skipped} skipped, {total.errors} errors"
    )
    print(summaryLine(total), flush=True)
    return 1 if failedRuns or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
