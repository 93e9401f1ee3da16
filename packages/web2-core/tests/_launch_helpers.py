"""
Run a real web2 server in a subprocess for a test: start it (C{twistd -n
web2}, C{python -m web2} or C{twistd -ny FILE}), wait until it listens,
fetch from it on 127.0.0.1, stop it with SIGTERM and collect its output.
Every wait is bounded.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
_LISTENING = re.compile(r"web2 listening on (\S+?)(?::(\d+))? \((.*)\)$")


def twistdCommand() -> list[str]:
    """
    The command that runs this interpreter's twistd.
    """
    script = os.path.join(os.path.dirname(sys.executable), "twistd")
    if os.path.exists(script):
        return [script]
    found = shutil.which("twistd")
    if found:
        return [found]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def twistdWeb2(*args: str) -> list[str]:
    """
    C{twistd -n web2 ARGS}, with no pid file (tests run side by side).
    """
    return twistdCommand() + ["-n", "--pidfile=", "web2", *args]


def pythonWeb2(*args: str) -> list[str]:
    """
    C{python -m web2 ARGS}.
    """
    return [sys.executable, "-m", "web2", *args]


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that was free a moment ago (for programs that
    cannot be told to listen on port 0 and report it).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(extra=None) -> dict:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("WEB2_PLUGINS", None)
    env.pop("WEB2_DISABLE_PLUGINS", None)
    env.update(extra or {})
    return env


@dataclass
class Result:
    """
    The end of a process: its status and its output.
    """

    returncode: int
    stdout: str
    stderr: str = ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def runToEnd(command, *, timeout=START_TIMEOUT, env=None, cwd=None) -> Result:
    """
    Run a command that is expected to end by itself (bad input, --help).
    """
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=_env(env), cwd=cwd, stdin=subprocess.DEVNULL)
    return Result(done.returncode, done.stdout, done.stderr)


class Server:
    """
    A server process.  Its standard output and error are merged and
    collected by a thread.

    @ivar addresses: C{(host, port, endpoint)} of each "web2 listening on"
        log line seen, in order (for a unix socket: its path and C{None}).
    """

    def __init__(self, command, *, env=None, cwd=None):
        self.command = command
        self.lines: list[str] = []
        self.addresses: list[tuple[str, int, str]] = []
        self._changed = threading.Condition()
        self._terminated = False
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, env=_env(env), cwd=cwd)
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
        with self._changed:
            return "".join(self.lines)

    def _fail(self, why):
        self.kill()
        raise AssertionError(f"{why}\ncommand: {self.command}\noutput:\n{self.output}")

    def waitForListeners(self, count=1, timeout=START_TIMEOUT):
        """
        Wait until the server has logged C{count} listening addresses.

        @return: their C{(host, port, endpoint)}.
        """
        deadline = time.monotonic() + timeout
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

    def waitForPort(self, port, timeout=START_TIMEOUT):
        """
        Wait until something accepts connections on 127.0.0.1:C{port}.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self._fail(f"nothing listened on port {port}")

    @property
    def port(self) -> int:
        return self.waitForListeners()[0][1]

    def waitForOutput(self, text, timeout=STOP_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in "".join(self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.2))
        return True

    def terminate(self) -> None:
        """
        Send SIGTERM, once: a second one during the graceful stop would
        only make Twisted log that its reactor is already stopping.
        """
        if not self._terminated and self.process.poll() is None:
            self._terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout=STOP_TIMEOUT) -> Result:
        """
        Send SIGTERM and wait for the process to end (killing it after
        C{timeout}).
        """
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail(f"the server did not stop within {timeout} s of SIGTERM")
        self._reader.join(5)
        return Result(self.process.returncode, self.output)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def fetch(port, path="/", *, method="GET", headers=None, body=None, host="127.0.0.1",
          tls=False, timeout=10.0):
    """
    One HTTP request on a new connection.

    @return: C{(status, headers as a dict with lower-case names, body bytes)}.
    """
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return (response.status,
                {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


def fetchUnix(socketPath, path="/", timeout=10.0) -> bytes:
    """
    One HTTP/1.0 request over a unix socket; the whole raw response.
    """
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(socketPath)
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def assertNoTraceback(text: str) -> None:
    assert "Traceback" not in text, text


def assertStoppedCleanly(result: Result) -> None:
    """
    The process ended after SIGTERM as it should: status 0 (python -m
    web2), or killed by the SIGTERM it re-raises on the way out (twistd
    does so to report the signal to its parent), with no traceback.
    """
    assert result.returncode in (0, -signal.SIGTERM), result.output
    assertNoTraceback(result.output)
