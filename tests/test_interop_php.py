"""
A PHP script (tests/apps/interop.php) run by web2-cgi through a real
C{php-cgi} (Debian package C{php-cgi}): a site file mounts it with C{kind =
"cgi-script"} and C{interpreter = "php-cgi"}, and C{python -m web2} serves
it.  PHP parses the query (C{$_GET}, with C{b[]=} arrays), a posted form
(C{$_POST}), a multipart upload (C{$_FILES}), and reads a chunked body
from C{php://input}; its C{Status:} header, its own headers and two
cookies reach the client, and its C{Location:} headers become redirects.

Skipped, with the reason, only when php-cgi is not installed (CI's
C{.ci/run} installs it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
from _interop import APPS, curl, multipart, program, publicTempDir
from _launch_helpers import Server, fetch, pythonWeb2

PHP = program("php-cgi")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(PHP is None, reason="php-cgi is not installed "
                                                     "(apt-get install php-cgi)")]

SITE = """\
[mounts."/php/page.php"]
kind = "cgi-script"
argument = "{script}"
interpreter = "php-cgi"
"""

PAGE = "/php/page.php"


@pytest.fixture(scope="module")
def port(request):
    tmp = publicTempDir("web2-interop-php-")
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    (tmp / "site.toml").write_text(SITE.format(script=APPS / "interop.php"))
    server = Server(pythonWeb2("--listen", "tcp:0:interface=127.0.0.1", "--config",
                               str(tmp / "site.toml")), cwd=str(tmp))
    with server:
        yield server.port
        result = server.stop()
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output, result.output


def test_getWithQuery(port):
    status, headers, body = fetch(port, PAGE + "/env?a=1&b[]=2&b[]=3&s=%C3%A9+x",
                                  headers={"User-Agent": "interop"})
    assert (status, headers["content-type"]) == (200, "application/json"), body
    seen = json.loads(body)
    assert seen["method"] == "GET"
    assert (seen["script_name"], seen["path_info"]) == (PAGE, "/env")
    assert seen["query"] == "a=1&b[]=2&b[]=3&s=%C3%A9+x"
    assert seen["get"] == {"a": "1", "b": ["2", "3"], "s": "é x"}
    assert (seen["agent"], seen["remote"]) == ("interop", "127.0.0.1")
    assert seen["host"] == f"127.0.0.1:{port}"


def test_postForm(port):
    status, _, body = fetch(port, PAGE + "/env?q=1", "POST",
                            {"Content-Type": "application/x-www-form-urlencoded"},
                            b"x=1&y=%C3%A9&list[]=a&list[]=b")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["method"] == "POST"
    assert seen["get"] == {"q": "1"}
    assert seen["post"] == {"x": "1", "y": "é", "list": ["a", "b"]}


def test_multipartUpload(port):
    data = os.urandom(200000)
    contentType, body = multipart({"note": "hi"}, {"f": ("up.bin", data)})
    status, _, answer = fetch(port, PAGE + "/env", "POST", {"Content-Type": contentType}, body)
    assert status == 200, answer
    seen = json.loads(answer)
    assert seen["post"] == {"note": "hi"}
    assert seen["files"] == {"f": ["up.bin", len(data), hashlib.sha256(data).hexdigest()]}


def test_chunkedBodyWithCurl(port, tmp_path):
    """
    A chunked request body reaches PHP whole (web2-cgi buffers it, since
    scripts need C{CONTENT_LENGTH}).
    """
    data = os.urandom(300000)
    (tmp_path / "body").write_bytes(data)
    result = curl("-H", "Transfer-Encoding: chunked", "--data-binary",
                  f"@{tmp_path / 'body'}", f"http://127.0.0.1:{port}{PAGE}/upload")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()


def test_statusHeadersAndCookies(port):
    status, headers, body = fetch(port, PAGE + "/status")
    assert (status, body) == (418, b"short and stout")
    assert headers["x-php"] == "yes"
    result = curl("-si", f"http://127.0.0.1:{port}{PAGE}/status")
    lines = result.stdout.decode().split("\r\n")
    assert lines[0].startswith("HTTP/1.1 418")
    assert [line for line in lines if line.lower().startswith("set-cookie:")] == [
        "Set-Cookie: first=one", "Set-Cookie: second=two"]


def test_redirects(port):
    status, headers, _ = fetch(port, PAGE + "/away")
    assert (status, headers["location"]) == (302, "http://example.org/elsewhere")
    status, headers, _ = fetch(port, PAGE + "/here")
    assert (status, headers["location"]) == (302, PAGE + "/env?from=here")


def test_streamedOutput(port):
    status, _, body = fetch(port, PAGE + "/big")
    assert status == 200
    assert body == b"".join(bytes([65 + i % 26]) * 16384 for i in range(64))


def test_headRequest(port):
    status, headers, body = fetch(port, PAGE + "/status", "HEAD")
    assert (status, body, headers["x-php"]) == (418, b"", "yes")
