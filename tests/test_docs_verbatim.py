"""
The tutorial (C{docs/tutorial.rst}), the plugin guide (C{docs/plugins.rst})
and the README's command line, run exactly as written.

The code blocks are read from the documents when the test runs (never
copied here): each C{code-block} and C{literalinclude} is found, the
console commands are run in a fresh venv made the way the documents say
(C{pip install 'web2-core[static]'}, with wheels built from this checkout
standing in for the package index), files are written where the text
says they go, and what the text says a command prints is compared with
what it prints (C{...} stands for any lines).

The one change made to a command: the port.  C{--listen tcp:8080} becomes
a free port on 127.0.0.1, and C{localhost:8080} the same address, so that
the test runs beside other servers.  Commands run in a scratch directory
where C{examples} is the repository's (so relative paths mean what they
mean at the top of a clone, and twistd's pid file lands in the scratch
directory).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, assertStoppedCleanly, fetch, freePort  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass
class Block:
    """
    One code block of a document: C{kind} is C{"code"} or C{"include"},
    C{language} its language, C{text} its dedented text (for an include,
    the path it names, relative to the document).
    """

    kind: str
    language: str
    text: str
    line: int


_DIRECTIVE = re.compile(r"^(\s*)\.\. (code-block|literalinclude)::\s*(\S+)\s*$")


def readBlocks(path: Path) -> list[Block]:
    """
    The code blocks of an reStructuredText file, in order.
    """
    lines = path.read_text().splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, directive, argument = len(match.group(1)), match.group(2), match.group(3)
        start = i + 1
        i += 1
        options = {}
        while i < len(lines) and re.match(r"^\s+:(\w+):\s*(.*)$", lines[i]):
            name, value = re.match(r"^\s+:(\w+):\s*(.*)$", lines[i]).groups()
            options[name] = value
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        if directive == "literalinclude":
            blocks.append(Block("include", options.get("language", ""), argument, start))
        else:
            blocks.append(Block("code", argument, textwrap.dedent("\n".join(body)).strip("\n")
                                + "\n", start))
    return blocks


def consoleSteps(text: str) -> list[tuple[str, list[str]]]:
    """
    A console block as C{(command, stated output lines)} pairs.
    """
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and line.strip():
            steps[-1][1].append(line)
    return steps


def matchesStated(stated: list[str], actual: list[str]) -> bool:
    """
    Whether C{actual} is C{stated}, a line C{...} standing for any number
    of lines (trailing blanks ignored).
    """
    stated = [s.rstrip() for s in stated]
    actual = [a.rstrip() for a in actual]
    pattern = "".join(".*?" if s == "..." else re.escape(s + "\n") for s in stated)
    return re.fullmatch(pattern, "".join(a + "\n" for a in actual), re.S) is not None


def localPort(command: str, port: int) -> str:
    return (command.replace("--listen tcp:8080", f"--listen tcp:{port}:interface=127.0.0.1")
            .replace("localhost:8080", f"127.0.0.1:{port}"))


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """
    A fresh venv and a scratch directory, as the documents' reader has:
    the venv's C{bin} first on C{PATH}; wheels of web2-core and
    web2-static built from this checkout (pure Python) are where pip finds
    them, in place of the package index.
    """
    pytest.importorskip("build", reason="needs 'build' (tests/requirements.txt)")
    pytest.importorskip("hatchling", reason="needs hatchling (tests/requirements.txt)")
    base = tmp_path_factory.mktemp("reader")
    wheels = base / "wheels"
    for dist in ("web2-core", "web2-static"):
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
             str(wheels), str(ROOT / "packages" / dist)],
            check=True, timeout=300, capture_output=True,
            env=dict(os.environ, WEB2_EXTENSIONS="0"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    work = base / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "WEB2_PLUGINS", "WEB2_DISABLE_PLUGINS"):
        env.pop(name, None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(wheels),
                                                   os.environ.get("PIP_FIND_LINKS")]))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return {"env": env, "work": work, "venv": venv}


def shell(user, command: str, timeout=600) -> subprocess.CompletedProcess:
    """
    Run a documented command as the reader would, in a shell.
    """
    return subprocess.run(["bash", "-c", command], cwd=user["work"], env=user["env"],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def startServer(user, command: str) -> Server:
    argv = shlex.split(command)
    argv[0] = str(user["venv"] / "bin" / argv[0])
    env = {k: v for k, v in user["env"].items()}
    return Server(argv, cwd=user["work"], env=env, startTimeout=60)


# The tutorial


TUTORIAL = ROOT / "docs" / "tutorial.rst"


def test_tutorialBlocksAreTheOnesRunHere():
    """
    The tutorial holds exactly the blocks this module runs: a new block
    fails here until it is run too.
    """
    shapes = [(b.kind, b.language, b.text if b.kind == "include" else
               [c for c, _ in consoleSteps(b.text)]) for b in readBlocks(TUTORIAL)]
    assert shapes == [
        ("code", "console", ["pip install 'web2-core[static]'"]),
        ("include", "python", "../examples/intro/simple.py"),
        ("code", "console", ["twistd -ny examples/intro/simple.py"]),
        ("include", "python", "../examples/intro/children.py"),
    ]


def _tutorialBlocks():
    blocks = readBlocks(TUTORIAL)
    return blocks[0], blocks[1], blocks[2], blocks[3]


@pytest.fixture(scope="module")
def tutorialInstalled(user):
    install, _, _, _ = _tutorialBlocks()
    [(command, _)] = consoleSteps(install.text)
    done = shell(user, command)
    assert done.returncode == 0, done.stdout + done.stderr
    return user


def test_tutorialInstall(tutorialInstalled):
    """
    C{pip install 'web2-core[static]'} gives web2 with the static-file
    extension the second example needs, and C{twistd}.
    """
    done = shell(tutorialInstalled, "python -c 'import web2.static, web2.server'")
    assert done.returncode == 0, done.stderr
    assert (tutorialInstalled["venv"] / "bin" / "twistd").exists()


def _example(user, include: Block, command: str):
    """
    Start the included example with the tutorial's command (for the second
    example, the same command with its file), on a free port
    (C{WEB2_EXAMPLE_PORT}, which the tutorial names).
    """
    path = (TUTORIAL.parent / include.text).resolve()
    assert path.is_file()
    relative = path.relative_to(ROOT).as_posix()
    command = re.sub(r"examples/intro/\w+\.py", relative, command)
    port = freePort()
    argv = shlex.split(command)
    argv[0] = str(user["venv"] / "bin" / argv[0])
    server = Server(argv, cwd=user["work"], env=dict(user["env"], WEB2_EXAMPLE_PORT=str(port)),
                    startTimeout=60)
    server.waitForPort(port)
    return server, port


def test_tutorialOnePage(tutorialInstalled):
    """
    C{twistd -ny examples/intro/simple.py}: "Now open
    http://localhost:8080/" gives the page; Ctrl-C-like SIGTERM stops it.
    """
    _, simple, run, _ = _tutorialBlocks()
    [(command, _)] = consoleSteps(run.text)
    server, port = _example(tutorialInstalled, simple, command)
    with server:
        status, headers, body = fetch(port, "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"Hello" in body
        # "render answers GET, and web2 derives HEAD from it"
        status, headers, body = fetch(port, "/", method="HEAD")
        assert status == 200 and body == b""
        result = server.stop()
    assertStoppedCleanly(result)


def test_tutorialChildren(tutorialInstalled):
    """
    The second example does what the text says: children by attribute and
    by method, a file from disk with its type, Last-Modified and ETag, and
    conditional requests and ranges "for free".
    """
    _, _, run, children = _tutorialBlocks()
    [(command, _)] = consoleSteps(run.text)
    server, port = _example(tutorialInstalled, children, command)
    with server:
        status, headers, body = fetch(port, "/source")
        assert status == 200 and b"child_source" in body
        assert headers["content-type"].startswith("text/")  # guessed from ".py"
        assert "last-modified" in headers and "etag" in headers
        status, headers, body = fetch(port, "/poem")
        assert status == 200 and body.startswith(b"Half a league")
        assert "server" in headers and "date" in headers
        lastModified, etag = headers["last-modified"], headers["etag"]
        assert fetch(port, "/poem", headers={"If-Modified-Since": lastModified})[0] == 304
        assert fetch(port, "/poem", headers={"If-None-Match": etag})[0] == 304
        assert fetch(port, "/poem", headers={"If-Match": '"other"'})[0] == 412
        status, headers, body = fetch(port, "/poem", headers={"Range": "bytes=0-3"})
        assert (status, body) == (206, b"Half")
        status, _, body = fetch(port, "/clock")
        assert status == 200 and body
        result = server.stop()
    assertStoppedCleanly(result)


def test_tutorialDirectoryListings(tmp_path):
    """
    "Pointed at a directory, it serves the files in it, and the
    directory's index.html ...  Listing ... is off by default ...
    static.File(path, listing=True) turns it on": a real server with a
    C{static.File} made both ways.
    """
    pytest.importorskip("web2.static")
    from _launch_helpers import pythonWeb2

    text = " ".join(TUTORIAL.read_text().split())
    assert "Listing the contents of a directory that has no index is off by default" in text
    assert "``static.File(path, listing=True)`` turns it on" in text
    files = tmp_path / "files"
    (files / "sub").mkdir(parents=True)
    (files / "a.txt").write_text("a\n")
    (files / "sub" / "index.html").write_text("<p>index</p>\n")
    (tmp_path / "made.py").write_text(textwrap.dedent(f"""
        from web2 import static

        class Plain(static.File):
            def __init__(self):
                super().__init__({str(files)!r})

        class Listed(static.File):
            def __init__(self):
                super().__init__({str(files)!r}, listing=True)
    """))
    with Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1",
                           "--python-path", str(tmp_path),
                           "--mount", "/plain=class:made.Plain",
                           "--mount", "/listed=class:made.Listed"), cwd=tmp_path) as server:
        port = server.port
        assert fetch(port, "/plain/")[0] == 403
        status, _, body = fetch(port, "/listed/")
        assert status == 200 and b"a.txt" in body and b"sub/" in body
        assert fetch(port, "/plain/a.txt")[2] == b"a\n"
        assert fetch(port, "/plain/sub/")[2] == b"<p>index</p>\n"
        result = server.stop()
    assertStoppedCleanly(result)


# The plugin guide


PLUGINS = ROOT / "docs" / "plugins.rst"


def test_pluginGuideBlocksAreTheOnesRunHere():
    shapes = [(b.kind, b.language) for b in readBlocks(PLUGINS)]
    assert shapes == [("code", "python"), ("code", "toml"), ("code", "console"),
                      ("code", "console")]


def test_pluginGuide(user):
    """
    The three steps of the plugin guide: the module and the
    C{pyproject.toml} written into C{web2-hello} as the guide lays it out,
    C{pip install ./web2-hello} (it must build and install: a version and a
    build system), C{--list-plugins} printing what the guide shows, the
    server started as shown, and C{curl -i} printing what the guide shows,
    a C{Content-Type} included.
    """
    module, pyproject, steps, check = readBlocks(PLUGINS)
    text = " ".join(PLUGINS.read_text().split())
    assert ("in a directory ``web2-hello`` holding two files, ``pyproject.toml`` and "
            "``src/web2_hello/plugin.py``") in text
    firstLine = module.text.splitlines()[0]
    assert firstLine == "# src/web2_hello/plugin.py"
    project = user["work"] / "web2-hello"
    (project / "src" / "web2_hello").mkdir(parents=True)
    (project / firstLine[2:]).write_text(module.text)
    (project / "pyproject.toml").write_text(pyproject.text)

    # The guide's install needs web2-core installed already ("next to web2-core").
    done = shell(user, "pip install 'web2-core'")
    assert done.returncode == 0, done.stdout + done.stderr
    commands = consoleSteps(steps.text)
    assert [c for c, _ in commands] == [
        "pip install ./web2-hello", "python -m web2 --list-plugins",
        "twistd -n web2 --listen tcp:8080 --mount /hello=hello: --greeting hi"]
    for command, stated in commands[:2]:
        done = shell(user, command)
        assert done.returncode == 0, (command, done.stdout + done.stderr)
        if stated:
            assert matchesStated(stated, done.stdout.splitlines()), (stated, done.stdout)
    port = freePort()
    server = startServer(user, localPort(commands[2][0], port))
    with server:
        server.waitForListeners()
        [(curl, stated)] = consoleSteps(check.text)
        if shutil.which("curl"):
            done = shell(user, localPort(curl, port), timeout=60)
            assert done.returncode == 0, done.stderr
            actual = done.stdout.replace("\r\n", "\n").split("\n")
            assert matchesStated(stated, actual), (stated, actual)
        status, headers, body = fetch(port, "/hello")
        assert (status, body) == (200, b"hi")
        assert headers["content-type"] == "text/plain; charset=utf-8"
        result = server.stop()
    assertStoppedCleanly(result)


# The README


def test_readmeCommandLine(user):
    """
    The README's one-liner, from the top of a clone: the mounted directory
    exists, and it is listed as the text says (C{--listing}).
    """
    pytest.importorskip("web2.static")
    readme = (ROOT / "README.md").read_text()
    [command] = re.findall(r"^twistd -n web2 .*$", readme, re.M)
    assert "--mount /=static:examples/demo/public --listing" in command
    assert (ROOT / "examples/demo/public").is_dir()
    port = freePort()
    argv = shlex.split(localPort(command, port))
    argv[0] = str(Path(sys.executable).parent / "twistd")
    if not Path(argv[0]).exists():
        pytest.skip("no twistd beside this interpreter")
    with Server(argv, cwd=user["work"]) as server:
        server.waitForListeners()
        status, headers, body = fetch(port, "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        for name in (b"hello.txt", b"notes/"):
            assert name in body
        status, _, body = fetch(port, "/hello.txt")
        assert status == 200 and body == (ROOT / "examples/demo/public/hello.txt").read_bytes()
        result = server.stop()
    assertStoppedCleanly(result)
