#!/usr/bin/env python3
"""
Run C{make test} many times in a row on a loaded machine, to find the tests
that depend on timing or scheduling (issue #19: twenty runs in a row must
pass).

The load is one busy process per CPU at the tests' own priority, what
C{stress --cpu N} gives: the test servers, their clients and the matrix then
get about half the CPU they would alone, and every wait that was a guess
shows up.  Each run's whole output goes to C{DIR/run-N.log}; one line per run
goes to standard output and to C{DIR/summary.txt}.  The loop stops at the
first failing run (C{--keep-going} runs on), and the exit status says
whether every run passed.

Usage::

    python3 scripts/loaded-runs.py                  # 20 runs, one load process per CPU
    python3 scripts/loaded-runs.py --runs 5 --load 4
    python3 scripts/loaded-runs.py --pull /path/to/repo  # git pull main before each run

Hours, not minutes: a loaded run of the matrix takes about 20 minutes on two
cores.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The matrix's last line (scripts/test-matrix.py).
SUMMARY = re.compile(rb"^matrix: (\d+) passed, (\d+) failed, (\d+) skipped, (\d+) errors", re.M)

BUSY = "while True: pass"


def startLoad(count: int) -> list[subprocess.Popen]:
    """
    Start C{count} processes that spin on a CPU each until killed.
    """
    return [subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.DEVNULL)
            for _ in range(count)]


def stopLoad(load: list[subprocess.Popen]) -> None:
    for proc in load:
        proc.kill()
    for proc in load:
        proc.wait()


def verdict(output: bytes, returncode: int) -> tuple[bool, str]:
    """
    Whether a run of C{make test} passed, and its summary line: a run
    passes only if it exited 0 and its matrix line shows tests passed and
    none failed or errored (a run that never reached the line failed).
    """
    found = SUMMARY.findall(output)
    if not found:
        return False, f"exit {returncode}, no matrix summary line"
    passed, failed, skipped, errors = (int(n) for n in found[-1])
    line = f"{passed} passed, {failed} failed, {skipped} skipped, {errors} errors"
    return returncode == 0 and passed > 0 and failed == 0 and errors == 0, line


def runOnce(command: str) -> tuple[bytes, int]:
    """
    Run C{command} in a process group of its own, and its output and exit
    status; if the loop is stopped meanwhile, the whole group (the matrix,
    its pytest runs, their servers) is killed with it.
    """
    proc = subprocess.Popen(command, shell=True, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        output, _ = proc.communicate()
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return output, proc.returncode


def _stopped(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2,
                        help="busy processes beside the tests (default: one per CPU)")
    parser.add_argument("--log-dir", type=Path, default=ROOT / "build" / "loaded-runs")
    parser.add_argument("--pull", metavar="REPO",
                        help="git pull REPO's main into this tree before each run")
    parser.add_argument("--keep-going", action="store_true",
                        help="run on after a failing run")
    parser.add_argument("--command", default="make test",
                        help="what one run is (default: make test)")
    args = parser.parse_args(argv)

    # A parent that ignores SIGINT (a job started with & by a shell without
    # job control) would pass that on to every test server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Stopped with SIGTERM (kill, pkill), the loop still stops its load:
    # the busy processes would otherwise spin on for good.
    signal.signal(signal.SIGTERM, _stopped)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    summary = (args.log_dir / "summary.txt").open("a")
    load = startLoad(args.load)
    failures = 0
    try:
        for run in range(1, args.runs + 1):
            if args.pull:
                subprocess.run(["git", "pull", "-q", args.pull, "main"], cwd=ROOT, check=True)
            head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                  capture_output=True, text=True).stdout.strip()
            started = time.monotonic()
            output, returncode = runOnce(args.command)
            (args.log_dir / f"run-{run}.log").write_bytes(output)
            ok, line = verdict(output, returncode)
            report = (f"run {run}/{args.runs} at {head}, load {args.load}: "
                      f"{'pass' if ok else 'FAIL'} ({line}) in "
                      f"{(time.monotonic() - started) / 60:.1f} min")
            print(report, flush=True)
            summary.write(report + "\n")
            summary.flush()
            if not ok:
                failures += 1
                if not args.keep_going:
                    break
    finally:
        stopLoad(load)
        summary.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
