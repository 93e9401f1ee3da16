"""
C{--workers N} for real: a master process and its workers, with real
signals (SIGKILL of a worker, SIGTERM, SIGHUP) and real clients.
"""

import os
import signal
import socket
import textwrap
import threading
import time

from _launch_helpers import Server, assertNoTraceback, fetch, pythonWeb2

LOCAL = "tcp:0:interface=127.0.0.1"

#: An application that says which process answered, and a slow page that
#: marks its start in a file and answers once the test creates the mark's
#: ".release" file (not after a delay: it must still be in flight when the
#: test's signals come, however slow the machine).
SITE = '''
import os, pathlib
from twisted.internet import defer, reactor
from web2 import http, resource

class Slow(resource.Resource):
    def render(self, request):
        mark = pathlib.Path(os.environ["SLOW_MARK"])
        mark.write_text(str(os.getpid()))
        release = mark.with_name(mark.name + ".release")
        done = defer.Deferred()
        def poll():
            if release.exists():
                done.callback(http.Response(200, {}, "slow done"))
            else:
                reactor.callLater(0.05, poll)
        poll()
        return done

class Root(resource.Resource):
    addSlash = True
    child_slow = Slow()
    def render(self, request):
        return http.Response(200, {}, "pid %d" % os.getpid())
'''


def _site(tmp_path):
    (tmp_path / "pidsite.py").write_text(SITE)
    return ["--python-path", str(tmp_path), "--mount", "/=class:pidsite.Root"]


def _slowMark(tmp_path):
    """
    The environment of a server whose slow page marks its start in
    C{tmp_path}.
    """
    return {"SLOW_MARK": str(tmp_path / "slow-started")}


def _slowRequestInFlight(port, tmp_path):
    """
    Fetch the slow page in a thread, and wait until a worker has started
    answering it; it answers once L{_releaseSlow} is called.

    @return: the client thread, and a dict that holds the fetch's result
        under C{"result"} once the thread is done.
    """
    mark = tmp_path / "slow-started"
    answer = {}
    client = threading.Thread(target=lambda: answer.update(
        result=fetch(port, "/slow", timeout=30)))
    client.start()
    deadline = time.monotonic() + 30
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mark.exists()
    return client, answer


def _releaseSlow(tmp_path):
    (tmp_path / "slow-started.release").touch()


def _readyPids(server):
    """
    The pids of the workers the master said were ready, in order.
    """
    pids = []
    for line in server.output.splitlines():
        if "is ready" in line and "web2 master: worker" in line:
            pids.append(int(line.split("worker ")[1].split()[0]))
    return pids


def _waitReady(server, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _readyPids(server)
        if len(pids) >= count:
            return pids
        if server.process.poll() is not None:
            break
        time.sleep(0.05)
    server._fail(f"{count} worker(s) were not ready")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _waitGone(pid, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid) or _zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_workersServeFromSharedListeners(tmp_path):
    """
    C{--workers 2}: the master listens once ("web2 listening on" is logged
    once), two workers serve, both answer on the shared socket, SIGTERM
    stops them all with status 0.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "2", *_site(tmp_path)),
                cwd=tmp_path) as server:
        port = server.port
        workers = _waitReady(server, 2)
        seen = set()
        for _ in range(200):
            status, _, body = fetch(port, "/")
            assert status == 200
            seen.add(int(body.split()[1]))
            if seen == set(workers):
                break
        assert seen <= set(workers)
        assert len(seen) >= 1
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)
    assert result.output.count("web2 listening on") == 1
    assert "stopping 2 worker(s)" in result.output
    for pid in workers:
        assert not _alive(pid) or _zombie(pid)


def test_killedWorkerIsReplaced(tmp_path):
    """
    SIGKILL one of two workers: the master starts another at once (no
    back-off the first time), and requests made meanwhile all succeed, served
    by the other worker from the shared socket.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "2", *_site(tmp_path)),
                cwd=tmp_path) as server:
        port = server.port
        first, second = _waitReady(server, 2)
        os.kill(first, signal.SIGKILL)
        killedAt = time.monotonic()
        answers = [fetch(port, "/") for _ in range(30)]
        assert {a[0] for a in answers} == {200}
        assert f"pid {first}".encode() not in {a[2] for a in answers}
        pids = _waitReady(server, 3)
        replacedIn = time.monotonic() - killedAt
        assert pids[2] not in (first, second)
        assert f"worker {first} ended (killed by SIGKILL); starting another in 0.0 s" \
            in server.output
        print(f"worker replaced and ready {replacedIn:.2f} s after SIGKILL")
        assert fetch(port, "/")[0] == 200
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)


def test_sigtermDrainsInFlightRequests(tmp_path):
    """
    SIGTERM to the master while a request is in flight in a worker: the
    request completes, then everything stops with status 0.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "2", *_site(tmp_path)),
                cwd=tmp_path, env=_slowMark(tmp_path)) as server:
        port = server.port
        _waitReady(server, 2)
        client, answer = _slowRequestInFlight(port, tmp_path)
        server.terminate()
        # Once more during the stop, as make does (a signal sent before the
        # first is handled would merge with it).
        assert server.waitForOutput("stopping 2 worker(s)")
        server.process.send_signal(signal.SIGTERM)
        assert server.waitForOutput("draining 1 connection(s)"), server.output
        _releaseSlow(tmp_path)
        result = server.stop()
        client.join(30)
    status, headers, body = answer["result"]
    assert (status, body) == (200, b"slow done")
    assert headers.get("connection") == "close"
    assert result.returncode == 0, result.output
    assert "draining 1 connection(s)" in result.output
    assert "already stopping (SIGTERM)" in result.output
    assertNoTraceback(result.output)


def test_workerFailingAtStartupStopsTheMaster(tmp_path):
    """
    A site whose workers cannot start (a mount of a missing class): the
    master says so and ends with status 1 instead of restarting forever.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "2",
                           "--mount", "/=class:no_such_module.Root"),
                cwd=tmp_path) as server:
        server.process.wait(60)
        server.kill()
    output = server.output
    assert server.process.returncode == 1, output
    assert "cannot find class 'no_such_module.Root'" in output
    assert "ended before it was ready" in output and "the master stops" in output
    assertNoTraceback(output)


def test_workersFromTheSiteFile(tmp_path):
    """
    C{workers = 2} in the site file (C{"auto"} is one per CPU; bad values
    are refused at start-up with the file's name).
    """
    (tmp_path / "site.toml").write_text(textwrap.dedent(f"""
        listen = ["{LOCAL}"]
        workers = 2
        [mounts]
        "/" = "text:from the file"
    """))
    with Server(pythonWeb2("--config", "site.toml"), cwd=tmp_path) as server:
        port = server.port
        assert len(_waitReady(server, 2)) == 2
        assert fetch(port, "/")[2] == b"from the file"
        result = server.stop()
    assert result.returncode == 0, result.output
    (tmp_path / "bad.toml").write_text('workers = 0\n[mounts]\n"/" = "text:x"\n')
    with Server(pythonWeb2("--config", "bad.toml"), cwd=tmp_path) as server:
        server.process.wait(60)
        server.kill()
    assert server.process.returncode == 1
    assert "bad.toml: workers: must be a positive number or 'auto', not 0" in server.output


def test_workersServeUnixSockets(tmp_path):
    """
    A unix-socket listener is shared with the workers too, and its file is
    removed when the master stops.
    """
    from _launch_helpers import fetchUnix

    sock = tmp_path / "w.sock"
    with Server(pythonWeb2("--listen", f"unix:{sock}", "--workers", "2",
                           "--mount", "/=text:over unix"), cwd=tmp_path) as server:
        server.waitForListeners(1)
        _waitReady(server, 2)
        assert fetchUnix(str(sock), "/").endswith(b"over unix")
        result = server.stop()
    assert result.returncode == 0, result.output
    assert not sock.exists()


# SIGHUP: reload with no downtime


def _steadyLoad(port, stop, results):
    """
    New connections one after another until C{stop} is set; each outcome
    (status and body, or the exception) is appended to C{results}.
    """
    while not stop.is_set():
        try:
            status, _, body = fetch(port, "/", timeout=30)
            results.append((status, body))
        except Exception as e:  # counted as a failure
            results.append((None, repr(e)))


def test_sighupReloadsWithNoFailedRequest(tmp_path):
    """
    Under a steady stream of new connections, SIGHUP starts new workers with
    the changed site file and drains the old ones: no request fails, and the
    new answer appears; a broken site file then keeps the answer and says
    why.
    """
    site = tmp_path / "site.toml"
    site.write_text(f'listen = ["{LOCAL}"]\n[mounts]\n"/" = "text:first answer"\n')
    with Server(pythonWeb2("--config", str(site), "--workers", "2"),
                cwd=tmp_path) as server:
        port = server.port
        old = _waitReady(server, 2)
        stop, results = threading.Event(), []
        load = threading.Thread(target=_steadyLoad, args=(port, stop, results))
        load.start()
        try:
            while len(results) < 20:
                time.sleep(0.02)
            site.write_text(f'listen = ["{LOCAL}"]\n[mounts]\n"/" = "text:second answer"\n')
            server.process.send_signal(signal.SIGHUP)
            assert server.waitForOutput("reload done", timeout=60), server.output
            new = _waitReady(server, 4)[2:]
            for pid in old:
                assert _waitGone(pid), f"old worker {pid} still runs"
            count = len(results)
            while len(results) < count + 20:
                time.sleep(0.02)
        finally:
            stop.set()
            load.join(60)
        bodies = [body for status, body in results]
        failures = [r for r in results if r[0] != 200]
        assert failures == [], failures[:5]
        assert bodies[0] == b"first answer" and bodies[-1] == b"second answer"
        assert set(bodies) == {b"first answer", b"second answer"}
        print(f"{len(results)} requests across the reload, none failed")

        # A broken site file: the reload is refused, the answer stays.
        site.write_text('listen = ["oops"\n')
        server.process.send_signal(signal.SIGHUP)
        assert server.waitForOutput("reload failed", timeout=60), server.output
        assert "is not valid TOML" in server.output
        assert fetch(port, "/")[2] == b"second answer"
        for pid in new:
            assert _alive(pid) and not _zombie(pid)

        # Valid TOML but an application that cannot start: the new workers
        # fail, the old ones go on.
        site.write_text(f'listen = ["{LOCAL}"]\n[mounts]\n"/" = "class:missing_mod.Root"\n')
        before = server.output.count("reload failed")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while server.output.count("reload failed") == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "reload failed: a new worker" in server.output
        assert "ended before it was ready" in server.output
        assert "cannot find class 'missing_mod.Root'" in server.output
        assert fetch(port, "/")[2] == b"second answer"
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)


def test_workersShareASystemdSocket(tmp_path):
    """
    A socket handed over as systemd does is shared with the workers:
    concurrent clients are all answered.
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    assert listener.getblocking()
    port = listener.getsockname()[1]
    fd = listener.fileno()
    handOver = (
        "import os, sys\n"
        "os.dup2(int(sys.argv[1]), 3)\n"
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1',"
        " LISTEN_FDNAMES='web2')\n"
        "os.execv(sys.argv[2], sys.argv[2:])\n"
    )
    command = [sys.executable, "-c", handOver, str(fd),
               *pythonWeb2("--listen", "systemd:domain=INET:index=0", "--workers", "2",
                           *_site(tmp_path))]
    try:
        with Server(command, cwd=tmp_path, passFds=(fd,)) as server:
            assert server.waitForListeners()[0][1] == port
            _waitReady(server, 2)
            listener.close()
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: fetch(port, "/", timeout=20), range(200)))
            assert {a[0] for a in answers} == {200}
            result = server.stop()
    finally:
        listener.close()
    assert result.returncode == 0, result.output


def test_adoptedSocketMadeNonBlocking():
    """
    A worker makes the socket it adopts non-blocking: workers race for each
    connection, and one that loses must get EAGAIN, not block in accept()
    (a socket given straight to a worker blocked it there for good).
    """
    from twisted.internet.protocol import Factory
    from twisted.internet.testing import MemoryReactor

    from web2.workers import _AdoptedEndpoint

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        assert os.get_blocking(listener.fileno())
        reactor = MemoryReactor()
        endpoint = _AdoptedEndpoint(reactor, os.dup(listener.fileno()), "tcp:0")
        ports = []
        endpoint.listen(Factory()).addCallback(ports.append)
        assert ports and reactor.adoptedPorts[0][1] == socket.AF_INET
        assert not os.get_blocking(listener.fileno())
    finally:
        listener.close()


def test_adoptedPortAcceptsOneConnectionAWakeup():
    """
    A worker's port accepts one connection each time it is readable, so
    that the other workers, woken too, take their share of a burst.
    """
    from twisted.internet import protocol, reactor

    from web2.workers import _AdoptedEndpoint

    class Counting(protocol.Factory):
        def __init__(self):
            self.built = 0

        def buildProtocol(self, addr):
            self.built += 1
            return None  # the port closes the connection: no transport

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    clients = []
    ports = []
    factory = Counting()
    try:
        _AdoptedEndpoint(reactor, os.dup(listener.fileno()), "tcp:0").listen(
            factory).addCallback(ports.append)
        [port] = ports
        clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
        port.doRead()
        assert factory.built == 1
        port.doRead()
        port.doRead()
        assert factory.built == 3
    finally:
        for port in ports:
            reactor.removeReader(port)
            port.socket.close()
        for client in clients:
            client.close()
        listener.close()


def _waitAnswer(port, expected, timeout=60.0):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        body = fetch(port, "/")[2]
        if body == expected:
            return True
        time.sleep(0.1)
    raise AssertionError(f"still {body!r}, not {expected!r}")


def test_reloadOnFileChange(tmp_path):
    """
    C{--reload}: a changed Python file of the site is served after the
    worker is replaced; a file that no longer imports leaves the last good
    version serving (and says why); a changed site file is taken too.
    """
    app = tmp_path / "devapp.py"
    page = ('from web2 import http, resource\n'
            'class Root(resource.Resource):\n'
            '    def render(self, request):\n'
            '        return http.Response(200, {{}}, {answer!r})\n')
    app.write_text(page.format(answer="version 1"))
    site = tmp_path / "site.toml"
    site.write_text(f'listen = ["{LOCAL}"]\npython-path = ["."]\n'
                    '[mounts]\n"/" = "class:devapp.Root"\n"/t" = "text:one"\n')
    with Server(pythonWeb2("--config", str(site), "--reload"), cwd=tmp_path) as server:
        port = server.port
        _waitReady(server, 1)
        assert fetch(port, "/")[2] == b"version 1"
        assert "--reload: watching" in server.output
        app.write_text(page.format(answer="version 2"))
        _waitAnswer(port, b"version 2")
        assert server.waitForOutput("devapp.py changed; reloading"), server.output

        app.write_text("def broken(:\n")
        assert server.waitForOutput("reload failed", timeout=60)
        assert fetch(port, "/")[2] == b"version 2"

        app.write_text(page.format(answer="version 3"))
        _waitAnswer(port, b"version 3")
        site.write_text(site.read_text().replace("text:one", "text:two"))
        deadline = time.monotonic() + 60
        while fetch(port, "/t")[2] != b"two" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fetch(port, "/t")[2] == b"two"
        result = server.stop()
    assert result.returncode == 0, result.output
    assert "SyntaxError" in result.output  # the failed worker's own error


def test_workersUnderTwistd(tmp_path):
    """
    C{twistd -n web2 --workers 2}: the same master, under twistd.
    """
    from _launch_helpers import assertStoppedCleanly, twistdWeb2

    with Server(twistdWeb2("--listen", LOCAL, "--workers", "2", *_site(tmp_path)),
                cwd=tmp_path) as server:
        port = server.port
        workers = _waitReady(server, 2)
        assert int(fetch(port, "/")[2].split()[1]) in workers
        result = server.stop()
    assertStoppedCleanly(result)
    assert "worker(s) stopped" not in result.output
    assert result.output.count("stopped (exit status 0)") == 2


def test_sighupStormIsBounded(tmp_path):
    """
    Twenty SIGHUPs in a row: one reload runs at a time and at most one more
    is queued behind it, so the master never holds more than two
    generations; every request meanwhile succeeds.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "2", *_site(tmp_path)),
                cwd=tmp_path) as server:
        port = server.port
        _waitReady(server, 2)
        for _ in range(20):
            server.process.send_signal(signal.SIGHUP)
            time.sleep(0.01)
        assert [fetch(port, "/")[0] for _ in range(20)] == [200] * 20
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = server.output.count("reload done")
            if done >= 1 and "another follows it" not in server.output.split(
                    "reload done")[-1] and server.output.count("started worker") == 2 + 2 * done:
                break
            time.sleep(0.1)
        starts = server.output.count("started worker")
        done = server.output.count("reload done")
        assert 1 <= done <= 10 and starts == 2 + 2 * done, server.output
        assert fetch(port, "/")[0] == 200
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)
    print(f"20 SIGHUPs: {done} reload(s)")


def test_signalsDuringTheStopDoNotKillTheMaster(tmp_path):
    """
    SIGHUP and SIGUSR1 arriving while the master waits for its workers to
    drain (logrotate's postrotate, a reload script) neither end the master
    early nor start workers: it stops as usual, with status 0.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--workers", "1", *_site(tmp_path)),
                cwd=tmp_path, env=_slowMark(tmp_path)) as server:
        port = server.port
        _waitReady(server, 1)
        client, answer = _slowRequestInFlight(port, tmp_path)
        server.terminate()
        assert server.waitForOutput("stopping 1 worker(s)")
        server.process.send_signal(signal.SIGUSR1)
        server.process.send_signal(signal.SIGHUP)
        _releaseSlow(tmp_path)
        result = server.stop()
        client.join(30)
    assert answer["result"][2] == b"slow done"
    assert result.returncode == 0, result.output
    assert result.output.count("started worker") == 1
