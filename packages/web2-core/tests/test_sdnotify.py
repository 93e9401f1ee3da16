"""
systemd notifications (L{web2.sdnotify}): unit tests on a socket of our
own, and real servers (one process, and a C{--workers} master) telling a
unix datagram socket given as C{NOTIFY_SOCKET} READY, RELOADING, WATCHDOG
and STOPPING.
"""

import os
import signal
import socket
import time

import pytest
from _launch_helpers import Server, fetch, pythonWeb2
from twisted.internet import task

from web2.sdnotify import (
    SystemdNotifier,
    SystemdNotifyService,
    systemdServices,
    watchdogInterval,
)

LOCAL = "tcp:0:interface=127.0.0.1"


@pytest.fixture
def notifySocket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify.sock")
    sock.bind(path)
    sock.settimeout(30)
    yield sock, path
    sock.close()


def _fields(datagram: bytes) -> dict:
    return dict(line.split("=", 1) for line in datagram.decode().splitlines())


def _receiveUntil(sock, key, timeout=60.0):
    """
    Datagrams until one has C{key}; all of them, in order.
    """
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        fields = _fields(sock.recv(4096))
        seen.append(fields)
        if key in fields:
            return seen
    raise AssertionError(f"no {key} in {seen}")


def test_notifierSendsDatagrams(notifySocket):
    sock, path = notifySocket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("serving")
    fields = _fields(sock.recv(4096))
    assert fields == {"READY": "1", "MAINPID": str(os.getpid()), "STATUS": "serving"}
    assert notifier.reloading()
    fields = _fields(sock.recv(4096))
    assert fields["RELOADING"] == "1" and int(fields["MONOTONIC_USEC"]) > 0
    assert notifier.stopping()
    assert _fields(sock.recv(4096)) == {"STOPPING": "1"}


def test_notifierWithoutSocketDoesNothing():
    assert not SystemdNotifier({}).ready()
    assert systemdServices(None, {}) == []


def test_notifierSocketGoneIsLoggedNotRaised(tmp_path):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "nothing-here")})
    assert not notifier.ready()
    assert not notifier.watchdog()


def test_abstractSocketName():
    assert SystemdNotifier({"NOTIFY_SOCKET": "@sys/notify"}).address == "\0sys/notify"


def test_watchdogInterval():
    assert watchdogInterval({"WATCHDOG_USEC": "4000000"}) == 2.0
    assert watchdogInterval({"WATCHDOG_USEC": "4000000",
                             "WATCHDOG_PID": str(os.getpid())}) == 2.0
    assert watchdogInterval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}) is None
    assert watchdogInterval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdogInterval({}) is None


def test_serviceReadyWatchdogStopping(notifySocket):
    """
    On a clock: READY when started, WATCHDOG every half of WATCHDOG_USEC,
    STOPPING when stopped, and no WATCHDOG after.
    """
    sock, path = notifySocket
    clock = task.Clock()
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    service = SystemdNotifyService(clock, environ=env)
    service.startService()
    assert _fields(sock.recv(4096))["READY"] == "1"
    assert _fields(sock.recv(4096)) == {"WATCHDOG": "1"}
    clock.advance(1.0)
    assert _fields(sock.recv(4096)) == {"WATCHDOG": "1"}
    service.stopService()
    assert _fields(sock.recv(4096)) == {"STOPPING": "1"}
    clock.advance(5.0)
    sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        sock.recv(4096)


def test_oneProcessServerNotifies(notifySocket, tmp_path):
    """
    C{python -m web2} under NOTIFY_SOCKET: READY once it listens (a request
    then succeeds), WATCHDOG while it runs, STOPPING on SIGTERM.
    """
    sock, path = notifySocket
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/=text:hi"), cwd=tmp_path,
                env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}) as server:
        seen = _receiveUntil(sock, "READY")
        assert seen[-1]["MAINPID"] == str(server.process.pid)
        assert fetch(server.port, "/")[2] == b"hi"
        _receiveUntil(sock, "WATCHDOG")
        _receiveUntil(sock, "WATCHDOG")
        server.terminate()
        _receiveUntil(sock, "STOPPING")
        result = server.stop()
    assert result.returncode == 0, result.output


def test_masterNotifies(notifySocket, tmp_path):
    """
    C{--workers 2}: the master (not a worker) says READY once both workers
    are ready, RELOADING then READY on SIGHUP, STOPPING on SIGTERM.
    """
    sock, path = notifySocket
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "2", "--mount", "/=text:hi"),
                cwd=tmp_path, env={"NOTIFY_SOCKET": path}) as server:
        seen = _receiveUntil(sock, "READY")
        assert [f for f in seen if "READY" in f] == [seen[-1]]
        assert seen[-1]["MAINPID"] == str(server.process.pid)
        assert seen[-1]["STATUS"] == "2 worker(s) serving"
        deadline = time.monotonic() + 30  # the output is read by a thread
        while server.output.count("is ready") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.output.count("is ready") == 2
        server.process.send_signal(signal.SIGHUP)
        assert "RELOADING" in _receiveUntil(sock, "RELOADING")[-1]
        assert _receiveUntil(sock, "READY")[-1]["STATUS"] == "2 worker(s) serving"
        assert server.waitForOutput("reload done")
        assert fetch(server.port, "/")[2] == b"hi"
        server.terminate()
        _receiveUntil(sock, "STOPPING")
        result = server.stop()
    assert result.returncode == 0, result.output
