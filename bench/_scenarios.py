"""
The scenarios: what each measures, against which servers, and how one sample
of one server is taken.

Every scenario's servers are measured interleaved, round by round (the order
rotating each round), so that drift of the machine over time lands on all of
them alike; the report gives medians with min-max.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from bench import _loadgen, _servers

HELLO_SERVERS = (
    "web2", "twisted.web", "aiohttp", "uvicorn-httptools", "uvicorn-h11",
    "nginx", "apache",
)  # fmt: skip
STATIC_SERVERS = ("web2", "twisted.web", "nginx", "apache")
WSGI_SERVERS = ("web2", "twisted.web", "gunicorn", "waitress")
UPLOAD_SERVERS = (
    "web2", "twisted.web", "aiohttp", "uvicorn-httptools", "uvicorn-h11",
    "gunicorn", "waitress", "nginx",
)  # fmt: skip
QUICK_SERVERS = ("web2", "web2-pure", "twisted.web")
# --workers (issue #17): two workers against one, both on two CPUs.
WORKERS_SERVERS = ("web2-2w", "web2-1w")
# ASGI hello (the asgi role: web2-asgi, and the ASGI servers users pick).
ASGI_SERVERS = ("web2", "web2-pure", "uvicorn-httptools", "hypercorn", "daphne")
# WebSocket echo and idle WebSockets (the ws role; twisted.web has none).
WS_SERVERS = ("web2", "web2-pure", "aiohttp", "uvicorn-httptools", "uvicorn-h11")
# The site shape (issue #18): every server that has the role (bench/_servers.py).
SITE_SERVERS = (
    "web2", "web2-pure", "twisted.web", "aiohttp", "uvicorn-httptools", "uvicorn-h11",
)  # fmt: skip
# CPU per request: web2's at most 0.6 times twisted.web's and at most uvicorn's.
_SITE_CPU = (("web2", "twisted.web", 0.6, "cpu_us_per_req"),
             ("web2", "uvicorn-httptools", 1.0, "cpu_us_per_req"))


def _andPure(servers):
    """
    C{servers} with C{web2-pure} after C{web2}: the throughput scenarios show
    what compiling the request path buys (the others measure things Python
    speed does not change: memory, sendfile, latency at a fixed rate).
    """
    return (servers[0], "web2-pure", *servers[1:])
UPLOAD_SIZE = 100 * 1024 * 1024


@dataclass
class Scenario:
    """
    One scenario.

    @ivar kind: C{"wrk"}, C{"latency"}, C{"upload"} or C{"idle"}.
    @ivar roles: the roles to run a server in, first one it supports wins.
    @ivar metric: the key of a sample the tables rank by.
    @ivar better: C{"higher"} or C{"lower"}.
    @ivar params: the kind's parameters (connections, path, depth...).
    @ivar targets: C{(server, reference, ratio)}: C{server} must do at least
        C{ratio} times as well as C{reference}.
    @ivar extra: further sample keys shown in the tables.
    """

    name: str
    title: str
    kind: str
    roles: tuple
    servers: tuple
    metric: str
    unit: str
    better: str = "higher"
    params: dict = field(default_factory=dict)
    targets: tuple = ()
    extra: tuple = ()
    quick: bool = False

    def roleFor(self, server):
        supported = _servers.SERVERS[server].roles
        for role in self.roles:
            if role in supported:
                return role
        return None

    @property
    def readyPath(self):
        return "/1k.bin" if self.roles[0] == "static" else "/"


SCENARIOS = [
    Scenario("keepalive", "Hello world, keep-alive (wrk -c64)", "wrk", ("hello",),
             _andPure(HELLO_SERVERS), "rps", "req/s", params={"connections": 64},
             targets=(("web2", "twisted.web", 1.5),), extra=("p99_ms",), quick=True),
    Scenario("pipelined", "Hello world, pipelined depth 16 (wrk -c64)", "wrk",
             ("hello",), _andPure(HELLO_SERVERS), "rps", "req/s",
             params={"connections": 64, "depth": 16},
             targets=(("web2", "twisted.web", 2.0),), quick=True),
    Scenario("close", "Hello world, Connection: close (wrk -c64)", "wrk", ("hello",),
             _andPure(HELLO_SERVERS), "rps", "req/s",
             params={"connections": 64, "close": True},
             targets=(("web2", "twisted.web", 1.2),), quick=True),
    Scenario("static-1k", "Static file, 1 KiB (wrk -c64)", "wrk", ("static",),
             _andPure(STATIC_SERVERS), "rps", "req/s",
             params={"connections": 64, "path": "/1k.bin"},
             targets=(("web2", "twisted.web", 2.0),), extra=("mbps",), quick=True),
    Scenario("static-100k", "Static file, 100 KiB (wrk -c64)", "wrk", ("static",),
             STATIC_SERVERS, "rps", "req/s",
             params={"connections": 64, "path": "/100k.bin"},
             targets=(("web2", "nginx", 0.5),), extra=("mbps",)),
    Scenario("static-10m", "Static file, 10 MiB (wrk -c16)", "wrk", ("static",),
             STATIC_SERVERS, "mbps", "MB/s", params={"connections": 16, "path": "/10m.bin"},
             targets=(("web2", "nginx", 0.9),), extra=("rps",)),
    Scenario("download-1g", "Peak memory during 64 concurrent downloads of a 1 GiB file",
             "download", ("static",), STATIC_SERVERS, "peak_rss_mb", "MB peak RSS",
             better="lower", params={"connections": 64, "path": "/1g.bin"},
             targets=(("web2", None, 100),), extra=("mbps",)),
    Scenario("wsgi", "WSGI hello world (wrk -c64)", "wrk", ("wsgi",), _andPure(WSGI_SERVERS),
             "rps", "req/s", params={"connections": 64},
             targets=(("web2", "twisted.web", 2.0), ("web2", "gunicorn", 2.0)),
             extra=("p99_ms",), quick=True),
    # web2-asgi (issue #16): the same ASGI application under every server.
    Scenario("asgi-hello", "ASGI hello world, keep-alive (wrk -c64)", "wrk", ("asgi",),
             ASGI_SERVERS, "rps", "req/s", params={"connections": 64},
             targets=(("web2", "daphne", 2.0), ("web2", "uvicorn-httptools", 0.8)),
             extra=("p99_ms",)),
    # The application shape users write (bench/apps/web2_site.py): the targets
    # of issue #18 apply to these rows; the tuned hello above stays beside.
    Scenario("site-keepalive", "Site shape: tutorial hello among mounts, keep-alive "
             "(wrk -c64)", "wrk", ("site",), SITE_SERVERS, "rps", "req/s",
             params={"connections": 64},
             targets=(("web2", "twisted.web", 1.5), ("web2", "uvicorn-httptools", 1.0),
                      *_SITE_CPU),
             extra=("p99_ms",), quick=True),
    Scenario("site-pipelined", "Site shape: tutorial hello, pipelined depth 16 (wrk -c64)",
             "wrk", ("site",), SITE_SERVERS, "rps", "req/s",
             params={"connections": 64, "depth": 16},
             targets=(("web2", "twisted.web", 2.0),)),
    Scenario("site-close", "Site shape: tutorial hello, Connection: close (wrk -c64)",
             "wrk", ("site",), SITE_SERVERS, "rps", "req/s",
             params={"connections": 64, "close": True},
             targets=(("web2", "twisted.web", 1.2),), quick=True),
    Scenario("site-static-1k", "Site shape: 1 KiB file from /static/ (wrk -c64)", "wrk",
             ("site",), SITE_SERVERS, "rps", "req/s",
             params={"connections": 64, "path": "/static/1k.bin"},
             targets=(("web2", "twisted.web", 2.0),), extra=("mbps",)),
    Scenario("site-dynamic", "Site shape: query argument and Set-Cookie (wrk -c64)", "wrk",
             ("site",), SITE_SERVERS, "rps", "req/s",
             params={"connections": 64, "path": "/dynamic?name=bench"}),
    Scenario("site-json", "Site shape: a JSON answer (wrk -c64)", "wrk", ("site",),
             SITE_SERVERS, "rps", "req/s", params={"connections": 64, "path": "/json"}),
    # --workers (issue #17): web2-2w and web2-1w are pinned to CPUs 0 and 1,
    # the load generator (CPU 1) competes with them; web2 (one process, no
    # master, CPU 0) shows what the master costs.
    Scenario("workers-cpu1ms", "--workers 2 vs 1, an application spending 1 ms of CPU "
             "per request (wrk -c16)", "wrk", ("cpu",), (*WORKERS_SERVERS, "web2"),
             "rps", "req/s", params={"connections": 16},
             targets=(("web2-2w", "web2-1w", 1.6),), extra=("p99_ms",)),
    Scenario("workers-hello", "--workers 2 vs 1, hello world, keep-alive (wrk -c64)",
             "wrk", ("hello",), (*WORKERS_SERVERS, "web2"), "rps", "req/s",
             params={"connections": 64}, extra=("p99_ms",)),
    Scenario("latency", "Latency at a fixed 1,000 req/s (h2load --h1 -c10)", "latency",
             ("hello",), HELLO_SERVERS, "p99_ms", "ms p99", better="lower",
             params={"rate": 1000, "clients": 10}, extra=("p50_ms", "p90_ms")),
    Scenario("upload-100m", "Upload of 100 MiB (one POST, Content-Length)", "upload",
             ("hello", "wsgi"), UPLOAD_SERVERS, "seconds", "s", better="lower",
             extra=("peak_rss_mb",)),
    Scenario("idle-1000", "Memory per idle keep-alive connection, 1,000 connections",
             "idle", ("hello",), HELLO_SERVERS, "bytes_per_conn", "bytes/conn",
             better="lower", params={"count": 1000},
             targets=(("web2", "twisted.web", 1.0),), extra=("opened",)),
    Scenario("idle-5000", "Memory per idle keep-alive connection, 5,000 connections",
             "idle", ("hello",), HELLO_SERVERS, "bytes_per_conn", "bytes/conn",
             better="lower", params={"count": 5000},
             targets=(("web2", "twisted.web", 1.0),), extra=("opened",)),
    Scenario("ws-echo", "WebSocket echo round trips, 64 connections, one 16-byte message "
             "in flight on each", "wsecho", ("ws",), WS_SERVERS, "rtps", "round trips/s",
             params={"connections": 64}, extra=("cpu_us_per_trip",)),
    Scenario("ws-idle-1000", "Memory per idle WebSocket, 1,000 connections", "idle",
             ("ws",), WS_SERVERS, "bytes_per_conn", "bytes/conn", better="lower",
             params={"count": 1000, "client": "bench._wsclients"}, extra=("opened",)),
]  # fmt: skip
# Every load-generator scenario also reports the server's CPU per request.
for _scenario in SCENARIOS:
    if _scenario.kind == "wrk":
        _scenario.extra = (*_scenario.extra, "cpu_us_per_req")
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Settings:
    """
    How long and how often: seconds per wrk sample, rounds, load CPU.
    """

    seconds: float = 5.0
    latencySeconds: float = 10.0
    rounds: int = 3
    memoryRounds: int = 2
    warmup: float = 1.0
    loadCPU: str | None = "1"


def sample(scenario, running, settings, ctx):
    """
    Take one sample of C{scenario} against a running server.

    @return: a C{dict} of measurements (the scenario's metric among them).
    """
    p = scenario.params
    if scenario.kind == "wrk":
        cpuBefore = running.cpuSeconds()
        result = _loadgen.wrk(
            running.url(), p.get("path", "/"), p["connections"], settings.seconds,
            depth=p.get("depth", 1), close=p.get("close", False),
            cpu=settings.loadCPU, tmp=ctx.tmp,
        )  # fmt: skip
        cpu = running.cpuSeconds() - cpuBefore
        result["cpu_us_per_req"] = cpu / max(result["requests"], 1) * 1e6
        result.pop("raw", None)
        return result
    if scenario.kind == "latency":
        return _loadgen.h2loadRate(
            running.url("/"), p["rate"], p["clients"], settings.latencySeconds,
            cpu=settings.loadCPU, tmp=ctx.tmp,
        )  # fmt: skip
    if scenario.kind == "upload":
        return _upload(running, settings)
    if scenario.kind == "download":
        return _download(running, p["connections"], p["path"], settings)
    if scenario.kind == "wsecho":
        return _wsEcho(running, p["connections"], settings)
    raise ValueError(scenario.kind)


def warm(scenario, running, settings, ctx):
    """
    Exercise a fresh server briefly so that its first sample is not its
    first request (imports, caches, JIT-less warm paths, page faults).
    """
    if settings.warmup <= 0:
        return
    _loadgen.wrk(
        running.url(), scenario.params.get("path", "/") if scenario.kind == "wrk"
        else scenario.readyPath,
        8, settings.warmup, cpu=settings.loadCPU, tmp=ctx.tmp,
    )  # fmt: skip


def _client(settings, *args, module="bench._clients"):
    argv = [sys.executable, "-m", module, *map(str, args)]
    if settings.loadCPU is not None:
        argv = ["taskset", "-c", settings.loadCPU, *argv]
    env = dict(os.environ, PYTHONPATH=_servers.REPO)
    return argv, env


def _upload(running, settings):
    running.resetPeak()
    argv, env = _client(settings, "upload", running.port, UPLOAD_SIZE)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
    if done.returncode:
        raise RuntimeError(done.stderr[-800:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = running.peakRSS() / 1e6
    result["errors"] = 0 if result["status"] == "200" else 1
    return result


def _download(running, connections, path, settings):
    """
    The server's peak memory (its whole process tree) while it serves
    C{connections} downloads of a large file at once, read as fast as the
    client can for one sample's time.
    """
    running.resetPeak()
    argv, env = _client(settings, "download", running.port, connections,
                        settings.seconds, path)  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env,
                          timeout=settings.seconds + 60)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-800:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = running.peakRSS() / 1e6
    return result


def _wsEcho(running, connections, settings):
    """
    WebSocket round trips per second (L{bench._wsclients}), with the
    server's CPU per round trip.
    """
    cpuBefore = running.cpuSeconds()
    argv, env = _client(settings, "echo", running.port, connections, settings.seconds,
                        module="bench._wsclients")
    done = subprocess.run(argv, capture_output=True, text=True, env=env,
                          timeout=settings.seconds + 120)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-800:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = running.cpuSeconds() - cpuBefore
    result["cpu_us_per_trip"] = cpu / max(result["trips"], 1) * 1e6
    return result


def idleSample(scenario, running, settings):
    """
    Memory of C{count} idle keep-alive connections that each made one
    request: the server's RSS growth divided by the connections held.
    """
    time.sleep(0.5)
    before = running.rss()
    argv, env = _client(settings, "idle", running.port, scenario.params["count"],
                        module=scenario.params.get("client", "bench._clients"))
    client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        line = _readline(client, 120)
        if not line.startswith("READY"):
            raise RuntimeError(f"idle client: {line!r} {client.stderr.read()[-500:]}")
        opened = int(line.split()[1])
        time.sleep(1.0)
        after = running.rss()
        alive = running.process.poll() is None
    finally:
        try:
            client.stdin.write("done\n")
            client.stdin.flush()
        except OSError:
            pass
        try:
            client.wait(30)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()
    count = scenario.params["count"]
    return {
        "bytes_per_conn": (after - before) / max(opened, 1),
        "rss_before_mb": before / 1e6,
        "rss_after_mb": after / 1e6,
        "opened": opened,
        "errors": (count - opened) + (0 if alive else 1),
    }


def _readline(process, timeout):
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError("idle client did not get ready in time")
    return process.stdout.readline().strip()
