"""
C{twistd -n web2} and C{python -m web2} for real: subprocesses serving on
127.0.0.1, stopped with SIGTERM.
"""

import json
import socket
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from _tls import selfSigned

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import (  # noqa: E402
    Server,
    assertNoTraceback,
    assertStoppedCleanly,
    fetch,
    fetchUnix,
    pythonWeb2,
    runToEnd,
    twistdWeb2,
)

LOCAL = "tcp:0:interface=127.0.0.1"


def test_twistdServesMounts(tmp_path):
    """
    Mounts of the core kinds answer; the access log file gets one JSON line
    per request; SIGTERM ends the process cleanly.
    """
    log = tmp_path / "access.log"
    with Server(twistdWeb2("--listen", LOCAL, "--mount", "/=text:hello",
                           "--mount", "/_plugins=plugins:", "--mount", "/old=redirect:/new",
                           "--access-log", str(log), "--log-format", "json"),
                cwd=tmp_path) as server:
        port = server.port
        status, headers, body = fetch(port, "/")
        assert (status, body) == (200, b"hello")
        assert headers["content-type"].startswith("text/plain")
        status, _, body = fetch(port, "/_plugins")
        assert status == 200 and b"web2-core" in body and b"web2_mount_kinds" in body
        status, headers, _ = fetch(port, "/old/page")
        assert status == 301 and headers["location"] == "/new"
        result = server.stop()
    assertStoppedCleanly(result)
    assert "draining" in result.output
    assertNoTraceback(result.output)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["method"], r["uri"], r["status"]) for r in records] == [
        ("GET", "/", 200), ("GET", "/_plugins", 200), ("GET", "/old/page", 301)]


def test_pythonMainWithConfigFile(tmp_path):
    """
    C{python -m web2 --config}: the file's listeners (TCP and a unix
    socket) and mounts; the access log goes to standard output.
    """
    sock = tmp_path / "web2.sock"
    (tmp_path / "site.toml").write_text(textwrap.dedent(f"""
        listen = ["{LOCAL}", "unix:{sock}"]
        [mounts]
        "/" = "text:from the file"
        [mounts."/deep/er"]
        kind = "text"
        argument = "deeper"
        content_type = "text/csv"
        [access-log]
        format = "common"
    """))
    with Server(pythonWeb2("--config", "site.toml"), cwd=tmp_path) as server:
        listeners = server.waitForListeners(2)
        port = listeners[0][1]
        assert fetch(port, "/")[2] == b"from the file"
        status, headers, body = fetch(port, "/deep/er/x")
        assert (status, body) == (200, b"deeper")
        assert headers["content-type"].startswith("text/csv")
        raw = fetchUnix(str(sock), "/")
        assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b"from the file")
        assert server.waitForOutput('"GET /deep/er/x HTTP/1.1" 200 6')
        result = server.stop()
    assert result.returncode == 0, result.output  # python -m web2 exits 0
    assertNoTraceback(result.output)


def test_tlsListener(tmp_path):
    """
    An ssl: endpoint serves HTTPS beside a plain one.
    """
    keyPath, certPath = selfSigned(tmp_path)
    tls = f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}"
    with Server(twistdWeb2("--listen", LOCAL, "--listen", tls, "--mount", "/=text:secret"),
                cwd=tmp_path) as server:
        listeners = server.waitForListeners(2)
        tlsPort = [p for _, p, e in listeners if e.startswith("ssl:")][0]
        assert fetch(tlsPort, "/", tls=True)[2] == b"secret"
        assertStoppedCleanly(server.stop())


SLOW = """
import os
from twisted.internet import defer, reactor
from twisted.logger import Logger
from web2 import http, resource

log = Logger()


class Slow(resource.LeafResource):
    # Answers once the test creates the file named by SLOW_RELEASE (not
    # after a delay: the answer must still be due when SIGTERM comes).
    def render(self, request):
        log.info("slow request started")
        done = defer.Deferred()

        def poll():
            if os.path.exists(os.environ["SLOW_RELEASE"]):
                done.callback(http.Response(200, None, "late"))
            else:
                reactor.callLater(0.05, poll)

        poll()
        return done
"""


def test_sigtermDrainsInFlight(tmp_path):
    """
    On SIGTERM the listeners close at once, and a response in progress is
    finished (with Connection: close) before the process ends with 0.
    """
    (tmp_path / "slowsite.py").write_text(SLOW)
    release = tmp_path / "release"
    with Server(twistdWeb2("--listen", LOCAL, "--python-path", str(tmp_path),
                           "--mount", "/=class:slowsite.Slow",
                           "--shutdown-timeout", "20"), cwd=tmp_path,
                env={"SLOW_RELEASE": str(release)}) as server:
        port = server.port
        answers = []
        client = threading.Thread(target=lambda: answers.append(fetch(port, "/", timeout=25)))
        client.start()
        assert server.waitForOutput("slow request started")
        server.terminate()
        assert server.waitForOutput("draining 1 connection")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        release.touch()
        client.join(30)
        result = server.stop()
    [(status, headers, body)] = answers
    assert (status, body) == (200, b"late")
    assert headers.get("connection") == "close"
    assertStoppedCleanly(result)


def test_help():
    """
    --help shows web2's options and exits 0.
    """
    for command in (twistdWeb2("--help"), pythonWeb2("--help")):
        result = runToEnd(command)
        assert result.returncode == 0, result.output
        for option in ("--listen=", "--mount=", "--config=", "--access-log=",
                       "--log-format=", "--list-plugins", "--skip-broken-plugins",
                       "--shutdown-timeout=", "--version", "--max-connections="):
            assert option in result.stdout, option


def test_listPluginsAndVersion():
    result = runToEnd(pythonWeb2("--list-plugins"))
    assert result.returncode == 0
    assert "core  (web2-core 0.1.0)  web2.coreplugin" in result.stdout
    result = runToEnd(twistdWeb2("--version"))
    assert result.returncode == 0 and result.stdout.startswith("web2 0.1.0 (Twisted ")


def test_systemdSocketActivation(tmp_path):
    """
    C{--listen systemd:domain=INET:index=0} serves on a listening socket
    handed over as systemd does (descriptor 3, C{LISTEN_FDS=1},
    C{LISTEN_FDNAMES} and C{LISTEN_PID} naming the server's own process),
    without binding one of its own; without the handover, the error says
    what is missing.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    # What systemd does before it runs the service: the socket becomes
    # descriptor 3 and the variables name this very process.
    handOver = (
        "import os, sys\n"
        "os.dup2(int(sys.argv[1]), 3)\n"
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1',"
        " LISTEN_FDNAMES='web2')\n"
        "os.execv(sys.argv[2], sys.argv[2:])\n"
    )
    command = [
        sys.executable, "-c", handOver, str(fd),
        *twistdWeb2("--listen", "systemd:domain=INET:index=0",
                    "--mount", "/=text:socket-activated"),
    ]
    try:
        with Server(command, cwd=tmp_path, passFds=(fd,)) as server:
            # Not waitForPort: the handed-over socket accepts (into its
            # backlog) before the server runs.
            assert server.waitForListeners()[0][1] == port
            status, _, body = fetch(port, "/")
            assert (status, body) == (200, b"socket-activated")
            result = server.stop()
    finally:
        listener.close()
    assertStoppedCleanly(result)
    assertNoTraceback(result.output)

    alone = runToEnd(twistdWeb2("--listen", "systemd:domain=INET:index=0",
                                "--mount", "/=text:x"), cwd=tmp_path)
    assert alone.returncode != 0
    assert "LISTEN_FDS" in alone.output
    assertNoTraceback(alone.output)


def test_daemonMode(tmp_path):
    """
    Without C{-n}, C{twistd web2} detaches: the command returns at once,
    the daemon writes its pid file and log file, serves, and on SIGTERM
    drains, stops and removes its pid file.
    """
    import os
    import re
    import signal
    import time

    pidfile = tmp_path / "web2.pid"
    logfile = tmp_path / "web2.log"
    command = twistdWeb2("--listen", LOCAL, "--mount", "/=text:detached")
    command.remove("-n")
    command[command.index("--pidfile=")] = f"--pidfile={pidfile}"
    command.insert(command.index("web2"), f"--logfile={logfile}")
    started = runToEnd(command, cwd=tmp_path)
    assert started.returncode == 0, started.output

    def logged(pattern, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = logfile.read_text() if logfile.exists() else ""
            match = re.search(pattern, text)
            if match:
                return match
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not logged:\n{text}")

    port = int(logged(r"web2 listening on 127\.0\.0\.1:(\d+)").group(1))
    pid = int(pidfile.read_text())
    try:
        status, _, body = fetch(port, "/")
        assert (status, body) == (200, b"detached")
    finally:
        os.kill(pid, signal.SIGTERM)
    logged(r"Server Shut Down")
    deadline = time.monotonic() + 20
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pidfile.exists()
    assertNoTraceback(logfile.read_text())
