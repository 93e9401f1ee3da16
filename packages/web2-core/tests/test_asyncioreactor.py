"""
L{web2.asyncioreactor}: Twisted's asyncio reactor without a logging context
per event dispatches events by the same rules, and C{python -m web2}
installs it by name.
"""

import asyncio

import pytest
from _launch_helpers import (
    Server,
    assertStoppedCleanly,
    fetch,
    pythonWeb2,
    runToEnd,
    twistdCommand,
)
from _reactor_helpers import DispatchContract, Selectable, loggedError

LOCAL = "tcp:0:interface=127.0.0.1"


@pytest.fixture
def reactor():
    from web2.asyncioreactor import LeanAsyncioReactor

    loop = asyncio.new_event_loop()
    reactor = LeanAsyncioReactor(loop)
    yield reactor
    reactor.removeAll()
    reactor.waker.connectionLost(None)
    loop.close()
    asyncio.set_event_loop(None)


def test_pythonMainInstallsItByName():
    """
    C{python -m web2 --reactor web2-asyncio} serves on it.
    """
    with Server(pythonWeb2("--reactor", "web2-asyncio", "--listen", LOCAL,
                           "--mount", "/=text:lean asyncio")) as server:
        for _ in range(3):
            assert fetch(server.port, "/")[::2] == (200, b"lean asyncio")
        result = server.stop()
    assert "reactor LeanAsyncioReactor" in result.output


def test_twistdInstallsItByName():
    """
    C{twistd --reactor=web2-asyncio} finds it among web2's dropins.
    """
    command = twistdCommand() + ["-n", "--pidfile=", "--reactor=web2-asyncio", "web2",
                                 "--listen", LOCAL, "--mount", "/=text:twistd asyncio"]
    with Server(command) as server:
        assert fetch(server.port, "/")[::2] == (200, b"twistd asyncio")
        result = server.stop()
    assert "LeanAsyncioReactor" in result.output


LOOP_SITE = """
from twisted.internet import reactor

from web2 import http, resource

class Root(resource.Resource):
    def render(self, request):
        loop = reactor._asyncioEventloop
        return http.Response(200, {}, "%s %s" % (type(reactor).__name__,
                                                 type(loop).__module__))
"""


def _loopSite(tmp_path):
    (tmp_path / "loopsite.py").write_text(LOOP_SITE)
    return ["--listen", LOCAL, "--python-path", str(tmp_path),
            "--mount", "/=class:loopsite.Root"]


def test_pythonMainOnUvloop(tmp_path):
    """
    C{python -m web2 --reactor web2-uvloop} serves on the lean reactor
    over a uvloop event loop, and stops cleanly on SIGTERM.
    """
    pytest.importorskip("uvloop")
    with Server(pythonWeb2("--reactor", "web2-uvloop", *_loopSite(tmp_path))) as server:
        for _ in range(3):
            assert fetch(server.port, "/")[::2] == (200, b"LeanAsyncioReactor uvloop")
        result = server.stop()
    assertStoppedCleanly(result)
    assert "web2 stopping" in result.output


def test_twistdOnUvloop(tmp_path):
    """
    C{twistd --reactor=web2-uvloop} finds it among web2's dropins, and
    stops cleanly on SIGTERM.
    """
    pytest.importorskip("uvloop")
    command = twistdCommand() + ["-n", "--pidfile=", "--reactor=web2-uvloop", "web2",
                                 *_loopSite(tmp_path)]
    with Server(command) as server:
        assert fetch(server.port, "/")[::2] == (200, b"LeanAsyncioReactor uvloop")
        result = server.stop()
    assertStoppedCleanly(result)


def test_uvloopMissing(tmp_path):
    """
    Without uvloop, C{--reactor web2-uvloop} is a command-line error that
    says what is missing.
    """
    (tmp_path / "uvloop.py").write_text("raise ImportError('no uvloop here')\n")
    result = runToEnd(pythonWeb2("--reactor", "web2-uvloop", "--mount", "/=text:x"),
                      env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2
    assert "--reactor web2-uvloop needs the uvloop package" in result.output
    assert "Traceback" not in result.output


CHILD_SITE = """
import sys

from twisted.internet import defer, protocol, reactor

from web2 import http, resource

class Child(protocol.ProcessProtocol):
    def __init__(self, done):
        self.done = done

    def processEnded(self, reason):
        if not self.done.called:
            self.done.callback(http.Response(200, {}, "ended %s" % reason.value.exitCode))

class Root(resource.Resource):
    def render(self, request):
        done = defer.Deferred()
        reactor.spawnProcess(Child(done), sys.executable,
                             [sys.executable, "-c", "raise SystemExit(3)"], env={})
        def never():
            if not done.called:
                done.callback(http.Response(504, {}, "processEnded never came"))
        reactor.callLater(5, never)
        return done
"""


def test_childProcessesOnUvloop(tmp_path):
    """
    On uvloop the reactor still learns that its child processes ended
    (what CGI scripts under an ASGI site need): uvloop takes the signal
    wakeup descriptor Twisted's SIGCHLD handling relies on, so the loop's
    own signal handling reaps them.
    """
    pytest.importorskip("uvloop")
    (tmp_path / "childsite.py").write_text(CHILD_SITE)
    command = pythonWeb2("--reactor", "web2-uvloop", "--listen", LOCAL,
                         "--python-path", str(tmp_path), "--mount", "/=class:childsite.Root")
    with Server(command) as server:
        for _ in range(3):
            assert fetch(server.port, "/", timeout=30)[::2] == (200, b"ended 3")
        result = server.stop()
    assertStoppedCleanly(result)


class TestDispatch(DispatchContract):
    """
    The dispatch rules on L{LeanAsyncioReactor}, and its own.
    """

    def turn(self, reactor):
        loop = reactor._asyncioEventloop
        loop.call_soon(loop.stop)
        loop.run_forever()

    def finishTurn(self, reactor):
        # The sends follow the turn's callbacks as the loop's next ready
        # callback.
        self.turn(reactor)

    def test_errorDroppingAClosedDescriptorIsLogged(self, reactor, pair, logged):
        """
        A selectable whose C{fileno()} became -1 and whose C{connectionLost}
        raises: the error goes to web2's log, as every other error of a read
        or write does (Twisted's reactor logged it too), not to asyncio's
        exception handler and the standard library's logging.
        """
        class Raising(Selectable):
            def connectionLost(self, reason):
                raise RuntimeError("lost while closed")

        handled = []
        reactor._asyncioEventloop.set_exception_handler(lambda loop, ctx: handled.append(ctx))
        selectable = Raising(pair[0])
        reactor.addReader(selectable)
        selectable.closed = True
        pair[1].send(b"x")
        self.turn(reactor)
        assert handled == []
        assert loggedError(logged, "lost while closed")

    def test_writerIsWritten(self, reactor, pair):
        """
        A writer is called when its descriptor is writable, and no more once
        removed.
        """
        left, right = pair
        selectable = Selectable(left)
        reactor.addWriter(selectable)
        reactor.addWriter(selectable)
        self.turn(reactor)
        assert selectable.writes == 1
        assert selectable in reactor.getWriters()
        reactor.removeWriter(selectable)
        self.turn(reactor)
        assert selectable.writes == 1
