"""
The server log of C{python -m web2} (L{web2.serverlog}): C{--log-level},
C{--server-log-format json}, C{--server-log FILE}, and SIGUSR1 reopening
the log files, with real processes and real signals.
"""

import io
import json
import os
import signal
import socket
import threading
import time

import pytest
from _launch_helpers import Server, fetch, freePort, pythonWeb2, runToEnd
from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.python.failure import Failure

from web2.log import AccessLogService
from web2.serverlog import (
    ReopeningFile,
    jsonServerLogObserver,
    logLevel,
    serverLogObservers,
)


def test_logLevelNames():
    assert logLevel("debug") is LogLevel.debug
    assert logLevel("WARNING") is LogLevel.warn
    assert logLevel("critical") is LogLevel.critical
    with pytest.raises(ValueError, match="must be one of debug, info"):
        logLevel("loud")


def test_jsonLines():
    """
    One JSON object per event, with the formatted message, the level, the
    namespace, the pid, and a failure's traceback.
    """
    out = io.StringIO()
    publisher = LogPublisher(jsonServerLogObserver(out))
    log = Logger(namespace="here", observer=publisher)
    log.warn("a {thing} \u00e9", thing="quote\"d\nline")
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        log.failure("it broke", Failure())
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["message"] == "a quote\"d\nline \u00e9"
    assert (first["level"], first["namespace"], first["pid"]) == ("warn", "here", os.getpid())
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["level"] == "critical" and "ZeroDivisionError" in second["traceback"]


def test_levelFilterAndAccessEventsKeptOut(tmp_path):
    path = tmp_path / "server.log"
    observers = serverLogObservers("warn", "text", str(path))
    publisher = LogPublisher(*observers)
    Logger(namespace="x", observer=publisher).info("not this")
    Logger(namespace="x", observer=publisher).error("this")
    Logger(namespace="web2.access", observer=publisher).error("nor this")
    text = path.read_text()
    assert "this" in text and "not this" not in text and "nor this" not in text


def test_reopeningFileFollowsItsName(tmp_path):
    path = tmp_path / "a.log"
    target = ReopeningFile(str(path))
    target.write("one\n")
    target.flush()
    path.rename(tmp_path / "a.log.1")
    target.write("two\n")
    target.reopen()
    target.write("three\n")
    target.flush()
    assert (tmp_path / "a.log.1").read_text() == "one\ntwo\n"
    assert path.read_text() == "three\n"


def test_accessLogReopen(tmp_path):
    path = tmp_path / "access.log"
    service = AccessLogService(str(path), lambda event: event["uri"])
    service.startService()
    service({"log_namespace": "web2.access", "uri": "/one"})
    path.rename(tmp_path / "access.log.1")
    service.reopen()
    service({"log_namespace": "web2.access", "uri": "/two"})
    service.stopService()
    assert (tmp_path / "access.log.1").read_text() == "/one\n"
    assert path.read_text() == "/two\n"


def test_logLevelOnARealServer(tmp_path):
    """
    C{--log-level warn}: info lines (the listening address) are left out,
    warnings (nothing mounted) are written; a bad level is refused.
    """
    port = freePort()
    with Server(pythonWeb2("--listen", f"tcp:{port}:interface=127.0.0.1",
                           "--log-level", "warn"), cwd=tmp_path) as server:
        server.waitForPort(port)
        assert fetch(port, "/")[0] == 404
        assert server.waitForOutput("Nothing is mounted")
        result = server.stop()
    assert result.returncode == 0, result.output
    assert "web2 listening on" not in result.output
    assert "[web2.tap#warn] Nothing is mounted" in result.output
    bad = runToEnd(pythonWeb2("--log-level", "loud"), cwd=tmp_path)
    assert bad.returncode == 2
    assert "must be one of debug, info, warn, error, critical, not 'loud'" in bad.stderr


def _waitFor(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _jsonLines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.mark.parametrize("workers", [None, "2"])
def test_jsonServerLogReopenedOnSigusr1(tmp_path, workers):
    """
    C{--server-log-format json --server-log FILE --access-log FILE2}: every
    server-log line is JSON; after logrotate moves both files away, SIGUSR1
    makes the server (each worker, with C{--workers}) write to new files
    under the old names.
    """
    port = freePort()
    serverLog, accessLog = tmp_path / "server.log", tmp_path / "access.log"
    args = ["--listen", f"tcp:{port}:interface=127.0.0.1", "--mount", "/=text:hi",
            "--server-log-format", "json", "--server-log", str(serverLog),
            "--access-log", str(accessLog)]
    if workers:
        args += ["--workers", workers]
    with Server(pythonWeb2(*args), cwd=tmp_path) as server:
        server.waitForPort(port)
        if workers:
            assert _waitFor(lambda: sum(
                "is ready" in r["message"] for r in _jsonLines(serverLog)) == 2)
        assert fetch(port, "/before")[0] == 200
        assert _waitFor(lambda: "/before" in accessLog.read_text())
        serverLog.rename(tmp_path / "server.log.1")
        accessLog.rename(tmp_path / "access.log.1")
        server.process.send_signal(signal.SIGUSR1)
        reopened = 2 if workers else 1
        assert _waitFor(lambda: serverLog.exists() and sum(
            r["message"] == "SIGUSR1: log files reopened"
            for r in _jsonLines(serverLog)) == reopened), server.output
        for _ in range(4):
            assert fetch(port, "/after")[0] == 200
        assert _waitFor(lambda: accessLog.exists()
                        and accessLog.read_text().count("/after") == 4)
        result = server.stop()
    assert result.returncode == 0, result.output
    old = _jsonLines(tmp_path / "server.log.1")
    assert any("web2 listening on" in r["message"] for r in old)
    assert {r["level"] for r in old} <= {"debug", "info", "warn", "error", "critical"}
    new = _jsonLines(serverLog)
    assert any("draining" in r["message"] for r in new)
    assert "/after" not in (tmp_path / "access.log.1").read_text()
    assert "/before" not in accessLog.read_text()
    if workers:
        pids = {r["pid"] for r in new}
        assert len(pids) == 3  # the master and its two workers
    assert "Traceback" not in result.output


def test_lineWrittenFromWithinALine(tmp_path):
    """
    A signal handler runs in the main thread between two bytecodes,
    possibly while a log line is being written, and Twisted's SIGTERM
    handler logs: its line must be written, not wait for the one it
    interrupted (which it would do forever: issue #14, a server that
    ignored SIGTERM).  Here the underlying file's C{write} stands for the
    moment the signal lands.  In a thread, so that a deadlock fails the
    test instead of hanging it.
    """
    path = tmp_path / "a.log"
    target = ReopeningFile(str(path))
    real = target.file

    class Interrupted:
        def write(self, text):
            if text == "interrupted\n":
                target.write("from the handler\n")
            real.write(text)

        def flush(self):
            real.flush()

    target.file = Interrupted()
    writer = threading.Thread(target=lambda: (target.write("interrupted\n"), target.flush()),
                              daemon=True)
    writer.start()
    writer.join(10)
    assert not writer.is_alive(), "the nested write waited for the outer one"
    real.close()
    assert path.read_text() == "from the handler\ninterrupted\n"


def _floodBadRequests(port, stop):
    """
    Send requests the server refuses (each logs a line) until C{stop} is
    set or the server is gone.
    """
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n")
                sock.recv(100)
        except OSError:
            if stop.wait(0.05):
                return


def test_sigtermWhileLogging(tmp_path):
    """
    SIGTERM lands while the server is writing log lines (three clients
    send requests it refuses, one line each): the server stops, every
    time.  Before the fix 3 of 15 such stops hung: the reactor's SIGTERM
    handler, logging from inside the signal handler, waited for the lock
    of the line it had interrupted (issue #14: a DAV server that ignored
    SIGTERM after a 413, when the client's close logged a line as the
    signal came).  A hang fails the round after 20 s, with the server's
    stacks in the message.
    """
    for _ in range(6):
        port = freePort()
        server = Server(pythonWeb2("--listen", f"tcp:{port}:interface=127.0.0.1",
                                   "--mount", "/=text:hi", "--access-log", "off"),
                        cwd=tmp_path, stopTimeout=20)
        stop = threading.Event()
        clients = [threading.Thread(target=_floodBadRequests, args=(port, stop), daemon=True)
                   for _ in range(3)]
        try:
            server.waitForPort(port)
            for client in clients:
                client.start()
            assert server.waitForOutput("Bad request from")
            result = server.stop()
        finally:
            stop.set()
            for client in clients:
                client.join(10)
            server.kill()
        assert result.returncode == 0, result.output
        assert "Received SIGTERM" in result.output
        assert "Traceback" not in result.output
