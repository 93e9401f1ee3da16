"""
What a newcomer meets first on the command line (issue #19, items 4-7):
the help text, C{--list-plugins}, error messages for a bad C{--listen} or
C{--mount}, stopping with signals sent twice, the C{text:} kind's
Content-Type.  In process where the text is built, and with real
C{python -m web2} / C{twistd -n web2} processes where the process matters.
"""

import re
import signal
import socket
import time

import pytest
from _launch_helpers import Server, fetch, pythonWeb2, runToEnd, twistdWeb2
from twisted.internet.testing import MemoryReactorClock

from web2 import tap
from web2.config import ConfigError
from web2.plugins import build_plugin_manager, describe_plugins, formatPluginList

LOCAL = "tcp:0:interface=127.0.0.1"


def _coreOnly():
    return build_plugin_manager(load_entrypoints=False)


def _optionBlocks(helpText):
    """
    The help text cut into one block per option: C{{"--name": text}}.
    """
    blocks, current = {}, None
    for line in helpText.splitlines():
        match = re.match(r"\s+(?:-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(1)
            blocks[current] = line
        elif current:
            blocks[current] += " " + line.strip()
    return blocks


def test_repeatableSaidOnce():
    """
    Each repeatable option says so once in C{--help} (C{--trusted-proxy}
    and C{--vhost}, whose own text says "repeatable", used to get a
    second "(repeatable)").
    """
    blocks = _optionBlocks(str(tap.makeOptionsClass(_coreOnly())()))
    for name in ("--trusted-proxy", "--vhost", "--listen", "--mount"):
        assert blocks[name].lower().count("repeatable") == 1, blocks[name]


def test_listPluginsShowsMountKinds():
    """
    C{--list-plugins} shows what its help promises: the mount kinds each
    plugin provides, besides its hooks.
    """
    text = formatPluginList(describe_plugins(_coreOnly()))
    assert "    mount kinds: class, metrics, plugins, proxy, redirect, text" in text.splitlines()
    result = runToEnd(pythonWeb2("--list-plugins"))
    assert result.returncode == 0, result.output
    assert "    mount kinds: class, metrics, plugins, proxy, redirect, text" in result.stdout.splitlines()
    blocks = _optionBlocks(str(tap.makeOptionsClass(_coreOnly())()))
    assert "mount kinds" in " ".join(blocks["--list-plugins"].split())


@pytest.mark.parametrize("listen, message", [
    ("tcp:notaport", "bad --listen 'tcp:notaport': port must be a number, not 'notaport'"),
    ("tcp:", "bad --listen 'tcp:': a port number is needed, e.g. tcp:8080"),
    ("tcp", "bad --listen 'tcp': a port number is needed, e.g. tcp:8080"),
    ("tcp:80:backlog=x", "bad --listen 'tcp:80:backlog=x': backlog must be a number, not 'x'"),
    ("tcp:80:colour=red", "bad --listen 'tcp:80:colour=red': tcp endpoints have no "
                          "parameter 'colour'"),
    ("nope:1", "bad --listen 'nope:1': unknown endpoint type 'nope' (common ones: tcp, "
               "tcp6, ssl, unix, systemd)"),
    ("ssl:0:privateKey=/nonexistent/k.pem",
     "bad --listen 'ssl:0:privateKey=/nonexistent/k.pem': cannot read "
     "'/nonexistent/k.pem': No such file or directory"),
])
def test_endpointErrorsInWords(listen, message):
    """
    A bad endpoint is described in the operator's words, not Python's
    (no "ValueError: invalid literal for int()").
    """
    options = tap.makeOptionsClass(_coreOnly())()
    options.parseOptions(["--listen", listen])
    with pytest.raises(ConfigError) as e:
        tap.buildService(options, MemoryReactorClock())
    assert str(e.value) == message
    assert "Error" not in str(e.value) and "int()" not in str(e.value)


def test_endpointErrorFromTheSiteFile(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('listen = ["tcp:http"]\n')
    options = tap.makeOptionsClass(_coreOnly())()
    options.parseOptions(["--config", str(site)])
    with pytest.raises(ConfigError) as e:
        tap.buildService(options, MemoryReactorClock())
    assert str(e.value) == (f"bad listen endpoint in {site} 'tcp:http': port must be a "
                            "number, not 'http'")


def test_endpointErrorProcess():
    result = runToEnd(pythonWeb2("--listen", "tcp:notaport", "--mount", "/=text:x"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "web2: error: bad --listen 'tcp:notaport': port must be a number, not 'notaport'")


@pytest.mark.parametrize("argv", [["--mount", "nothing"], ["--no-such-option"]])
def test_twistdCommandLineErrorIsShort(argv, tmp_path):
    """
    C{twistd web2} with a malformed C{--mount} (or an unknown option) says
    what is wrong in two lines, as C{python -m web2} does, instead of
    printing its whole help first.
    """
    result = runToEnd(twistdWeb2(*argv), cwd=tmp_path)
    assert result.returncode == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2, result.output
    assert lines[0].startswith("web2: error: ")
    assert lines[1] == "Try 'twistd web2 --help' for the options."
    mine = runToEnd(pythonWeb2(*argv))
    assert mine.returncode == 2
    assert mine.stderr.splitlines()[0] == lines[0]


def test_twistdHelpStillWhole(tmp_path):
    result = runToEnd(twistdWeb2("--help"), cwd=tmp_path)
    assert result.returncode == 0
    assert "--mount=" in result.stdout and "--listen=" in result.stdout


def _held(server):
    """
    A kept-alive connection that has had one answer, so that the graceful
    stop has a connection to wait for.
    """
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while b"\r\n\r\nok" not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    return sock


def _waitEnd(server, timeout=30):
    server.process.wait(timeout)
    server._reader.join(5)
    return server.output


@pytest.mark.parametrize("launcher", [pythonWeb2, twistdWeb2], ids=["python-m", "twistd"])
def test_sigtermTwice(launcher, tmp_path):
    """
    Two SIGTERMs (what C{make run} passes on when its process group is
    signalled) stop the server gracefully, with one line for the second
    and no critical C{ReactorNotRunning} traceback; the open connection
    is still waited for.
    """
    with Server(launcher("--listen", LOCAL, "--mount", "/=text:ok"), cwd=tmp_path) as server:
        sock = _held(server)
        server.process.send_signal(signal.SIGTERM)
        assert server.waitForOutput("draining 1 connection(s)")
        server.process.send_signal(signal.SIGTERM)
        assert server.waitForOutput("already stopping (SIGTERM)")
        assert server.process.poll() is None  # still waiting for the connection
        sock.close()
        output = _waitEnd(server)
    assert server.process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output and "ReactorNotRunning" not in output
    assert "critical" not in output


@pytest.mark.parametrize("launcher", [pythonWeb2, twistdWeb2], ids=["python-m", "twistd"])
def test_ctrlCTwice(launcher, tmp_path):
    """
    Ctrl-C twice: the first starts the graceful stop, the second closes
    the connections still open at once; no traceback either way.
    """
    with Server(launcher("--listen", LOCAL, "--mount", "/=text:ok",
                         "--shutdown-timeout", "100"), cwd=tmp_path) as server:
        sock = _held(server)
        server.process.send_signal(signal.SIGINT)
        assert server.waitForOutput("draining 1 connection(s)")
        started = time.monotonic()
        server.process.send_signal(signal.SIGINT)
        output = _waitEnd(server, timeout=60)
        assert time.monotonic() - started < 60  # not the 100 s of the timeout
        sock.close()
    assert "closing 1 open connection(s) now" in output
    assert server.process.returncode in (0, -signal.SIGINT), output
    assert "Traceback" not in output and "critical" not in output


@pytest.mark.parametrize("launcher", [pythonWeb2, twistdWeb2], ids=["python-m", "twistd"])
def test_sigtermTwiceIdle(launcher, tmp_path):
    """
    Two SIGTERMs back to back with nothing open: a clean stop.
    """
    with Server(launcher("--listen", LOCAL, "--mount", "/=text:ok"), cwd=tmp_path) as server:
        assert fetch(server.port, "/")[2] == b"ok"
        server.process.send_signal(signal.SIGTERM)
        server.process.send_signal(signal.SIGTERM)
        output = _waitEnd(server)
    assert server.process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output and "critical" not in output


def test_textKindContentType(tmp_path):
    """
    The core's C{text:} kind answers as UTF-8 plain text.
    """
    with Server(twistdWeb2("--listen", LOCAL, "--mount", "/=text:grüße"),
                cwd=tmp_path) as server:
        status, headers, body = fetch(server.port, "/")
        server.stop()
    assert (status, body) == (200, "grüße".encode())
    assert headers["content-type"] == "text/plain; charset=utf-8"


class _FakeReactor(MemoryReactorClock):
    """
    A memory reactor with the reactor's own SIGTERM handler, which counts
    the stops it asks for (the real one calls C{reactor.stop()}, which
    raises C{ReactorNotRunning} the second time).
    """

    def __init__(self):
        super().__init__()
        self.stops = 0
        self.fromThread = []

    def sigTerm(self, number, frame=None):
        self.stops += 1

    def callFromThread(self, f, *args, **kwargs):
        self.fromThread.append((f, args))


def test_signalsBackToBack():
    """
    Deterministically, the race two SIGTERMs sent together make: the
    second arrives before the reactor began stopping.  The guard passes
    the first to the reactor's handler and keeps the second from it (the
    reactor's handler would ask for a second C{stop()}).
    """
    reactor = _FakeReactor()
    options = tap.makeOptionsClass(_coreOnly())()
    options.parseOptions(["--listen", "tcp:0:interface=127.0.0.1", "--mount", "/=text:x"])
    service = tap.buildService(options, reactor)
    before = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, reactor.sigTerm)
    try:
        service._catchRepeatedSignals()
        handler = signal.getsignal(signal.SIGTERM)
        assert handler != reactor.sigTerm
        handler(signal.SIGTERM, None)
        handler(signal.SIGTERM, None)
        # Nothing runs inside the signal handler (the reactor's handler
        # logs): both are queued for the reactor, the first to its handler.
        assert reactor.stops == 0
        assert [f for f, _ in reactor.fromThread] == [reactor.sigTerm, service._signalledAgain]
        for f, args in reactor.fromThread:
            f(*args)
        assert reactor.stops == 1
    finally:
        signal.signal(signal.SIGTERM, before)


def test_foreignHandlersLeftAlone():
    """
    A SIGTERM handler that is not the reactor's (a test runner's, a
    debugger's) is not wrapped.
    """
    reactor = _FakeReactor()
    options = tap.makeOptionsClass(_coreOnly())()
    options.parseOptions(["--mount", "/=text:x"])
    service = tap.buildService(options, reactor)
    before = signal.getsignal(signal.SIGTERM)

    def mine(number, frame):
        pass

    signal.signal(signal.SIGTERM, mine)
    try:
        service._catchRepeatedSignals()
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)
