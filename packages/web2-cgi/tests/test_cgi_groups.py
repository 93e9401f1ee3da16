"""
CGI scripts that start other processes (issue #14): a shell script that
runs C{sleep} in the background and waits.  Each script runs in a session
of its own, and stopping it (its timeout, its client going away, the
server shutting down) signals the whole group: none of the grandchildren
may be left running.  Before, only the script's own process was signalled,
and the C{sleep}s lived on as orphans.

Real scripts on the real reactor; each test checks by process id that the
grandchildren are gone.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import tempfile

from _cgi_helpers import writeScript
from twisted.internet import reactor, task, threads
from twisted.trial.unittest import TestCase

from web2.cgi import _process
from web2.cgi.script import CGIScript
from web2.resource import Resource
from web2.testing import LiveServer

#: A shell script that starts two background sleeps (the second ignoring
#: TERM when $STUBBORN is set), notes every process id, and waits.
FAMILY = """#!/bin/sh
sleep 300 &
echo $! > "$PIDS/sleep"
if [ -n "$STUBBORN" ]; then
    sh -c 'trap "" TERM; echo $$ > "$PIDS/stubborn"; while :; do sleep 1; done' &
else
    sleep 301 &
    echo $! > "$PIDS/stubborn"
fi
echo $$ > "$PIDS/script"
wait
"""

NAMES = ("script", "sleep", "stubborn")


def alive(pid: int) -> bool:
    """
    Whether process C{pid} exists and is not a zombie.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"




class GroupTests(TestCase):
    timeout = 120

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.pids = os.path.join(self.dir, "pids")
        os.mkdir(self.pids)
        writeScript(self.dir, "family.cgi", FAMILY)
        self.addCleanup(self.killLeftovers)

    def serve(self, **options):
        root = Resource()
        script = CGIScript(os.path.join(self.dir, "family.cgi"),
                           env={"PIDS": self.pids, **options.pop("env", {})}, **options)
        root.putChild("family.cgi", script)
        live = LiveServer(root)
        self.addCleanup(live.stop)
        self.port = live.portNumber
        # Until the script's group is gone (a TERM-ignoring child: the grace).
        self.addCleanup(script.whenIdle)
        return script

    def notedPids(self) -> dict:
        found = {}
        for name in NAMES:
            try:
                with open(os.path.join(self.pids, name)) as f:
                    found[name] = int(f.read())
            except (FileNotFoundError, ValueError):
                pass
        return found

    async def waitFor(self, condition, seconds, what):
        """
        Poll C{condition} every 50 ms for at most C{seconds} (a bound on a
        hang, not a speed).
        """
        for _ in range(int(seconds / 0.05)):
            if condition():
                return
            await task.deferLater(reactor, 0.05, lambda: None)
        self.fail(f"{what}: not within {seconds}s")

    async def family(self):
        await self.waitFor(lambda: len(self.notedPids()) == 3, 30, "the script started")
        pids = self.notedPids()
        self.assertTrue(all(alive(pid) for pid in pids.values()), pids)
        return pids

    async def assertAllGone(self, pids, seconds):
        await self.waitFor(lambda: not any(alive(p) for p in pids.values()), seconds,
                           f"processes left: {[n for n, p in pids.items() if alive(p)]}")

    def killLeftovers(self):
        for pid in self.notedPids().values():
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    async def test_timeoutStopsTheGroup(self):
        """
        The script times out: it gets 502, and the script and both its
        sleeps are gone.
        """
        self.serve(timeout=1.0)
        status = threads.deferToThread(_get, self.port)
        pids = await self.family()
        self.assertEqual(await status, 502)
        await self.assertAllGone(pids, 20)

    async def test_stubbornChildIsKilled(self):
        """
        A grandchild that ignores TERM is killed after the grace.
        """
        self.serve(timeout=1.0, env={"STUBBORN": "1"})
        status = threads.deferToThread(_get, self.port)
        pids = await self.family()
        self.assertEqual(await status, 502)
        await self.assertAllGone(pids, 30)

    async def test_clientLeavingBeforeTheHeadStopsTheGroup(self):
        """
        The client goes away (its connection reset) while the script has
        written nothing: the script and its children are stopped at once,
        not at the timeout (a minute here).
        """
        self.serve(timeout=60.0)
        sock = await threads.deferToThread(_send, self.port)
        pids = await self.family()
        _reset(sock)
        await self.assertAllGone(pids, 20)

    async def test_shutdownStopsTheGroup(self):
        """
        At the reactor's shutdown (L{_process._stopRunning}), the scripts
        still running and their children are stopped.
        """
        self.serve(timeout=60.0, env={"STUBBORN": "1"})
        sock = await threads.deferToThread(_send, self.port)
        self.addCleanup(sock.close)
        pids = await self.family()
        await _process._stopRunning()
        self.assertFalse(any(alive(p) for p in pids.values()),
                         [n for n, p in pids.items() if alive(p)])


def _send(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"GET /family.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
    return sock


def _reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _get(port):
    with _send(port) as sock:
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split()[1])
