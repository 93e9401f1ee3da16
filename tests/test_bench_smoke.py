"""
Smoke tests of the benchmark harness (bench/): CI runs no load, but checks that
the harness starts each server it can, that the server answers, and that
stopping it leaves no process behind; and that the report arithmetic (ratios,
targets, tables, charts) is right on a made-up results document.
"""

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from bench import _loadgen, _report, _servers  # noqa: E402
from bench._scenarios import BY_NAME  # noqa: E402

PEERS_PYTHON = os.path.join(REPO, "bench", ".venv-peers", "bin", "python")


@pytest.fixture
def ctx():
    tmp = tempfile.mkdtemp(prefix="web2-bench-test-")
    yield _servers.Context(web2Python=sys.executable, peersPython=PEERS_PYTHON,
                           tmp=tmp, serverCPU=None,
                           web2PurePython=sys.executable)  # fmt: skip
    _servers.stopAll()
    shutil.rmtree(tmp, ignore_errors=True)


def _get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def _startCheckStop(ctx, name, role):
    path = b"/1k.bin" if role == "static" else b"/"
    running = _servers.start(ctx, name, role, path.decode())
    pids = running.pids()
    assert running.rss() > 0
    response = _get(running.port, path)
    _servers.stop(running)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    if role == "static":
        assert len(body) == 1024
    else:
        assert body == b"Hello, world!\n"
    assert [p for p in pids if os.path.exists(f"/proc/{p}")] == []
    assert running.process.returncode is not None


def _startCheckSite(ctx, name):
    """
    The C{site} role answers every path its scenarios ask for, the same way
    on every server: the hello at C{/}, a file from C{/static/}, the query
    greeted and remembered in a cookie, a JSON document.
    """
    running = _servers.start(ctx, name, "site", "/")
    try:
        answers = {path: _get(running.port, path).partition(b"\r\n\r\n")
                   for path in (b"/", b"/static/1k.bin", b"/dynamic?name=bench",
                                b"/json", b"/health")}  # fmt: skip
    finally:
        _servers.stop(running)
    for path, (head, _, _body) in answers.items():
        assert head.startswith(b"HTTP/1.1 200"), (path, head)
    assert answers[b"/"][2] == b"Hello, world!\n"
    assert len(answers[b"/static/1k.bin"][2]) == 1024
    head, _, body = answers[b"/dynamic?name=bench"]
    assert body == b"Hello, bench!\n"
    assert b"set-cookie: name=bench" in head.lower()
    assert json.loads(answers[b"/json"][2]) == {"message": "Hello, world!",
                                                 "path": "/json"}
    assert answers[b"/health"][2] == b"ok"


@pytest.mark.slow
@pytest.mark.parametrize("role", ["hello", "static", "wsgi"])
@pytest.mark.parametrize("name", ["web2", "web2-pure", "twisted.web"])
def test_web2AndTwistedWeb(ctx, name, role):
    """
    web2 (through C{python -m web2}, compiled and pure: here both from this
    venv) and the twisted.web peer start in every role, answer, and stop
    completely.
    """
    _startCheckStop(ctx, name, role)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["web2", "web2-pure"])
def test_asgiRole(ctx, name):
    """
    web2 serves the asgi-hello scenario's ASGI application through
    web2-asgi (on the asyncio reactor python -m web2 picks for it).
    """
    pytest.importorskip("web2.asgi")
    _startCheckStop(ctx, name, "asgi")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["web2", "twisted.web"])
def test_siteShape(ctx, name):
    """
    The application shape users write (issue #18) is served alike by web2
    (tutorial-style resources among several mounts) and by twisted.web.
    """
    _startCheckSite(ctx, name)


@pytest.mark.slow
def test_webSocketRole(ctx):
    """
    web2 in the C{ws} role echoes WebSocket messages for the ws-echo
    scenario's client, and holds the ws-idle scenario's idle WebSockets.
    """
    pytest.importorskip("wsproto")
    from bench import _scenarios

    _startCheckStop(ctx, "web2", "ws")
    running = _servers.start(ctx, "web2", "ws", "/")
    try:
        settings = _scenarios.Settings(seconds=1.0, loadCPU=None)
        result = _scenarios._wsEcho(running, 4, settings)
        assert result["trips"] > 0 and result["errors"] == 0, result
        assert result["cpu_us_per_trip"] > 0
        few = dataclasses.replace(_scenarios.BY_NAME["ws-idle-1000"],
                                  params={"count": 20, "client": "bench._wsclients"})
        idle = _scenarios.idleSample(few, running, settings)
        assert idle["opened"] == 20 and idle["errors"] == 0, idle
    finally:
        _servers.stop(running)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nginx", "apache"])
def test_systemServers(ctx, name):
    """
    nginx and Apache run from a generated configuration in a scratch
    directory, on loopback, and stop with their worker processes.
    """
    binary = {"nginx": "nginx", "apache": "apache2"}[name]
    if not shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin"):
        pytest.skip(f"{binary} is not installed (bench/run.py installs it)")
    for role in ("hello", "static"):
        _startCheckStop(ctx, name, role)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["aiohttp", "uvicorn-httptools", "uvicorn-h11", "gunicorn", "waitress",
             "hypercorn", "daphne"]
)
def test_pythonPeers(ctx, name):
    """
    Each Python peer starts from bench/.venv-peers, answers and stops.
    """
    if not os.path.exists(PEERS_PYTHON):
        pytest.skip("bench/.venv-peers is not there (bench/run.py creates it)")
    for role in _servers.SERVERS[name].roles:
        if role == "site":
            _startCheckSite(ctx, name)
        else:
            _startCheckStop(ctx, name, role)


def test_startFailureIsReported(ctx):
    """
    A server that exits at once is reported with its log, not waited for.
    """
    ctx.web2Python = "/bin/false"
    with pytest.raises(RuntimeError, match="did not start"):
        _servers.start(ctx, "twisted.web", "hello", timeout=20)
    ctx.web2Python = sys.executable + "-does-not-exist"
    with pytest.raises(RuntimeError, match="did not start"):
        _servers.start(ctx, "twisted.web", "hello", timeout=20)
    assert _servers._LIVE == []


@pytest.mark.slow
def test_runSmokeCommand():
    """
    C{bench/run.py --smoke} starts and stops the servers asked for and ends
    with a passed/failed count, exiting 0 when all passed.
    """
    env = dict(os.environ, WEB2_PYTHON=sys.executable)
    done = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "run.py"), "--smoke",
         "--no-install", "--servers", "twisted.web"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "4 passed, 0 failed", done
    assert done.returncode == 0


def _doc():
    scenario = {
        "name": "keepalive", "title": "Keep-alive", "metric": "rps",
        "unit": "req/s", "better": "higher", "extra": ["p99_ms"],
        "targets": [["web2", "twisted.web", 1.5], ["web2", "nginx", 0.5]],
        "servers": {
            "web2": {"role": "hello", "error": "", "samples": [
                {"rps": 300.0, "p99_ms": 1.0}, {"rps": 100.0, "p99_ms": 3.0},
                {"rps": 200.0, "p99_ms": 2.0, "errors": 2}]},
            "twisted.web": {"role": "hello", "error": "", "samples": [
                {"rps": 100.0}, {"rps": 150.0}, {"rps": 50.0}]},
            "nginx": {"role": "hello", "error": "start: boom", "samples": []},
        },
    }  # fmt: skip
    memory = {
        "name": "idle", "title": "Idle", "metric": "bytes_per_conn",
        "unit": "bytes/conn", "better": "lower", "targets": [["web2", "twisted.web", 1.0]],
        "servers": {
            "web2": {"role": "hello", "samples": [{"bytes_per_conn": 3000.0}]},
            "twisted.web": {"role": "hello", "samples": [{"bytes_per_conn": 2000.0}]},
        },
    }  # fmt: skip
    return {"started": "now", "mode": "full", "versions": {"wrk": "4"},
            "config": {"rounds": 3, "seconds": 5, "serverCPU": "0", "loadCPU": "1"},
            "scenarios": [scenario, memory]}  # fmt: skip


def test_summarizeMediansAndRatios():
    """
    Each server gets the median, min and max of its samples and its ratio to
    twisted.web; a server that failed keeps its error and has no numbers.
    """
    rows = {r["server"]: r for r in _report.summarize(_doc()["scenarios"][0])}
    assert (rows["web2"]["median"], rows["web2"]["min"], rows["web2"]["max"]) == (
        200.0, 100.0, 300.0)  # fmt: skip
    assert rows["web2"]["ratio"] == 2.0
    assert rows["web2"]["errors"] == 2
    assert rows["web2"]["extra"] == {"p99_ms": 2.0}
    assert rows["twisted.web"]["ratio"] == 1.0
    assert "median" not in rows["nginx"] and rows["nginx"]["ratio"] is None
    assert rows["nginx"]["note"] == "start: boom"


def test_lowerIsBetterRatioIsInverted():
    """
    For a lower-is-better metric the ratio is reference/value, so that above
    1 still means better than the reference.
    """
    rows = {r["server"]: r for r in _report.summarize(_doc()["scenarios"][1])}
    assert rows["web2"]["ratio"] == pytest.approx(2 / 3)
    (target,) = _report.targets(_doc()["scenarios"][1])
    assert target["met"] is False


def test_targets():
    """
    A target is met, missed, or not measured when a side has no numbers.
    """
    met, unmeasured = _report.targets(_doc()["scenarios"][0])
    assert (met["got"], met["met"]) == (2.0, True)
    assert (unmeasured["got"], unmeasured["met"]) == (None, None)


def test_cpuTargets():
    """
    A target on the CPU per request compares the extra figure, lower being
    better: web2 spending 25 us where twisted.web spends 50 us is 0.5 times
    as much, which meets "at most 0.6 times" and misses "at most a third".
    """
    scenario = {
        "name": "site-keepalive", "metric": "rps", "better": "higher",
        "extra": ["cpu_us_per_req"],
        "targets": [["web2", "twisted.web", 0.6, "cpu_us_per_req"],
                    ["web2", "twisted.web", 0.33, "cpu_us_per_req"],
                    ["web2", "uvicorn", 1.0, "cpu_us_per_req"]],
        "servers": {
            "web2": {"role": "site", "samples": [
                {"rps": 2.0, "cpu_us_per_req": 24.0}, {"rps": 2.0, "cpu_us_per_req": 26.0}]},
            "twisted.web": {"role": "site", "samples": [
                {"rps": 1.0, "cpu_us_per_req": 50.0}]},
            "uvicorn": {"role": "site", "samples": [{"rps": 1.0}]},
        },
    }  # fmt: skip
    met, missed, unmeasured = _report.targets(scenario)
    assert (met["got"], met["met"]) == (0.5, True)
    assert (missed["got"], missed["met"]) == (0.5, False)
    assert (unmeasured["got"], unmeasured["met"]) == (None, None)
    doc = {"started": "now", "mode": "full", "versions": {},
           "config": {"rounds": 1, "seconds": 1, "serverCPU": "0", "loadCPU": "1"},
           "scenarios": [dict(scenario, title="Site", unit="req/s")]}  # fmt: skip
    assert ("| site-keepalive | web2 / twisted.web cpu_us_per_req | <= 0.6 | 0.50 | met |"
            in _report.markdown(doc))


def test_renderings():
    """
    The markdown page, the reStructuredText tables and the SVG chart carry
    the numbers, the failures and the ratios.
    """
    doc = _doc()
    md = _report.markdown(doc)
    assert "| web2 | 200 | 100-300 | 2.00 | 2 | 3 | 2 |" in md
    assert "failed" in md and "start: boom" in md
    assert "| keepalive | web2 / twisted.web | >= 1.5 | 2.00 | met |" in md
    text = _report.rst(doc, chartDir="charts")
    assert ".. image:: charts/keepalive.svg" in text
    assert "     - 2.00" in text
    chart = _report.svg(doc["scenarios"][0])
    assert chart.startswith("<svg") and "x2.00" in chart and "nginx" not in chart
    assert "keepalive: web2/twisted.web = 2.00 (target 1.5)" in _report.ratioLine(doc)


def test_percentile():
    """
    Nearest-rank percentiles.
    """
    data = list(range(1, 101))
    assert _loadgen.percentile(data, 50) == 50
    assert _loadgen.percentile(data, 99) == 99
    assert _loadgen.percentile([7], 99) == 7
    assert _loadgen.percentile([], 50) == 0.0


def test_scenarioRoles():
    """
    Servers play the role a scenario asks for, falling back along its list
    (the upload runs the WSGI-only servers through their WSGI app), and a
    server with no suitable role is left out.
    """
    upload = BY_NAME["upload-100m"]
    assert upload.roleFor("web2") == "hello"
    assert upload.roleFor("gunicorn") == "wsgi"
    assert BY_NAME["keepalive"].roleFor("gunicorn") is None
    assert BY_NAME["static-1k"].readyPath == "/1k.bin"


def test_cpuSecondsOfTheProcessTree():
    """
    The CPU time a server's process tree used is read from /proc: a child
    that burned 0.3 s of CPU shows at least that (CPU time, not wall time,
    so a loaded machine does not change the answer).
    """
    script = ("import time, sys\n"
              "while time.process_time() < 0.3: pass\n"
              "print('burned', flush=True)\n"
              "sys.stdin.read()\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "burned"
        running = _servers.Running("busy", "hello", 0, process, "")
        assert 0.29 <= running.cpuSeconds() < 5
    finally:
        process.stdin.close()
        process.wait(10)


def test_baseRevisionJoinsTheRun():
    """
    C{--base REV} adds the web2-base server beside web2; without it, it is
    never run (it has no interpreter).
    """
    from bench import run

    _, _, names, _ = run._choose(run._parse(["--quick", "--base", "HEAD"]))
    assert names[names.index("web2") + 1] == "web2-base"
    _, _, names, _ = run._choose(run._parse(["--quick", "--servers", "web2,web2-base"]))
    assert "web2-base" not in names
    assert "cpu_us_per_req" in BY_NAME["keepalive"].extra


def test_harnessNeedsOnlyTheStandardLibrary():
    """
    The harness runs under the system's Python, where web2 is not installed:
    it imports, and builds the command of every server in every role, with
    no site-packages at all (C{python -S}).
    """
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from bench import _servers, _scenarios, _report, _loadgen\n"
        "import bench.run\n"
        "ctx = _servers.Context(web2Python='py', peersPython='py', tmp=sys.argv[2])\n"
        "for spec in _servers.SERVERS.values():\n"
        "    for role, command in spec.roles.items():\n"
        "        assert command(ctx, 8080, role), (spec.name, role)\n"
        "print('ok')\n"
    )
    tmp = tempfile.mkdtemp(prefix="web2-bench-test-")
    try:
        result = subprocess.run([sys.executable, "-S", "-c", code, REPO, tmp],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
