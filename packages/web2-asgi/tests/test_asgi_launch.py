"""
web2-asgi in real server processes: C{python -m web2} (which picks the
asyncio reactor by itself for an C{asgi:} mount) serving Django's ASGI
handler and Starlette, C{twistd --reactor=asyncio web2}, C{twistd web2} on
another reactor refusing with a message that says what to add, and a
failed lifespan startup stopping the start with status 1.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
import urllib.request

import pytest

from web2.testing import (
    ServerProcess,
    assertNoTraceback,
    assertStoppedCleanly,
    pythonWeb2,
    runToEnd,
    twistdWeb2,
)

HERE = os.path.dirname(os.path.abspath(__file__))
LISTEN = "tcp:0:interface=127.0.0.1"

pytestmark = pytest.mark.slow


def _handlesSigterm(pid, timeout=10.0):
    """
    Wait until process C{pid} catches SIGTERM (the reactor installs its
    handler when it starts running; a signal before would kill it).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status") as f:
            caught = [line.split()[1] for line in f if line.startswith("SigCgt:")]
        if caught and int(caught[0], 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never caught SIGTERM")


def _get(port, path, data=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture
def djangoProject(tmp_path):
    """
    A minimal Django project made for the test: settings, URLs with an
    async view, a sync view (run by asgiref in a thread) and a form POST.
    """
    pytest.importorskip("django")
    package = tmp_path / "asgidj"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(textwrap.dedent("""
        SECRET_KEY = "web2-asgi-tests-only"
        DEBUG = False
        ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
        ROOT_URLCONF = "asgidj.urls"
        INSTALLED_APPS = []
        MIDDLEWARE = []
        DATABASES = {}
        USE_TZ = True
    """))
    (package / "urls.py").write_text(textwrap.dedent("""
        import threading

        from django.http import HttpResponse, JsonResponse
        from django.urls import path, reverse
        from django.views.decorators.csrf import csrf_exempt

        async def hello(request):
            return JsonResponse({"path": request.path, "script": request.META["SCRIPT_NAME"],
                                 "path_info": request.path_info,
                                 "reverse": reverse("echo")})

        def sync(request):
            return HttpResponse("sync in " + threading.current_thread().name)

        @csrf_exempt
        def echo(request):
            return JsonResponse({"method": request.method, "name": request.POST.get("name")})

        urlpatterns = [path("hello/", hello), path("sync/", sync),
                       path("echo/", echo, name="echo")]
    """))
    (package / "asgi.py").write_text(textwrap.dedent("""
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asgidj.settings")

        from django.core.asgi import get_asgi_application

        application = get_asgi_application()
    """))
    return tmp_path


def test_djangoUnderAPrefix(djangoProject):
    """
    Django's ASGI handler mounted at /dj by python -m web2: routing below
    the prefix, SCRIPT_NAME from root_path, reverse() with the prefix, a
    sync view in asgiref's thread, a form POST; the asyncio reactor chosen
    by itself; Django's refusal of the lifespan scope logged once, not an
    error.
    """
    command = pythonWeb2("--listen", LISTEN, "--python-path", str(djangoProject),
                         "--mount", "/dj=asgi:asgidj.asgi:application")
    with ServerProcess(command, cwd=str(djangoProject)) as server:
        port = server.port
        status, body = _get(port, "/dj/hello/")
        assert status == 200
        assert body == (b'{"path": "/dj/hello/", "script": "/dj", "path_info": "/hello/", '
                        b'"reverse": "/dj/echo/"}')
        status, body = _get(port, "/dj/sync/")
        assert body.startswith(b"sync in ") and b"MainThread" not in body
        status, body = _get(port, "/dj/echo/", data=b"name=web2")
        assert body == b'{"method": "POST", "name": "web2"}'
        result = server.stop()
    assert result.returncode == 0
    assert "reactor LeanAsyncioReactor" in result.output
    assert "does not support the ASGI lifespan protocol" in result.output
    assertNoTraceback(result.output)


def test_twistdWithTheAsyncioReactor():
    """
    twistd --reactor=asyncio web2 --asgi: Starlette served, its lifespan
    shut down on SIGTERM.
    """
    command = twistdWeb2("--listen", LISTEN, "--python-path", HERE,
                         "--asgi", "_asgi_apps:starletteApp()")
    command.insert(command.index("web2"), "--reactor=asyncio")
    with ServerProcess(command, cwd=HERE) as server:
        # twistd starts services (and so the lifespan) once the reactor runs.
        assert server.waitForOutput("lifespan startup complete")
        _handlesSigterm(server.process.pid)
        status, body = _get(server.port, "/")
        assert status == 200 and b"hello from the lifespan" in body
        result = server.stop()
    assertStoppedCleanly(result)
    assert "lifespan shutdown complete" in result.output


def test_twistdOnAnotherReactorSaysWhatToAdd():
    result = runToEnd(twistdWeb2("--listen", LISTEN, "--python-path", HERE,
                                 "--asgi", "_asgi_apps:starletteApp()"), cwd=HERE)
    assert result.returncode != 0
    assert "--reactor=asyncio" in result.output
    assertNoTraceback(result.output)


def test_failedStartupStopsTheServer():
    """
    A lifespan startup that fails: python -m web2 ends with status 1 and
    the application's message, having served nothing.
    """
    result = runToEnd(pythonWeb2("--listen", LISTEN, "--python-path", HERE,
                                 "--asgi", "_asgi_failing:app"), cwd=HERE)
    assert result.returncode == 1
    assert ("web2: error: _asgi_failing:app failed to start: cannot reach the "
            "database at db:5432") in result.output
    assertNoTraceback(result.output)


def test_startupThatNeverAnswers():
    """
    A lifespan startup that never answers: after --asgi-startup-timeout the
    server does not start (status 1), on the asyncio loop run before the
    reactor, whose timer ends the wait.
    """
    result = runToEnd(pythonWeb2("--listen", LISTEN, "--python-path", HERE,
                                 "--asgi", "_asgi_stuck:app", "--asgi-startup-timeout", "1"),
                      cwd=HERE)
    assert result.returncode == 1
    assert ("web2: error: _asgi_stuck:app failed to start: no answer to "
            "lifespan.startup within 1.0 s") in result.output
    assertNoTraceback(result.output)
