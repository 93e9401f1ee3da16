"""
The shared pieces of the hostile-client suite (C{tests/test_hostile_*.py},
issue #14): a real web2 server in a subprocess with a site of every kind,
a L{Monitor} that samples the server's resident memory and the latency of
C{GET /health} on a connection of its own while an attack runs, and
blocking clients for the attacks.

Every attack is bounded in time (a L{Deadline}) and in count, talks to
127.0.0.1 only, and stops early once the server's memory has grown past
the bound being asserted (the test has failed by then; going on would only
eat the machine).

Two sets of bounds:

  - L{FAST}, for the cases C{make test} runs: wide enough to hold on a
    loaded two-core CI machine (a health answer within a second, memory
    growth under 128 MiB), and still far from what the faults they catch
    look like (stalls of several seconds or no answer at all; memory
    growing by hundreds of MiB).  An attack whose fixed behaviour itself
    costs the server's thread some time widens the health bound where it
    says why (the never-reading clients, the lock flood);
  - L{STRICT}, the issue's own figures (50 ms, 64 MiB), for the long
    cases (C{@pytest.mark.long}, run by C{make test-hostile}).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from web2.testing import (
    MalformedResponse,
    ServerProcess,
    assertNoTraceback,
    parseResponses,
    pythonWeb2,
)

__all__ = [
    "APPS", "FAST", "KiB", "MiB", "PROMPT", "SECRET", "SERVER_SETTINGS", "STATIC_BIG",
    "STRICT", "Bounds", "Deadline", "HostileServer", "MalformedResponse", "Monitor",
    "Received", "connect", "exchange", "expect", "oneResponse", "parseResponses", "processState",
    "readUntilClosed", "rssOf", "runThreads",
]

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"

MiB = 1024 * 1024
KiB = 1024

#: The text of the files the site must never serve: one beside the static
#: root, one beside the DAV tree.
SECRET = "web2-hostile-secret-4b1d"


@dataclass(frozen=True)
class Bounds:
    """
    What an attack may cost the server.

    @ivar rssGrowth: bytes the server's resident memory may grow by, from
        just before the attack to its highest sample.
    @ivar health: seconds a C{GET /health} on another connection may take
        at any moment of the attack.
    """

    rssGrowth: int
    health: float


FAST = Bounds(rssGrowth=128 * MiB, health=1.0)
STRICT = Bounds(rssGrowth=64 * MiB, health=0.050)

#: Seconds within which a single small exchange must be answered (or the
#: connection closed) in the fast cases: a healthy server takes
#: milliseconds, the faults looked for never answer.
PROMPT = 1.0

#: The server settings of every hostile site, unless a test says otherwise:
#: short timeouts, so that the cases checking them take seconds.
SERVER_SETTINGS = {
    "send-timeout": 2.0,
    "header-timeout": 2.0,
    "body-timeout": 5.0,
    "idle-timeout": 30.0,
}

STATIC_BIG = 256 * KiB


# ---------------------------------------------------------------------------
# The site


def _toml(value) -> str:
    """
    A TOML value for C{value} (strings, numbers, booleans, lists, tables).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


HANG_CGI = """\
#!{python}
# A CGI script that never answers: it notes its process id, then sleeps.
import os, time
with open(os.path.join({pids!r}, str(os.getpid())), "w") as f:
    f.write("hang")
time.sleep(300)
"""


@dataclass
class SiteLayout:
    """
    The files of a hostile site, under C{base}.

    @ivar public: the static root (C{/static}).
    @ivar dav: the DAV tree (C{/dav}).
    @ivar cgi: the CGI directory (C{/cgi}).
    @ivar pids: where the hanging CGI script notes its process ids.
    @ivar secrets: the secret files, beside the static root and the DAV
        tree (never inside anything served).
    """

    base: Path
    public: Path
    dav: Path
    cgi: Path
    pids: Path
    secrets: list = field(default_factory=list)


def layOutSite(base: Path) -> SiteLayout:
    """
    Create the files of a hostile site under C{base}.
    """
    site = base / "site"
    layout = SiteLayout(base=site, public=site / "public", dav=site / "davroot" / "tree",
                        cgi=site / "cgi", pids=site / "pids")
    for d in (layout.public / "sub", layout.dav, layout.cgi, layout.pids):
        d.mkdir(parents=True)
    (layout.public / "index.html").write_text("<p>hostile site</p>\n")
    (layout.public / "sub" / "a.txt").write_text("a\n")
    (layout.public / "big.bin").write_bytes(bytes(range(256)) * (STATIC_BIG // 256))
    for secretFile in (site / "secret.txt", site / "davroot" / "secret.txt"):
        secretFile.write_text(SECRET + "\n")
        layout.secrets.append(secretFile)
    # Links out of the served trees: neither mount may follow them.
    (layout.public / "link.txt").symlink_to(site / "secret.txt")
    (layout.dav / "link.txt").symlink_to(site / "davroot" / "secret.txt")
    (layout.dav / "file.txt").write_text("dav file\n")
    script = layout.cgi / "hang.cgi"
    script.write_text(HANG_CGI.format(python=sys.executable, pids=str(layout.pids)))
    script.chmod(0o755)
    return layout


def siteFile(layout: SiteLayout, *, server=None, mounts=None, dav=None, cgi=None,
             options=None) -> Path:
    """
    Write the site file of a hostile site.

    @param server: C{[server]} settings over L{SERVER_SETTINGS} (a value of
        C{None} removes one).
    @param mounts: more mounts, C{path -> "KIND:ARG"} or a table.
    @param dav: options of the C{/dav} mount (e.g. C{max-upload-size}).
    @param cgi: options of the C{/cgi} mount (e.g. C{timeout}).
    @param options: the C{[options]} table (plugin options, e.g.
        C{wsgi-threads}).
    """
    settings = {**SERVER_SETTINGS, **(server or {})}
    settings = {k: v for k, v in settings.items() if v is not None}
    allMounts = {
        "/health": "text:ok",
        "/echo": "class:hostile_apps.Echo",
        "/discard": "class:hostile_apps.Discard",
        "/static": {"kind": "static", "argument": str(layout.public)},
        "/dav": {"kind": "dav", "argument": str(layout.dav), **(dav or {})},
        "/wsgi": "wsgi:hostile_apps:sleepy",
        "/cgi": {"kind": "cgi", "argument": str(layout.cgi), "timeout": 30, **(cgi or {})},
        **(mounts or {}),
    }
    lines = [
        f"# {SECRET}: the site file is outside every served tree too",
        'listen = ["tcp:0:interface=127.0.0.1"]',
        f"python-path = {_toml([str(APPS)])}",
        "shutdown-timeout = 3",
        "",
        "[access-log]",
        'path = "off"',
        "",
        "[server]",
        *(f"{k} = {_toml(v)}" for k, v in settings.items()),
        "",
        "[options]",
        *(f"{k} = {_toml(v)}" for k, v in (options or {}).items()),
        "",
        "[mounts]",
        *(f"{_toml(k)} = {_toml(v)}" for k, v in allMounts.items()),
    ]
    path = layout.base / "site.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def rssOf(pid: int) -> int:
    """
    The resident memory of process C{pid}, in bytes (C{VmRSS}).
    """
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class HostileServer:
    """
    C{python -m web2} serving a hostile site (see L{layOutSite} and
    L{siteFile}) on 127.0.0.1, port 0; a context manager that kills it in
    any case.  L{stop} stops it with SIGTERM and checks that it stopped
    cleanly, with no traceback in its log.

    @ivar layout: the L{SiteLayout}.
    @ivar port: the port it listens on.
    @ivar pid: its process id.
    """

    def __init__(self, tmp_path: Path, **siteOptions):
        self.layout = layOutSite(tmp_path)
        self.config = siteFile(self.layout, **siteOptions)
        self.process = None

    def __enter__(self):
        self.process = ServerProcess(pythonWeb2("--config", str(self.config)),
                                     cwd=self.layout.base)
        try:
            self.port = self.process.port
            self.pid = self.process.process.pid
            self.warmUp()
        except BaseException:
            self.process.kill()
            raise
        return self

    def __exit__(self, *exc):
        # The scripts first, so that the server, their parent, reaps them.
        self.killScripts()
        self.process.kill()

    def killScripts(self):
        """
        Kill whatever CGI script of this site is still running (a test
        that finds one left fails on its own; none may outlive the test).
        """
        killed = []
        for entry in self.layout.pids.iterdir():
            pid = int(entry.name)
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    ours = str(self.layout.cgi).encode() in f.read()
                if ours:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass
        # Give a living server the moment it needs to reap them.
        deadline = Deadline(2.0)
        while any(processState(pid) is not None for pid in killed) and not deadline.passed():
            time.sleep(0.02)

    @property
    def output(self) -> str:
        return self.process.output

    def rss(self) -> int:
        return rssOf(self.pid)

    def warmUp(self):
        """
        One request to each kind of mount, so that the modules each needs
        are imported and its caches made before memory is measured.
        """
        for request in (
            b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /static/index.html HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /static/big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9,20-29\r\n\r\n",
            b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
            b"POST /discard HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
            b"PROPFIND /dav/ HTTP/1.1\r\nHost: a\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n",
            b"GET /wsgi/?s=0 HTTP/1.1\r\nHost: a\r\n\r\n",
        ):
            response = oneResponse(self.port, request, timeout=30)
            assert response is not None and response.status < 500, (request, response)

    def stop(self):
        """
        SIGTERM; the server must stop cleanly and have logged no traceback.
        """
        result = self.process.stop(timeout=20)
        assert result.returncode == 0, result.output[-4000:]
        assertNoTraceback(result.output)
        return result


# ---------------------------------------------------------------------------
# Clients


class Deadline:
    """
    A moment C{seconds} from now.
    """

    def __init__(self, seconds: float):
        self.start = time.monotonic()
        self.at = self.start + seconds

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def connect(port: int, *, rcvbuf: int | None = None, timeout: float = 10.0) -> socket.socket:
    """
    A blocking TCP connection to 127.0.0.1:C{port}; C{rcvbuf} sets a small
    receive buffer before connecting (so that the window stays small).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass
class Received:
    """
    What a client read on one connection.

    @ivar data: the bytes.
    @ivar end: how reading ended: C{"eof"} (the server closed), C{"reset"},
        C{"timeout"} (nothing for the timeout, connection still open) or
        C{"limit"} (enough was read).
    @ivar seconds: from the start of the read to its end.
    """

    data: bytes
    end: str
    seconds: float

    @property
    def closed(self) -> bool:
        return self.end in ("eof", "reset")

    def responses(self):
        """
        The responses read (L{parseResponses}); raises
        L{MalformedResponse} for bytes that are not well-formed responses.
        """
        return parseResponses(self.data, eof=self.closed)


def readUntilClosed(sock: socket.socket, timeout: float, *, untilResponses=None,
                    limit: int = 64 * MiB) -> Received:
    """
    Read from C{sock} until the server closes it, C{timeout} seconds pass
    in all, C{limit} bytes arrive, or (with C{untilResponses}) that many
    complete final responses were read.
    """
    deadline = Deadline(timeout)
    chunks, total = [], 0
    end = "timeout"
    while True:
        left = deadline.left()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            end = "reset"
            break
        if not chunk:
            end = "eof"
            break
        chunks.append(chunk)
        total += len(chunk)
        if total >= limit:
            end = "limit"
            break
        if untilResponses is not None:
            try:
                finals = [r for r in parseResponses(b"".join(chunks), eof=False)
                          if r.status >= 200 and r.complete]
            except MalformedResponse:
                continue
            if len(finals) >= untilResponses:
                end = "limit"
                break
    return Received(b"".join(chunks), end, deadline.elapsed())


def exchange(port: int, data: bytes, timeout: float = 5.0, **readArgs) -> Received:
    """
    Send C{data} on a new connection and read (L{readUntilClosed}).  A
    reset while sending ends the sending; what was received counts.
    """
    with connect(port, timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return readUntilClosed(sock, timeout, **readArgs)


def oneResponse(port: int, data: bytes, timeout: float = 5.0):
    """
    Send one request on a new connection and return its final response
    (a L{web2.testing.ParsedResponse}), or C{None} if none came whole.
    """
    received = exchange(port, data, timeout, untilResponses=1)
    try:
        finals = [r for r in received.responses() if r.status >= 200]
    except MalformedResponse:
        return None
    return finals[0] if finals and finals[0].complete else None


# ---------------------------------------------------------------------------
# The monitor


#: The health probe, run as a process of its own.
PROBE = Path(__file__).with_name("_hostile_probe.py")


class Monitor:
    """
    While an attack runs: samples the server's resident memory every
    C{rssInterval} seconds, and times a C{GET /health} on a kept-alive
    connection of its own every C{healthInterval} seconds (a connection
    that closes is made again, and the connect is part of the time).

    The probe runs in a process of its own (C{_hostile_probe.py}), so that
    its timings do not include waits for this process's interpreter lock,
    which the attack's client threads hold much of the time; its
    connection is made, and answered once, before the attack starts.

    A probe still waiting when the monitor stops counts with the time it
    has waited so far, so a server that stalls for the whole attack cannot
    hide behind a probe that never returns; an attack over before the
    first probe waits for one.

    Use it as a context manager around the attack, then call L{check}.

    @ivar overLimit: an event set as soon as the memory grew past
        C{bounds.rssGrowth}: attacks stop early on it.
    """

    def __init__(self, server: HostileServer, bounds: Bounds, *, healthInterval=0.05,
                 rssInterval=0.02, probeTimeout=30.0):
        self.server = server
        self.bounds = bounds
        self.healthInterval = healthInterval
        self.rssInterval = rssInterval
        self.probeTimeout = probeTimeout
        self.overLimit = threading.Event()
        self._stop = threading.Event()
        self.baseline = 0
        self.peak = 0
        self.latencies: list[float] = []
        self.worstAt = 0.0
        self.errors: list[str] = []
        self.seconds = 0.0
        self._started = 0.0
        self._inFlightSince = None
        self._lock = threading.Lock()
        self._probed = threading.Condition(self._lock)
        self._threads = []
        self._probe = None

    def __enter__(self):
        self._probe = subprocess.Popen(
            [sys.executable, str(PROBE), str(self.server.port), str(self.healthInterval),
             str(self.probeTimeout)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        first = self._probe.stdout.readline()
        if first.strip() != "ready":
            self._probe.kill()
            self._probe.wait()
            raise AssertionError(f"the health probe could not start: {first!r}")
        self.baseline = self.peak = self.server.rss()
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._sampleRSS, daemon=True),
                         threading.Thread(target=self._readProbe, daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self._stop.is_set():
            return
        now = time.monotonic()
        self.seconds = now - self._started
        # An attack shorter than the probes' interval still gets one probe
        # answered (or timed) after it.
        with self._probed:
            self._probed.wait_for(lambda: self.latencies, self.probeTimeout)
        self._stop.set()
        self._probe.terminate()
        self._probe.wait(10)
        for t in self._threads:
            t.join(10)
        self._probe.stdout.close()
        with self._lock:
            since = self._inFlightSince
            if since is not None and since < now:
                self._record(now - since, since)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    def _record(self, latency, since):
        self.latencies.append(latency)
        if latency >= self.worst:
            self.worstAt = since - self._started

    def _sampleRSS(self):
        pid = self.server.pid
        while not self._stop.is_set():
            try:
                rss = rssOf(pid)
            except (OSError, AssertionError):
                return
            if rss > self.peak:
                self.peak = rss
                if rss - self.baseline > self.bounds.rssGrowth:
                    self.overLimit.set()
            self._stop.wait(self.rssInterval)

    def _readProbe(self):
        """
        Take the probe's lines (see C{_hostile_probe.py}) until it ends.
        """
        for line in self._probe.stdout:
            kind, *fields = line.rstrip("\n").split(" ", 3)
            with self._lock:
                if kind == "start":
                    self._inFlightSince = float(fields[0])
                elif kind in ("done", "fail"):
                    self._inFlightSince = None
                    since, latency = float(fields[0]), float(fields[1])
                    self._record(latency, since)
                    if kind == "fail":
                        self.errors.append(f"{since - self._started:.2f}s: {fields[2]}")
                    self._probed.notify_all()

    def describe(self) -> str:
        return (f"RSS {self.baseline / MiB:.0f} MiB -> peak {self.peak / MiB:.0f} MiB "
                f"(+{self.growth / MiB:.1f} MiB, bound {self.bounds.rssGrowth / MiB:.0f}); "
                f"/health worst {self.worst * 1000:.0f} ms at {self.worstAt:.1f}s "
                f"(bound {self.bounds.health * 1000:.0f} ms), {len(self.latencies)} probes "
                f"in {self.seconds:.1f}s"
                + (f"; probe errors: {self.errors[:3]}" if self.errors else ""))

    def check(self, context: str = "", problems=()):
        """
        Assert the bounds (memory growth, the worst health latency, no
        failed health probe) and that the test found no C{problems} of its
        own: every failure is reported at once, with the figures.

        @param context: what the attack saw, for the message.
        @param problems: what the test found wrong (see L{expect}).
        """
        self.stop()
        context = f" [{context}]" if context else ""
        found = []
        if self.growth > self.bounds.rssGrowth:
            found.append(f"memory grew by {self.growth / MiB:.1f} MiB")
        if self.worst > self.bounds.health:
            found.append(f"/health took {self.worst * 1000:.0f} ms")
        if self.errors:
            found.append("a health probe failed")
        if not self.latencies:
            found.append("no health probe ran")
        found += list(problems)
        # Shown with pytest -rP: the figures of a passing attack.
        print(self.describe() + context)
        assert not found, "; ".join(found) + "\n" + self.describe() + context


def expect(problems: list, condition, message: str) -> bool:
    """
    Note C{message} in C{problems} unless C{condition} holds.

    @return: C{condition}, as a C{bool}.
    """
    if not condition:
        problems.append(message)
    return bool(condition)


def runThreads(target, argsList, timeout: float):
    """
    Run C{target(*args)} in a thread for each C{args} of C{argsList}, wait
    for all (at most C{timeout} seconds), and return their results in order
    (an exception a thread raised is its result).
    """
    results = [None] * len(argsList)

    def run(i, args):
        try:
            results[i] = target(*args)
        except BaseException as e:  # noqa: B036 - reported to the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, a), daemon=True)
               for i, a in enumerate(argsList)]
    for t in threads:
        t.start()
    deadline = Deadline(timeout)
    for t in threads:
        t.join(deadline.left())
    stuck = sum(t.is_alive() for t in threads)
    assert not stuck, f"{stuck} client thread(s) still running after {timeout}s"
    return results


def processState(pid: int) -> str | None:
    """
    The state letter of process C{pid} (C{"Z"} for a zombie), or C{None}
    if there is no such process.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
