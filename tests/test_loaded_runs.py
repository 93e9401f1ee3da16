"""
Tests for C{scripts/loaded-runs.py}, the loop that runs C{make test} many
times on a loaded machine (issue #19): its verdict on a run and the loop
itself, with a stand-in command for C{make test}.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "loaded-runs.py"


@pytest.fixture(scope="module")
def loaded():
    spec = importlib.util.spec_from_file_location("loaded_runs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("output", "code", "ok"), [
    (b"...\nmatrix: 5639 passed, 0 failed, 6 skipped, 0 errors\n", 0, True),
    (b"matrix: 5638 passed, 1 failed, 6 skipped, 0 errors\n", 1, False),
    (b"matrix: 5638 passed, 0 failed, 6 skipped, 1 errors\n", 1, False),
    # A summary that says all passed, from a run that exited badly.
    (b"matrix: 5639 passed, 0 failed, 6 skipped, 0 errors\n", 2, False),
    # Nothing ran.
    (b"matrix: 0 passed, 0 failed, 0 skipped, 0 errors\n", 0, False),
    # The run died before its summary.
    (b"Traceback (most recent call last):\n", 0, False),
    # The last summary counts (a matrix that printed an earlier one).
    (b"matrix: 9 passed, 0 failed, 0 skipped, 0 errors\n"
     b"matrix: 9 passed, 1 failed, 0 skipped, 0 errors\n", 0, False),
])
def test_verdict(loaded, output, code, ok):
    assert loaded.verdict(output, code)[0] is ok


def fakeRun(tmp_path, outcomes):
    """
    A stand-in for C{make test} whose runs pass or fail in the order of
    C{outcomes}, counting its runs in a file.
    """
    counter = tmp_path / "count"
    counter.write_text("0")
    script = tmp_path / "fake.py"
    script.write_text(
        "import pathlib, sys\n"
        f"c = pathlib.Path({str(counter)!r}); n = int(c.read_text()); c.write_text(str(n + 1))\n"
        f"failed = {outcomes!r}[n] == 'fail'\n"
        "print(f'matrix: 10 passed, {int(failed)} failed, 0 skipped, 0 errors')\n"
        "sys.exit(int(failed))\n")
    return counter, f"{sys.executable} {script}"


def runLoop(tmp_path, command, *extra):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--load", "1", "--log-dir", str(tmp_path / "logs"),
         "--command", command, *extra],
        capture_output=True, text=True, timeout=120)


def test_loopStopsAtTheFirstFailure(tmp_path):
    """
    The loop runs until a run fails, reports each, keeps each run's log
    and exits non-zero.
    """
    counter, command = fakeRun(tmp_path, ["pass", "fail", "pass"])
    result = runLoop(tmp_path, command, "--runs", "3")
    assert result.returncode == 1
    assert counter.read_text() == "2"
    lines = result.stdout.splitlines()
    assert [line.split(": ")[1].split()[0] for line in lines] == ["pass", "FAIL"]
    summary = (tmp_path / "logs" / "summary.txt").read_text().splitlines()
    assert summary == lines
    assert (tmp_path / "logs" / "run-2.log").read_text().startswith("matrix: 10 passed, 1 failed")


def test_loopAllPass(tmp_path):
    counter, command = fakeRun(tmp_path, ["pass"] * 3)
    result = runLoop(tmp_path, command, "--runs", "3")
    assert result.returncode == 0
    assert counter.read_text() == "3"


def test_keepGoing(tmp_path):
    counter, command = fakeRun(tmp_path, ["fail", "pass"])
    result = runLoop(tmp_path, command, "--runs", "2", "--keep-going")
    assert result.returncode == 1
    assert counter.read_text() == "2"


def test_terminatedLoopStopsItsLoad(tmp_path):
    """
    A loop stopped with SIGTERM (kill, pkill) stops its busy processes
    and the run under way, instead of leaving them running.
    """
    started = tmp_path / "started"
    command = f"{sys.executable} -c \"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(60)\""
    loop = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--load", "2", "--runs", "1",
         "--log-dir", str(tmp_path / "logs"), "--command", command])
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        busy = subprocess.run(["pgrep", "-P", str(loop.pid), "-f", "while True: pass"],
                              capture_output=True, text=True).stdout.split()
        assert len(busy) == 2
        os.kill(loop.pid, signal.SIGTERM)
        assert loop.wait(timeout=60) != 0
        for pid in busy:
            assert not os.path.exists(f"/proc/{pid}") or _isZombie(pid), pid
        running = subprocess.run(["pgrep", "-f", str(started)],
                                 capture_output=True, text=True).stdout.split()
        assert [pid for pid in running if not _isZombie(pid)] == []
    finally:
        loop.kill()
        loop.wait()
        subprocess.run(["pkill", "-f", str(started)])


def _isZombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
