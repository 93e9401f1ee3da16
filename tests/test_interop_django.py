"""
A Django project as a newcomer makes one: C{django-admin startproject} in a
temporary directory, one app-less view with a form (C{{% csrf_token %}}),
C{collectstatic}, then C{python -m web2} serving the project's WSGI
application at C{/} and the collected static files at C{/static} with
web2-static (C{--mount /static=static:...}), as the Django deployment
guide asks of a server.  A browser-like client (C{urllib} with a cookie
jar) gets the form, posts it back with the CSRF cookie and token, and is
refused (403) without them; the static files are byte for byte what
C{collectstatic} wrote, with validators that give 304s.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _browser import BROWSER, dumpDOM
from _interop import publicTempDir
from _launch_helpers import Server, fetch, pythonWeb2

pytest.importorskip("django")

pytestmark = pytest.mark.slow

VIEWS = '''\
from django.http import HttpResponse
from django.shortcuts import render


def form(request):
    if request.method == "POST":
        return HttpResponse("hello " + request.POST["name"],
                            content_type="text/plain; charset=utf-8")
    return render(request, "form.html")
'''

TEMPLATE = '''\
{% load static %}<!DOCTYPE html>
<html><head><link rel="stylesheet" href="{% static 'site.css' %}">
<script src="{% static 'submit.js' %}"></script></head>
<body><form method="post" action="">{% csrf_token %}
<input name="name"><button>Send</button></form></body></html>
'''

SETTINGS = '''
# Added by tests/test_interop_django.py:
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATIC_ROOT = BASE_DIR / "collected"
'''

#: Fills in and sends the form when the page's query asks for it (?auto).
SCRIPT = b"""
window.addEventListener("load", function () {
  if (location.search !== "?auto") { return; }
  document.forms[0].elements.name.value = "from a browser \\u00e9";
  document.forms[0].submit();
});
"""

CSS = b"body { color: #123456; }\n/* caf\xc3\xa9 */\n"


def _run(*args, cwd):
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def project(request):
    """
    The project, made by C{startproject}, and web2 serving it: C{(port,
    project directory)}.
    """
    tmp = publicTempDir("web2-interop-django-")
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    _run("-m", "django", "startproject", "mysite", str(tmp), cwd=str(tmp))
    (tmp / "mysite" / "views.py").write_text(VIEWS)
    (tmp / "templates").mkdir()
    (tmp / "templates" / "form.html").write_text(TEMPLATE)
    (tmp / "assets").mkdir()
    (tmp / "assets" / "site.css").write_bytes(CSS)
    (tmp / "assets" / "submit.js").write_bytes(SCRIPT)
    with open(tmp / "mysite" / "settings.py", "a") as f:
        f.write(SETTINGS)
    urls = (tmp / "mysite" / "urls.py").read_text()
    urls = urls.replace("from django.urls import path",
                        "from django.urls import path\nfrom mysite import views")
    urls = urls.replace("urlpatterns = [", 'urlpatterns = [\n    path("form/", views.form),')
    (tmp / "mysite" / "urls.py").write_text(urls)
    _run("manage.py", "collectstatic", "--noinput", cwd=str(tmp))
    server = Server(pythonWeb2(
        "--listen", "tcp:0:interface=127.0.0.1", "--python-path", str(tmp),
        "--mount", "/=wsgi:mysite.wsgi:application",
        "--mount", f"/static=static:{tmp / 'collected'}"), cwd=str(tmp))
    with server:
        yield server.port, tmp
        result = server.stop()
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output, result.output


def _opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def _post(opener, url, data: bytes):
    request = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_formWithCsrf(project):
    port, _ = project
    url = f"http://127.0.0.1:{port}/form/"
    opener, jar = _opener()
    with opener.open(url, timeout=30) as response:
        assert response.status == 200
        page = response.read().decode()
    assert '<link rel="stylesheet" href="/static/site.css">' in page
    assert '<script src="/static/submit.js"></script>' in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert [c.name for c in jar] == ["csrftoken"]
    status, body = _post(opener, url, f"csrfmiddlewaretoken={token}&name=Ann%20%C3%A9".encode())
    assert (status, body.decode()) == (200, "hello Ann é")
    # Without the token, with a wrong one, or without the cookie: 403.
    assert _post(opener, url, b"name=Ann")[0] == 403
    assert _post(opener, url, b"csrfmiddlewaretoken=" + b"x" * 64 + b"&name=Ann")[0] == 403
    stranger, _ = _opener()
    assert _post(stranger, url, f"csrfmiddlewaretoken={token}&name=Ann".encode())[0] == 403


def test_staticFilesServedByWeb2(project):
    port, tmp = project
    status, headers, body = fetch(port, "/static/site.css")
    assert (status, body) == (200, CSS)
    assert headers["content-type"].startswith("text/css")
    assert "django" not in headers.get("server", "").lower()
    status, _, _ = fetch(port, "/static/site.css", headers={"If-None-Match": headers["etag"]})
    assert status == 304
    collected = Path(tmp) / "collected" / "admin" / "css" / "base.css"
    status, _, body = fetch(port, "/static/admin/css/base.css")
    assert (status, body) == (200, collected.read_bytes())
    status, _, body = fetch(port, "/static/admin/css/base.css", headers={"Range": "bytes=0-9"})
    assert (status, body) == (206, collected.read_bytes()[:10])
    assert fetch(port, "/static/nothing.css")[0] == 404


@pytest.mark.skipif(BROWSER is None, reason="no Chromium (apt-get install chromium)")
def test_formInABrowser(project):
    """
    Headless Chromium loads the form and runs the script web2-static
    serves, which submits the form: the browser's CSRF cookie and the
    page's token go back, and Django answers.
    """
    port, _ = project
    dom = dumpDOM(f"http://127.0.0.1:{port}/form/?auto", "--virtual-time-budget=10000")
    assert "hello from a browser \u00e9" in dom, dom
