"""
The servers under test: how to start each one, in each role, as its users run
it, on 127.0.0.1, one server process each (nginx and Apache with one worker
process), pinned to one CPU, with no access log.

A role is what the server serves: C{hello} (C{GET /} answers C{Hello, world!},
C{POST /} drains the body), C{static} (a directory holding C{1k.bin},
C{100k.bin} and C{10m.bin}), C{wsgi} (L{bench.apps.wsgi_hello.app}) or
C{site}: the application shape users write (issue #18), a hello at C{/}
written as the tutorial teaches beside static files at C{/static/}, the WSGI
app at C{/wsgi}, a dynamic page reading the query and setting a cookie at
C{/dynamic} and a JSON answer at C{/json}, all in one site
(L{bench.apps.web2_site}; each peer's own idiom for the same tree), or
C{ws}: the hello at C{/} and a WebSocket echo at C{/ws}
(L{bench.apps.web2_ws}, L{bench.apps.asgi_ws}, aiohttp's own).
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
HELLO = b"Hello, world!\n"
STATIC_FILES = {"1k.bin": 1024, "100k.bin": 100 * 1024, "10m.bin": 10 * 1024 * 1024,
                "1g.bin": 1 << 30}
# Files this large are made sparse (all zeros, no disk used).
_SPARSE_FROM = 64 * 1024 * 1024
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Context:
    """
    What every server command needs: interpreters, scratch space, pinning.

    @ivar web2Python: the interpreter web2 (and so the twisted.web peer, for
        the same Twisted) runs under.
    @ivar web2PurePython: the interpreter of the C{web2-pure} server: web2
        installed editable, so with no compiled module.
    @ivar web2BasePython: the interpreter of the C{web2-base} server: web2
        at another commit (C{--base REV}), compiled as C{web2} is.
    @ivar peersPython: the interpreter of C{bench/.venv-peers}.
    @ivar web2Via: C{"python-m"} (C{python -m web2}) or C{"twistd"}
        (C{twistd -n web2}).
    @ivar serverCPU: the CPU list given to C{taskset -c}, or C{None}.
    """

    web2Python: str
    peersPython: str
    tmp: str
    web2PurePython: str = "missing"
    web2BasePython: str = "missing"
    web2Via: str = "python-m"
    serverCPU: str | None = "0"

    @property
    def staticDir(self):
        path = os.path.join(self.tmp, "static")
        if not os.path.isdir(path):
            os.makedirs(path)
            for name, size in STATIC_FILES.items():
                with open(os.path.join(path, name), "wb") as f:
                    if size >= _SPARSE_FROM:
                        f.truncate(size)
                    else:
                        f.write(os.urandom(size))
            with open(os.path.join(path, "hello.txt"), "wb") as f:
                f.write(HELLO)
            os.chmod(self.tmp, 0o755)
        return path


def _web2Pure(ctx, port, role):
    return _web2(replace(ctx, web2Python=ctx.web2PurePython), port, role)


def _web2Base(ctx, port, role):
    return _web2(replace(ctx, web2Python=ctx.web2BasePython), port, role)


def _web2Workers(count):
    """
    web2 with C{--workers count}: a master and its workers (the C{workers-*}
    scenarios run them on two CPUs).
    """
    def command(ctx, port, role):
        return [*_web2(ctx, port, role), "--workers", str(count)]

    return command


def siteMounts(staticDir):
    """
    The C{--mount} arguments of web2's C{site} role (L{bench.apps.web2_site}),
    in the order a site file would list them.  (Here, not beside the
    resources: the harness runs without web2 installed.)
    """
    return [
        "/=class:bench.apps.web2_site.Hello",
        "/static=static:" + staticDir,
        "/wsgi=wsgi:bench.apps.wsgi_hello:app",
        "/dynamic=class:bench.apps.web2_site.Dynamic",
        "/json=class:bench.apps.web2_site.Json",
        "/health=text:ok",
    ]


def _web2(ctx, port, role):
    if role == "site":
        mounts = siteMounts(ctx.staticDir)
    else:
        mounts = [{
            "hello": "/=class:bench.apps.web2_hello.Hello",
            "static": "/=static:" + ctx.staticDir,
            "wsgi": "/=wsgi:bench.apps.wsgi_hello:app",
            "asgi": "/=asgi:bench.apps.asgi_hello:app",
            "ws": "/=class:bench.apps.web2_ws.Root",
            "cpu": "/=class:bench.apps.web2_cpu.Burn",
        }[role]]  # fmt: skip
    # No access log, like every other server here (python -m web2 logs to
    # stdout by default and has no switch to turn it off: /dev/null is the
    # closest), and no body cap, for the 100 MiB upload.
    options = ["--listen", f"tcp:{port}:interface=127.0.0.1",
               *[arg for mount in mounts for arg in ("--mount", mount)],
               "--access-log", "off", "--max-body-size", "none"]
    if ctx.web2Via == "twistd":
        twistd = os.path.join(os.path.dirname(ctx.web2Python), "twistd")
        # The reactor python -m web2 picks by default: for ASGI, the lean
        # asyncio reactor, on uvloop (bench/.venv-web2 has web2-asgi[uvloop]).
        reactor = "web2-uvloop" if role == "asgi" else "web2"
        return [twistd, "-n", "--pidfile=", f"--reactor={reactor}", "web2", *options]
    return [ctx.web2Python, "-m", "web2", *options]


def _twistedWeb(ctx, port, role):
    argv = [ctx.web2Python, os.path.join(BENCH, "apps", "twisted_web.py"), str(port)]
    return argv + ([role, ctx.staticDir] if role in ("static", "site") else [role])


def _aiohttp(ctx, port, role):
    argv = [ctx.peersPython, os.path.join(BENCH, "apps", "aiohttp_hello.py"), str(port)]
    return argv + (["site", ctx.staticDir] if role == "site" else ["ws"] if role == "ws" else [])


def _uvicorn(http, loop):
    def command(ctx, port, role):
        app = {"site": "bench.apps.asgi_site:app",
               "ws": "bench.apps.asgi_ws:app"}.get(role, "bench.apps.asgi_hello:app")
        env = {"BENCH_STATIC_DIR": ctx.staticDir} if role == "site" else {}
        return [
            "env", *[f"{k}={v}" for k, v in env.items()],
            ctx.peersPython, "-m", "uvicorn", app,
            "--host", "127.0.0.1", "--port", str(port), "--http", http,
            "--loop", loop, "--no-access-log", "--log-level", "warning",
            "--lifespan", "off", "--timeout-keep-alive", "120",
            "--backlog", "2048",
        ]  # fmt: skip

    return command


def _hypercorn(ctx, port, role):
    return [
        ctx.peersPython, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}",
        "--workers", "0", "--log-level", "warning", "--backlog", "2048",
        "--keep-alive", "120", "bench.apps.asgi_hello:app",
    ]  # fmt: skip


def _daphne(ctx, port, role):
    # -v 0: no access log (daphne writes one to stdout at its default -v 1).
    return [
        ctx.peersPython, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
        "-v", "0", "bench.apps.asgi_hello:app",
    ]  # fmt: skip


def _gunicorn(ctx, port, role):
    return [
        ctx.peersPython, "-m", "gunicorn", "--workers", "1",
        "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
        "--backlog", "2048", "--log-level", "warning",
        "bench.apps.wsgi_hello:app",
    ]  # fmt: skip


def _waitress(ctx, port, role):
    return [
        ctx.peersPython, "-m", "waitress", f"--listen=127.0.0.1:{port}",
        "--backlog=2048", "--connection-limit=10000", "--channel-timeout=120",
        "bench.apps.wsgi_hello:app",
    ]  # fmt: skip


_NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 12000; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    client_max_body_size 0;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ application/octet-stream bin; text/plain txt; }}
    server {{
        listen 127.0.0.1:{port} backlog=2048;
        {location}
    }}
}}
"""


def _nginx(ctx, port, role):
    tmp = _scratch(ctx, f"nginx-{port}")
    if role == "static":
        location = f"root {ctx.staticDir};"
    else:
        location = 'location = / { default_type text/plain; return 200 "Hello, world!\\n"; }'
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(_NGINX_CONF.format(tmp=tmp, port=port, location=location))
    return ["nginx", "-p", tmp, "-e", os.path.join(tmp, "error.log"),
            "-c", os.path.join(tmp, "nginx.conf")]  # fmt: skip


_APACHE_MODULES = ["mpm_event", "authz_core", "mime", "alias"]
_APACHE_CONF = """\
ServerRoot {tmp}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {tmp}/apache2.pid
ErrorLog {tmp}/error.log
LogLevel warn
Mutex file:{tmp} default
User www-data
Group www-data
{modules}
StartServers 1
ServerLimit 1
MinSpareThreads 1
MaxSpareThreads 256
ThreadsPerChild 128
ThreadLimit 128
MaxRequestWorkers 128
AsyncRequestWorkerFactor 100
MaxConnectionsPerChild 0
ListenBacklog 2048
KeepAlive On
KeepAliveTimeout 120
MaxKeepAliveRequests 0
EnableSendfile On
TypesConfig /dev/null
AddType application/octet-stream .bin
AddType text/plain .txt
DocumentRoot {root}
<Directory {root}>
    Require all granted
</Directory>
{alias}
"""


def _apache(ctx, port, role):
    tmp = _scratch(ctx, f"apache-{port}")
    modules = "\n".join(
        f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so"
        for m in _APACHE_MODULES
    )
    root = ctx.staticDir
    alias = "" if role == "static" else f"AliasMatch ^/$ {root}/hello.txt"
    with open(os.path.join(tmp, "apache2.conf"), "w") as f:
        f.write(_APACHE_CONF.format(tmp=tmp, port=port, modules=modules,
                                    root=root, alias=alias))  # fmt: skip
    return ["apache2", "-d", tmp, "-f", os.path.join(tmp, "apache2.conf"),
            "-DFOREGROUND"]  # fmt: skip


def _scratch(ctx, name):
    path = os.path.join(ctx.tmp, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    os.chmod(path, 0o755)
    return path


@dataclass
class ServerSpec:
    """
    One server product: its name, the roles it can play and the command that
    starts it in a role.
    """

    name: str
    roles: dict
    uses: str  # "web2", "web2-pure", "web2-base", "peers" or "system"
    notes: str = ""
    #: The CPUs it is pinned to instead of the run's server CPU (when the
    #: run pins at all): the C{--workers} servers get two.
    cpus: str | None = None


SERVERS = {
    spec.name: spec
    for spec in [
        ServerSpec("web2", {r: _web2 for r in ("hello", "static", "wsgi", "site", "ws", "asgi",
                                               "cpu")},
                   "web2",
                   "python -m web2 (web2-static, web2-wsgi for those roles), "
                   "installed as users get it: request path compiled"),
        ServerSpec("web2-pure",
                   {r: _web2Pure for r in ("hello", "static", "wsgi", "site", "ws", "asgi")},
                   "web2-pure", "the same, installed editable: pure Python"),
        ServerSpec("web2-1w", {r: _web2Workers(1) for r in ("hello", "cpu")}, "web2",
                   "web2 --workers 1 (a master and one worker), on CPUs 0 and 1",
                   cpus="0,1"),
        ServerSpec("web2-2w", {r: _web2Workers(2) for r in ("hello", "cpu")}, "web2",
                   "web2 --workers 2, on CPUs 0 and 1 (the load generator's too)",
                   cpus="0,1"),
        ServerSpec("web2-base", {r: _web2Base for r in ("hello", "static", "wsgi", "site", "asgi")},
                   "web2-base", "web2 at the commit given with --base, compiled: "
                   "a change's cost measured in the same run"),
        ServerSpec("twisted.web", {r: _twistedWeb for r in ("hello", "static", "wsgi", "site")},
                   "web2", "Resource / static.File / WSGIResource, epoll reactor"),
        ServerSpec("aiohttp", {"hello": _aiohttp, "site": _aiohttp, "ws": _aiohttp}, "peers",
                   "web.run_app, asyncio"),
        ServerSpec("uvicorn-httptools",
                   {r: _uvicorn("httptools", "uvloop") for r in ("hello", "site", "ws", "asgi")},
                   "peers", "--http httptools --loop uvloop"),
        ServerSpec("uvicorn-h11", {r: _uvicorn("h11", "asyncio") for r in ("hello", "site", "ws")},
                   "peers",
                   "--http h11 --loop asyncio"),
        ServerSpec("hypercorn", {"asgi": _hypercorn}, "peers", "--workers 0 (one process), asyncio"),
        ServerSpec("daphne", {"asgi": _daphne}, "peers", "Twisted's asyncio reactor"),
        ServerSpec("gunicorn", {"wsgi": _gunicorn}, "peers", "1 sync worker"),
        ServerSpec("waitress", {"wsgi": _waitress}, "peers", "4 threads"),
        ServerSpec("nginx", {"hello": _nginx, "static": _nginx}, "system",
                   "1 worker, sendfile on, return 200 for hello"),
        ServerSpec("apache", {"hello": _apache, "static": _apache}, "system",
                   "mpm_event, 1 child x 128 threads, sendfile on"),
    ]
}  # fmt: skip


def freePort():
    """
    A loopback TCP port nobody listens on right now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raiseNoFile():
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Running:
    """
    A started server: its process group, port and log file.
    """

    name: str
    role: str
    port: int
    process: subprocess.Popen
    log: str
    argv: list = field(default_factory=list)

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def pids(self):
        """
        The server's process and all its descendants.
        """
        return processTree(self.process.pid)

    def rss(self):
        """
        Resident memory of the whole process tree, in bytes.
        """
        return sum(_statusField(pid, "VmRSS") for pid in self.pids())

    def peakRSS(self):
        """
        Sum over the tree of each process's peak resident memory, in bytes.
        """
        return sum(_statusField(pid, "VmHWM") for pid in self.pids())

    def cpuSeconds(self):
        """
        User and system CPU time used so far by the whole process tree, in
        seconds (C{/proc/PID/stat}): divided by the requests of a sample,
        the server's CPU per request, which moves less between machines
        than requests per second do.
        """
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # utime and stime: the 14th and 15th fields, 12th and 13th
            # after the command name.
            total += int(fields[11]) + int(fields[12])
        return total / _CLOCK_TICKS

    def resetPeak(self):
        """
        Reset the kernel's peak-RSS mark of every process in the tree.
        """
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass


def processTree(root):
    """
    C{root} and its descendants, found through C{/proc}.
    """
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _statusField(pid, name):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def start(ctx, name, role, readyPath="/", timeout=30.0):
    """
    Start server C{name} in C{role} on a free port and wait until it answers
    C{GET readyPath} with a 200.

    @raise RuntimeError: it exited or did not answer within C{timeout}; the
        message carries the tail of its log.
    """
    spec = SERVERS[name]
    port = freePort()
    argv = spec.roles[role](ctx, port, role)
    if ctx.serverCPU is not None:
        argv = ["taskset", "-c", spec.cpus or ctx.serverCPU, *argv]
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    log = os.path.join(ctx.tmp, f"{name}-{role}-{port}.log")
    with open(log, "wb") as out:
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=ctx.tmp, env=env, start_new_session=True, preexec_fn=_raiseNoFile,
            )  # fmt: skip
        except OSError as e:
            raise RuntimeError(f"{name} ({role}) did not start: {e}") from e
    running = Running(name, role, port, process, log, argv)
    _LIVE.append(running)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _answers(port, readyPath):
            return running
        time.sleep(0.1)
    stop(running)
    raise RuntimeError(f"{name} ({role}) did not start: {tail(log)}")


def _answers(port, path):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                      % path.encode())  # fmt: skip
            head = s.recv(64)
            return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def tail(path, size=800):
    """
    The last C{size} bytes of a log file, as text.
    """
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


_LIVE = []


def stop(running, grace=5.0):
    """
    Stop a server's whole process group: SIGTERM, then SIGKILL after
    C{grace} seconds.
    """
    process = running.process
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:  # leftover children (apache, nginx workers) share the group
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    if running in _LIVE:
        _LIVE.remove(running)


def stopAll():
    """
    Stop every server this process started and has not stopped yet.
    """
    for running in list(_LIVE):
        stop(running)
