"""
Helpers of the interoperability matrix (tests/test_interop_*.py) and of
every test with a real front end: start one (nginx, Apache, HAProxy,
lighttpd) from a configuration in a temporary directory, wait for its
ports, and stop it with its whole process group; the common part of nginx's
and Apache's configurations (L{nginxConfig}, L{apacheConfig}) and their
start (L{startNginx}, L{startApache}); find a Python interpreter that an
unprivileged Apache worker may run web2 with; a C{curl} client.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"

sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import freePort  # noqa: E402,F401


def program(name: str, *dirs: str) -> str | None:
    """
    The path of the program C{name} (on C{PATH} or in C{/usr/sbin} and
    C{dirs}), or C{None} when it is not installed.
    """
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/local/sbin", "/sbin", *dirs):
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def publicTempDir(prefix: str) -> Path:
    """
    A new directory under the system's temporary directory that every user
    may read and enter (pytest's own are private to the user, and
    Apache's workers run CGI scripts as C{www-data}).
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def waitForPorts(ports, process, log: Path | None = None, timeout=30.0):
    """
    Wait until each of C{ports} on 127.0.0.1 accepts connections.

    @raise AssertionError: with the log's tail if C{process} exits first
        or the ports do not open within C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
                    stop(process)
                    raise AssertionError(
                        f"{process.args[0]} did not open port {port} "
                        f"(exit status {process.poll()}):\n{text}") from None
                time.sleep(0.05)


def waitForUnixSocket(path, process, timeout=30.0):
    """
    Wait until the UNIX socket C{path} accepts connections.
    """
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(path))
                return
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"nothing listens on {path}") from None
        time.sleep(0.05)


def start(command, **kwargs) -> subprocess.Popen:
    """
    Start a front end in a session of its own (its workers with it), with
    its output discarded: each keeps a log file in its directory.
    """
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, **kwargs)


def stop(process: subprocess.Popen) -> None:
    """
    SIGTERM to the front end's process group, SIGKILL after 15 seconds.
    """
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)


def workerUser() -> tuple[str, str] | None:
    """
    As root, the C{(user, group)} front ends' workers run as (Apache
    refuses to run them as root); C{None} otherwise.
    """
    if os.geteuid() != 0:
        return None
    import grp
    import pwd

    for user, group in (("www-data", "www-data"), ("nobody", "nogroup")):
        try:
            pwd.getpwnam(user)
            grp.getgrnam(group)
        except KeyError:
            continue
        return user, group
    return None


def _runsAs(user, command) -> bool:
    if user is None:
        prefix = []
    else:
        runuser = program("runuser") or program("setpriv")
        if runuser is None:
            return False
        prefix = ([runuser, "-u", user, "--"] if runuser.endswith("runuser")
                  else [runuser, "--reuid", user, "--regid", user, "--init-groups"])
    try:
        return subprocess.run(prefix + command, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cgiInterpreter(user) -> tuple[str, list[str]] | None:
    """
    A Python interpreter that C{user} (C{None}: this user) can run web2
    with, and the directories to give it: this interpreter if it can; else
    the system's C{python3} of the same version (a virtual environment
    built on an interpreter under a private home directory, as here, is
    out of reach of C{www-data}).  Either runs with C{-S} and is given
    this environment's C{site-packages} (the system's own packages would
    come first otherwise, older than this environment's); C{None} if
    neither works.

    Entries of this process's C{PYTHONPATH} come first, so that a test run
    against older sources (C{PYTHONPATH=old/src}) reaches CGI scripts too.
    """
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    dirs = extra + [sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    probe = "import web2.cgi.run, web2.wsgi, web2.compat, twisted.internet.endpoints"
    for python in (sys.executable, "/usr/bin/python3"):
        if not os.access(python, os.X_OK):
            continue
        if _runsAs(user, [python, "-S", "-c", prelude(dirs) + probe]):
            return python, dirs
    return None


def prelude(dirs) -> str:
    """
    The lines that give a Python started with C{-S} the directories
    C{dirs}, in order, after the standard library (their C{.pth} files
    included).
    """
    return f"import site, sys\nfor d in {dirs!r}:\n    site.addsitedir(d)\n"


def curl(*args: str, timeout=60) -> subprocess.CompletedProcess:
    """
    Run C{curl -sS} with C{args}; its output as bytes.
    """
    return subprocess.run([program("curl") or "curl", "-sS", "--max-time", str(timeout), *args],
                          capture_output=True, timeout=timeout + 10, stdin=subprocess.DEVNULL)


def multipart(fields: dict, files: dict) -> tuple[str, bytes]:
    """
    A C{multipart/form-data} body of C{fields} (name to text) and C{files}
    (name to C{(filename, bytes)}): C{(content type, body)}.
    """
    boundary = "interop-" + os.urandom(8).hex()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
              f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
              .encode() + data + b"\r\n" for name, (filename, data) in files.items()]
    return f"multipart/form-data; boundary={boundary}", b"".join(parts) + \
        f"--{boundary}--\r\n".encode()


# ---------------------------------------------------------------------------
# nginx and Apache from a configuration of the test's own

NGINX = program("nginx")
APACHE = program("apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")


def apacheHas(*modules: str) -> bool:
    """
    Whether Apache is installed with each of C{modules} (names such as
    C{"proxy_http"}, for C{mod_proxy_http.so}).
    """
    return APACHE is not None and all(
        (APACHE_MODULES / f"mod_{name}.so").exists() for name in modules)


def nginxConfig(tmp, http: str, *, user: str = "", errorLevel: str = "") -> str:
    """
    A whole C{nginx.conf} for a test: one worker, its pid file, error log
    and temporary files in C{tmp}, and C{http}, the C{http} block's own
    directives and servers (an C{access_log} line among them: nginx's
    default log is out of reach of an unprivileged test).

    @param user: nginx's C{user} line, if any (C{"user root root;"} as
        root, so that its worker may read the test's files).
    @param errorLevel: the error log's level; nginx's default if empty.
    """
    level = f" {errorLevel}" if errorLevel else ""
    return f"""\
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log{level};
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{http}
}}
"""


def startNginx(tmp, config: str, ports) -> subprocess.Popen:
    """
    Write C{config} (see L{nginxConfig}) to C{tmp/nginx.conf}, start nginx
    with it in the foreground and wait until it listens on each of
    C{ports}.  Stop it with L{stop}.

    @raise AssertionError: with the error log's tail, if it does not start.
    """
    tmp = Path(tmp)
    (tmp / "nginx.conf").write_text(config)
    process = start([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"),
                     "-e", str(tmp / "error.log"), "-g", "daemon off;"])
    waitForPorts(ports, process, tmp / "error.log")
    return process


def apacheUser() -> str:
    """
    The C{User} and C{Group} lines Apache's workers need as root (they
    must run as someone else), empty otherwise.

    @raise pytest.skip.Exception: as root, with no unprivileged user.
    """
    if os.geteuid() != 0:
        return ""
    user = workerUser()
    if user is None:
        import pytest

        pytest.skip("no unprivileged user for Apache's workers")
    return f"User {user[0]}\nGroup {user[1]}"


#: The process settings of each MPM: few workers, one process for event's
#: threads, two at the start for prefork.
_MPM_SETTINGS = {
    "event": "StartServers 1\nServerLimit 1\nThreadsPerChild 8\nThreadLimit 8\n"
             "MaxRequestWorkers 8",
    "prefork": "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 8",
}


def apacheConfig(tmp, ports, modules, body: str, *, user: str, mpm: str = "event") -> str:
    """
    A whole C{apache2.conf} for a test: listening on 127.0.0.1 at each of
    C{ports}, its pid file, error log (level warn) and mutexes in C{tmp},
    the C{mpm} MPM with a few workers, C{mod_authz_core} and C{modules}
    loaded, then C{body}.

    @param user: the C{User}/C{Group} lines (see L{apacheUser}).
    """
    listens = "".join(f"Listen 127.0.0.1:{port}\n" for port in ports)
    loads = "".join(f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so\n"
                    for name in (f"mpm_{mpm}", "authz_core", *modules))
    return (f"ServerRoot {tmp}\nServerName 127.0.0.1\n{listens}"
            f"PidFile {tmp}/apache2.pid\nErrorLog {tmp}/error.log\nLogLevel warn\n"
            f"Mutex file:{tmp} default\n{user}\n{loads}{_MPM_SETTINGS[mpm]}\n{body}")


def startApache(tmp, config: str, ports) -> subprocess.Popen:
    """
    Write C{config} (see L{apacheConfig}) to C{tmp/apache2.conf}, start
    Apache with it in the foreground and wait until it listens on each of
    C{ports}.  Stop it with L{stop} (its workers are in its process group).

    @raise AssertionError: with the error log's tail, if it does not start.
    """
    tmp = Path(tmp)
    (tmp / "apache2.conf").write_text(config)
    process = start([APACHE, "-d", str(tmp), "-f", str(tmp / "apache2.conf"), "-DFOREGROUND"])
    waitForPorts(ports, process, tmp / "error.log")
    return process
