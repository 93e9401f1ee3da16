# -*- test-case-name: test_testing -*-
"""
A web2 server in a subprocess, for L{web2.testing}: start it (C{twistd -n
web2}, C{python -m web2} or anything else), wait until it listens, stop it
with SIGTERM and collect its output.  Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

__all__ = [
    "ProcessResult",
    "ServerProcess",
    "assertNoTraceback",
    "assertStoppedCleanly",
    "freePort",
    "pythonWeb2",
    "runToEnd",
    "twistdCommand",
    "twistdWeb2",
]


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that was free a moment ago, for a program that
    cannot listen on port 0 and say which port it got.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def twistdCommand() -> list:
    """
    The command that runs this interpreter's C{twistd}.
    """
    script = os.path.join(os.path.dirname(sys.executable), "twistd")
    if os.path.exists(script):
        return [script]
    found = shutil.which("twistd")
    if found:
        return [found]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def twistdWeb2(*args: str) -> list:
    """
    C{twistd -n web2 ARGS}, with no pid file so that servers can run side
    by side.
    """
    return twistdCommand() + ["-n", "--pidfile=", "web2", *args]


def pythonWeb2(*args: str) -> list:
    """
    C{python -m web2 ARGS} with this interpreter.
    """
    return [sys.executable, "-m", "web2", *args]


def _environment(extra=None) -> dict:
    """
    This process's environment, unbuffered and without the variables that
    choose web2's plugins (a test's own choice must not leak into its
    server), plus C{extra}.
    """
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # A hung server can be asked for its stacks (ServerProcess._dumpStacks).
    env["PYTHONFAULTHANDLER"] = "1"
    env.pop("WEB2_PLUGINS", None)
    env.pop("WEB2_DISABLE_PLUGINS", None)
    env.update(extra or {})
    return env


@dataclass
class ProcessResult:
    """
    How a process ended: its status and its output.
    """

    returncode: int
    stdout: str
    stderr: str = ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def runToEnd(command, *, timeout=30.0, env=None, cwd=None) -> ProcessResult:
    """
    Run a command that ends by itself (C{--help}, a bad option).

    @param env: variables added to the environment (see L{ServerProcess}).
    @raise subprocess.TimeoutExpired: if it runs longer than C{timeout}.
    """
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=_environment(env), cwd=cwd, stdin=subprocess.DEVNULL)
    return ProcessResult(done.returncode, done.stdout, done.stderr)


#: The line that web2.tap logs for each port it listens on.
_LISTENING = re.compile(r"web2 listening on (\S+?)(?::(\d+))? \((.*)\)$")


def _restoreInterrupt():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interruptibleChild():
    """
    What makes a server started from here take SIGINT, as from a terminal.
    A process started in the background by a shell without job control
    (C{cmd &} in a script, as some CI runners start their jobs) ignores
    SIGINT, and so would every server it starts: Python and Twisted leave
    an ignored SIGINT alone, and the tests of Ctrl-C would never see it.

    @return: a function for C{Popen}'s C{preexec_fn} that restores the
        default, or C{None} when SIGINT is not ignored here (the usual case:
        no function runs between fork and exec then).
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return _restoreInterrupt
    return None


class ServerProcess:
    """
    A server in a subprocess, its standard output and error merged and
    collected by a thread.  A failed wait kills it and raises
    C{AssertionError} with its command and output.  Use it as a context
    manager to be sure it is killed.

    The environment is this process's, unbuffered, without C{WEB2_PLUGINS}
    and C{WEB2_DISABLE_PLUGINS}, plus C{env}.

    @ivar lines: the output lines so far.
    @ivar addresses: C{(host, port, endpoint description)} of each "web2
        listening on" line so far, in order (a unix socket's path and
        C{None} for its port).
    """

    def __init__(self, command, *, env=None, cwd=None, startTimeout=30.0, stopTimeout=30.0,
                 passFds=()):
        """
        @param passFds: descriptors the server inherits (as
            C{subprocess.Popen}'s C{pass_fds}): a listening socket handed
            over the way systemd does, say.
        @param startTimeout: default seconds to wait for listeners or a port.
        @param stopTimeout: default seconds to wait for the end after
            SIGTERM, or for some output.
        """
        self.command = command
        self.startTimeout = startTimeout
        self.stopTimeout = stopTimeout
        self.lines: list[str] = []
        self.addresses: list[tuple] = []
        self._changed = threading.Condition()
        self._terminated = False
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, env=_environment(env), cwd=cwd,
            pass_fds=tuple(passFds), preexec_fn=_interruptibleChild())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                match = _LISTENING.search(line.rstrip("\n"))
                if match:
                    port = match.group(2)
                    self.addresses.append(
                        (match.group(1), port and int(port), match.group(3)))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        """
        All the output so far.
        """
        with self._changed:
            return "".join(self.lines)

    def _fail(self, why):
        self.kill()
        raise AssertionError(f"{why}\ncommand: {self.command}\noutput:\n{self.output}")

    def waitForListeners(self, count=1, timeout=None) -> list:
        """
        Wait until the server has logged C{count} listening addresses.

        @return: the C{(host, port, endpoint)} of each so far.
        """
        deadline = time.monotonic() + (timeout or self.startTimeout)
        with self._changed:
            while len(self.addresses) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None
                                 and not self._reader.is_alive()):
                    break
                self._changed.wait(min(left, 0.2))
            if len(self.addresses) >= count:
                return list(self.addresses)
        self._fail(f"the server did not report {count} listener(s)")

    def waitForPort(self, port, timeout=None, host="127.0.0.1"):
        """
        Wait until something accepts connections on C{host:port}.
        """
        deadline = time.monotonic() + (timeout or self.startTimeout)
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection((host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self._fail(f"nothing listened on port {port}")

    @property
    def port(self) -> int:
        """
        The port of the first listener (waiting for it).
        """
        return self.waitForListeners()[0][1]

    def waitForOutput(self, text, timeout=None) -> bool:
        """
        Wait until C{text} appears in the output.

        @return: whether it did within C{timeout}.
        """
        deadline = time.monotonic() + (timeout or self.stopTimeout)
        with self._changed:
            while text not in "".join(self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.2))
        return True

    def terminate(self) -> None:
        """
        Send SIGTERM, once: a second one during the graceful stop would only
        make Twisted log that its reactor is already stopping.
        """
        if not self._terminated and self.process.poll() is None:
            self._terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout=None) -> ProcessResult:
        """
        Send SIGTERM and wait for the end.

        @raise AssertionError: after killing it, if it did not end within
            C{timeout} seconds.
        """
        self.terminate()
        try:
            self.process.wait(timeout or self.stopTimeout)
        except subprocess.TimeoutExpired:
            self._dumpStacks()
            self._fail(f"the server did not stop within {timeout or self.stopTimeout} s "
                       "of SIGTERM (its threads' stacks, from faulthandler, end the "
                       "output)")
        self._reader.join(5)
        return ProcessResult(self.process.returncode, self.output)

    def _dumpStacks(self) -> None:
        """
        Ask a hung server where it is: SIGABRT makes C{faulthandler} (on
        through C{PYTHONFAULTHANDLER}) print every thread's stack to the
        output before the process ends.
        """
        if self.process.poll() is not None:
            return
        try:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._reader.join(5)

    def kill(self) -> None:
        """
        Kill it if it still runs, and collect the rest of its output.
        """
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def assertNoTraceback(text: str) -> None:
    """
    Fail if C{text} (a process's output) holds a Python traceback.
    """
    assert "Traceback" not in text, text


def assertStoppedCleanly(result: ProcessResult) -> None:
    """
    Fail unless the process ended as a web2 server should after SIGTERM:
    status 0 (C{python -m web2}) or killed by the SIGTERM that C{twistd}
    re-raises to tell its parent, and no traceback.
    """
    assert result.returncode in (0, -signal.SIGTERM), result.output
    assertNoTraceback(result.output)
