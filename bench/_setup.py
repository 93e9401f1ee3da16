"""
Make a fresh machine ready: Debian's load generators and web servers through
apt-get, the Python peers in their own venv (C{bench/.venv-peers}), and an
interpreter with web2 installed.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys

from bench._servers import BENCH, REPO

# binary -> Debian package
TOOLS = {"wrk": "wrk", "h2load": "nghttp2-client", "nginx": "nginx",
         "apache2": "apache2", "taskset": "util-linux"}  # fmt: skip
PEERS_VENV = os.path.join(BENCH, ".venv-peers")
WEB2_VENV = os.path.join(BENCH, ".venv-web2")
WEB2_PURE_VENV = os.path.join(BENCH, ".venv-web2-pure")
WEB2_BASE_VENV = os.path.join(BENCH, ".venv-web2-base")
# web2-core with its websocket extra (wsproto), for the ws scenarios; web2-asgi
# with uvloop, as its README advises (uvicorn-httptools runs on uvloop too).
WEB2_PACKAGES = ("web2-core[websocket]", "web2-static", "web2-wsgi", "web2-asgi[uvloop]")


def _say(text):
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def _which(name):
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def ensureTools(install=True):
    """
    Install whichever of wrk, h2load, nginx and apache2 is missing.

    @return: the list of tools still missing.
    """
    missing = [t for t in TOOLS if not _which(t)]
    if missing and install and os.geteuid() == 0:
        packages = sorted({TOOLS[t] for t in missing})
        _say("apt-get install " + " ".join(packages))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        *packages], check=False, env=env, timeout=1200)  # fmt: skip
        missing = [t for t in TOOLS if not _which(t)]
    return missing


def _marker(path, requirements, key=""):
    return (os.path.join(path, ".bench-installed"),
            hashlib.sha256(" ".join([*requirements, key]).encode()).hexdigest())


def _fresh(path, requirements, key=""):
    """
    Whether the venv at C{path} exists with C{requirements} installed.
    """
    marker, want = _marker(path, requirements, key)
    try:
        with open(marker) as f:
            return f.read() == want and os.path.exists(os.path.join(path, "bin", "python"))
    except OSError:
        return False


def _venv(path, requirements, install, env=None, key=""):
    """
    The interpreter of the venv at C{path} holding C{requirements}, made
    when missing or made from other requirements (or another C{key}: what
    else decides its content).
    """
    python = os.path.join(path, "bin", "python")
    if _fresh(path, requirements, key):
        return python
    if not install:
        return python if os.path.exists(python) else None
    marker, want = _marker(path, requirements, key)
    _say(f"creating {os.path.relpath(path, REPO)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", path], check=True,
                   timeout=300)  # fmt: skip
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"],
                   check=False, timeout=600)  # fmt: skip
    subprocess.run([python, "-m", "pip", "install", "-q", *requirements], check=True,
                   timeout=1200, env=env)  # fmt: skip
    with open(marker, "w") as f:
        f.write(want)
    return python


def peersPython(install=True):
    """
    The interpreter of the peers' venv, created from requirements-peers.txt
    when missing or out of date.
    """
    requirements = os.path.join(BENCH, "requirements-peers.txt")
    with open(requirements, "rb") as f:
        # The file's content, not its name, decides what the venv holds.
        key = hashlib.sha256(f.read()).hexdigest()
    return _venv(PEERS_VENV, ["-r", requirements], install, key=key)


def web2Python(explicit=None, install=True):
    """
    The interpreter that runs web2 and the twisted.web peer (so both use the
    same Twisted): C{explicit} (C{--web2-python} or C{$WEB2_PYTHON}), else
    C{bench/.venv-web2}, where C{packages/web2-core}, C{web2-static} and
    C{web2-wsgi} are installed as users install them (wheels, the request
    path compiled: C{WEB2_EXTENSIONS=1}, so a failure to compile is an error,
    not a slower web2), rebuilt from the source on every run.
    """
    if explicit:
        return explicit
    paths = [os.path.join(REPO, "packages", name) for name in WEB2_PACKAGES]
    compiled = dict(os.environ, WEB2_EXTENSIONS="1")
    existed = _fresh(WEB2_VENV, paths)
    python = _venv(WEB2_VENV, paths, install, env=compiled)
    if install and existed:
        _say("installing web2 from the source, compiled")
        subprocess.run([python, "-m", "pip", "install", "-q", "--force-reinstall",
                        "--no-deps", *paths], check=True, timeout=1200,
                       env=compiled)  # fmt: skip
    elif existed:
        # web2-pure (editable) runs today's source; this is the source as of
        # the last install, so the two may not be the same code.
        _say("--no-install: bench/.venv-web2 is not refreshed from the source")
    return python


def web2PurePython(install=True):
    """
    The interpreter of the C{web2-pure} server: C{bench/.venv-web2-pure}, the
    same packages installed editable (editable installs compile nothing).
    """
    packages = []
    for name in WEB2_PACKAGES:
        packages += ["-e", os.path.join(REPO, "packages", name)]
    return _venv(WEB2_PURE_VENV, packages, install,
                 env=dict(os.environ, WEB2_EXTENSIONS="0"))


def web2BasePython(revision, install=True):
    """
    The interpreter of the C{web2-base} server: C{bench/.venv-web2-base},
    where web2 as of C{revision} (any git revision) is installed compiled,
    as C{web2} is from the working tree, so that one interleaved run shows
    what a change costs or gains.  Remade when the revision changes.
    """
    commit = _first(["git", "-C", REPO, "rev-parse", "--verify", revision + "^{commit}"])
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise SystemExit(f"[bench] --base {revision!r}: no such commit")
    source = os.path.join(BENCH, ".base-source")
    shutil.rmtree(source, ignore_errors=True)
    os.makedirs(source)
    archive = subprocess.run(["git", "-C", REPO, "archive", commit, "packages"],
                             capture_output=True, check=True, timeout=120)  # fmt: skip
    subprocess.run(["tar", "-x", "-C", source], input=archive.stdout, check=True,
                   timeout=120)  # fmt: skip
    # An older revision may lack a distribution (web2-asgi is newer than
    # most): it is measured with what it had, the scenarios needing the rest
    # report web2-base as failing to start.
    paths = [os.path.join(source, "packages", name) for name in WEB2_PACKAGES
             if os.path.isdir(os.path.join(source, "packages", name.partition("[")[0]))]
    python = _venv(WEB2_BASE_VENV, paths, install,
                   env=dict(os.environ, WEB2_EXTENSIONS="1"), key=commit)
    shutil.rmtree(source, ignore_errors=True)
    return python


def versions(web2Py, peersPy, purePy=None):
    """
    The versions of everything measured, for the results document.
    """
    out = {"python (harness)": sys.version.split()[0]}
    for label, argv in [
        ("wrk", ["wrk", "-v"]), ("h2load", ["h2load", "--version"]),
        ("nginx", ["nginx", "-v"]), ("apache", ["apache2", "-v"]),
    ]:  # fmt: skip
        out[label] = _first(argv)
    out.update(_dists(web2Py, ["web2-core", "web2-static", "web2-wsgi", "twisted"],
                      "web2 python"))  # fmt: skip
    for label, python in (("web2 build", web2Py), ("web2-pure build", purePy)):
        if python:
            out[label] = _first([python, "-c", "from web2._compiled import describeBuild;"
                                 " print(describeBuild())"])  # fmt: skip
    if purePy:
        out["web2-pure twisted"] = _dists(purePy, ["twisted"], "-").get("twisted", "?")
    out.update(_dists(peersPy, ["aiohttp", "uvicorn", "httptools", "uvloop", "h11",
                                "gunicorn", "waitress"], "peers python"))  # fmt: skip
    out["web2 commit"] = _first(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = _first(["git", "-C", REPO, "status", "--porcelain", "--", "packages"])
    if dirty:
        out["web2 commit"] += " (with uncommitted changes)"
    out["kernel"] = os.uname().release
    out["cpu"] = _cpuModel()
    return out


def _first(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0].strip() if text else ""


_DISTS = """\
import sys, importlib.metadata as m
print("python", sys.version.split()[0])
for name in sys.argv[1:]:
    try:
        print(name, m.version(name))
    except m.PackageNotFoundError:
        print(name, "missing")
"""


def _dists(python, names, label):
    if not python:
        return {label: "unavailable"}
    try:
        done = subprocess.run([python, "-c", _DISTS, *names], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return {label: "unavailable"}
    out = {}
    for line in done.stdout.splitlines():
        name, _, version = line.partition(" ")
        out[label if name == "python" else name] = version
    return out


def _cpuModel():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f" x{os.cpu_count()}"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs"
