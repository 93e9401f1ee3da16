"""
Real CGI scripts (C{#!/bin/sh} and Python) run by L{CGIScript},
L{FilteredScript} and L{CGIDirectory} behind a real web2 listener on
127.0.0.1, fetched with C{http.client}.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

from _cgi_helpers import PYTHON, fetch, listen, writeScript
from twisted.internet import defer
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from web2 import http
from web2.cgi import CGIDirectory, CGIScript, FilteredScript
from web2.resource import LeafResource, Resource

ENV_SCRIPT = """#!@PYTHON@
import json, os, sys
body = sys.stdin.buffer.read()
sys.stdout.write("Content-Type: application/json\\r\\n\\r\\n")
sys.stdout.write(json.dumps({"env": dict(os.environ), "body": body.decode("latin-1"),
                             "argv": sys.argv[1:], "cwd": os.getcwd()}))
"""

SH_SCRIPT = """#!/bin/sh
echo "Content-Type: text/plain"
echo "X-Method: $REQUEST_METHOD"
echo
echo "sh says $QUERY_STRING"
"""

POST_SCRIPT = """#!@PYTHON@
import hashlib, os, sys
n = int(os.environ.get("CONTENT_LENGTH", "0"))
data = sys.stdin.buffer.read(n)
print("Content-Type: text/plain")
print()
print(len(data), hashlib.sha256(data).hexdigest())
"""

BIG_OUTPUT = """#!@PYTHON@
import sys
sys.stdout.write("Content-Type: application/octet-stream\\n\\n")
sys.stdout.flush()
chunk = bytes(range(256)) * 256
for _ in range(64):
    sys.stdout.buffer.write(chunk)
"""


class Page(LeafResource):
    def render(self, request):
        return http.Response(200, None, b"static page")


class ScriptTests(TestCase):
    timeout = 60

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="web2-cgi-")
        self.addCleanup(_rmtree, self.dir)
        self.root = Resource()
        self.root.putChild("static", Page())
        self.port = listen(self, self.root)
        self.logged = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def script(self, name, text, mount=None, cls=CGIScript, mode=0o755, **kwargs):
        path = writeScript(self.dir, name, text, mode)
        resource = cls(path, **kwargs)
        self.root.putChild(mount or name, resource)
        # Wait for the scripts to end, so that no process outlives a test.
        self.addCleanup(resource.whenIdle)
        return path

    def logText(self):
        from twisted.logger import formatEvent

        return "\n".join(formatEvent(e) for e in self.logged)

    @defer.inlineCallbacks
    def test_environment(self):
        os.environ["WEB2_TEST_SERVER_SECRET"] = "leak"
        self.addCleanup(os.environ.pop, "WEB2_TEST_SERVER_SECRET")
        path = self.script("env.py", ENV_SCRIPT, env={"LANG": "C.UTF-8"})
        status, headers, body = yield fetch(
            self.port, "/env.py/more/info?q=1&r", headers={
                "Proxy": "http://evil.example/", "Authorization": "Basic eDp5",
                "X-Thing": "42"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        result = json.loads(body)
        env = result["env"]
        self.assertEqual(env["SCRIPT_NAME"], "/env.py")
        self.assertEqual(env["PATH_INFO"], "/more/info")
        self.assertEqual(env["PATH_TRANSLATED"], os.path.join(self.dir, "more/info"))
        self.assertEqual(env["QUERY_STRING"], "q=1&r")
        self.assertEqual(env["REQUEST_METHOD"], "GET")
        self.assertEqual(env["SERVER_PORT"], str(self.port))
        self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(env["SCRIPT_FILENAME"], path)
        self.assertEqual(env["HTTP_X_THING"], "42")
        self.assertEqual(env["LANG"], "C.UTF-8")
        self.assertNotIn("HTTP_PROXY", env)
        self.assertNotIn("HTTP_AUTHORIZATION", env)
        self.assertNotIn("WEB2_TEST_SERVER_SECRET", env)
        # ISINDEX arguments are never passed (CVE-2012-1823).
        self.assertEqual(result["argv"], [])
        self.assertEqual(os.path.realpath(result["cwd"]), os.path.realpath(self.dir))

    @defer.inlineCallbacks
    def test_shellScript(self):
        self.script("hello.sh", SH_SCRIPT)
        status, headers, body = yield fetch(self.port, "/hello.sh?x=y", method="POST",
                                            body=b"ignored")
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-method"], "POST")
        self.assertEqual(body, b"sh says x=y\n")

    @defer.inlineCallbacks
    def test_postBody(self):
        self.script("post.py", POST_SCRIPT)
        data = os.urandom(300000)
        status, _, body = yield fetch(self.port, "/post.py", method="POST", body=data,
                                      headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200)
        self.assertEqual(body.split(), [b"300000", hashlib.sha256(data).hexdigest().encode()])

    @defer.inlineCallbacks
    def test_chunkedPostBuffered(self):
        self.script("post.py", POST_SCRIPT)
        data = b"abc" * 1000

        def chunks():
            yield data[:1000]
            yield data[1000:]

        status, _, body = yield fetch(self.port, "/post.py", method="POST", body=chunks())
        self.assertEqual(status, 200)
        self.assertEqual(body.split()[0], b"3000")

    @defer.inlineCallbacks
    def test_chunkedPostTooLong(self):
        self.script("post.py", POST_SCRIPT, maxBufferedBody=100)

        def chunks():
            yield b"x" * 1000

        status, _, _ = yield fetch(self.port, "/post.py", method="POST", body=chunks())
        self.assertEqual(status, 413)

    @defer.inlineCallbacks
    def test_statusHeader(self):
        self.script("s.sh", "#!/bin/sh\nprintf 'Status: 418 Teapot\\r\\n"
                            "Content-Type: text/plain\\r\\n\\r\\nshort and stout'\n")
        status, _, body = yield fetch(self.port, "/s.sh")
        self.assertEqual(status, 418)
        self.assertEqual(body, b"short and stout")

    @defer.inlineCallbacks
    def test_clientRedirect(self):
        self.script("r.sh", "#!/bin/sh\necho 'Location: http://example.com/x'\necho\n")
        status, headers, _ = yield fetch(self.port, "/r.sh")
        self.assertEqual(status, 302)
        self.assertEqual(headers["location"], "http://example.com/x")

    @defer.inlineCallbacks
    def test_localRedirect(self):
        self.script("l.sh", "#!/bin/sh\necho 'Location: /static'\necho\n")
        status, headers, body = yield fetch(self.port, "/l.sh", method="POST", body=b"data")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"static page")
        self.assertNotIn("location", headers)

    @defer.inlineCallbacks
    def test_localRedirectToAnotherScript(self):
        self.script("env.py", ENV_SCRIPT)
        self.script("l.sh", "#!/bin/sh\necho 'Location: /env.py/pi?k=v'\necho\n")
        status, _, body = yield fetch(self.port, "/l.sh", method="POST", body=b"data")
        self.assertEqual(status, 200)
        env = json.loads(body)["env"]
        self.assertEqual(env["REQUEST_METHOD"], "GET")
        self.assertEqual(env["SCRIPT_NAME"], "/env.py")
        self.assertEqual(env["PATH_INFO"], "/pi")
        self.assertEqual(env["QUERY_STRING"], "k=v")
        self.assertNotIn("CONTENT_LENGTH", env)

    @defer.inlineCallbacks
    def test_localRedirectLoop(self):
        self.script("loop.sh", "#!/bin/sh\necho 'Location: /loop.sh'\necho\n")
        status, _, _ = yield fetch(self.port, "/loop.sh")
        self.assertEqual(status, 500)

    @defer.inlineCallbacks
    def test_nph(self):
        self.script("nph-raw.sh", "#!/bin/sh\nprintf 'HTTP/1.1 206 Partial\\r\\n"
                                   "Content-Type: text/plain\\r\\nStatus: 500\\r\\n\\r\\nraw'\n")
        status, headers, body = yield fetch(self.port, "/nph-raw.sh")
        self.assertEqual(status, 206)
        self.assertEqual(headers["status"], "500")
        self.assertEqual(body, b"raw")

    @defer.inlineCallbacks
    def test_largeOutputStreams(self):
        self.script("big.py", BIG_OUTPUT)
        status, headers, body = yield fetch(self.port, "/big.py")
        self.assertEqual(status, 200)
        self.assertEqual(body, bytes(range(256)) * 256 * 64)

    @defer.inlineCallbacks
    def test_declaredLengthHonoured(self):
        self.script("cl.sh", "#!/bin/sh\nprintf 'Content-Length: 5\\r\\n"
                             "Content-Type: text/plain\\r\\n\\r\\n0123456789'\n")
        status, headers, body = yield fetch(self.port, "/cl.sh")
        self.assertEqual((status, headers["content-length"], body), (200, "5", b"01234"))

    @defer.inlineCallbacks
    def test_failingScript(self):
        self.script("fail.sh", "#!/bin/sh\necho 'oops on stderr' >&2\nexit 3\n")
        status, _, body = yield fetch(self.port, "/fail.sh")
        self.assertEqual(status, 502)
        self.assertNotIn(b"oops", body)
        text = self.logText()
        self.assertIn("oops on stderr", text)
        self.assertIn("exit status 3", text)

    @defer.inlineCallbacks
    def test_garbageOutput(self):
        self.script("junk.sh", "#!/bin/sh\necho 'this is not a header'\necho\necho body\n")
        status, _, _ = yield fetch(self.port, "/junk.sh")
        self.assertEqual(status, 502)
        self.assertIn("invalid response", self.logText())

    @defer.inlineCallbacks
    def test_headerInjectionRefused(self):
        self.script("inj.py", "#!@PYTHON@\nimport sys\nsys.stdout.buffer.write("
                              "b'Content-Type: text/plain\\nX-A: a\\rSet-Cookie: x=1\\n\\nbody')\n")
        status, headers, _ = yield fetch(self.port, "/inj.py")
        self.assertEqual(status, 502)
        self.assertNotIn("set-cookie", headers)

    @defer.inlineCallbacks
    def test_timeout(self):
        self.script("slow.sh", "#!/bin/sh\nexec sleep 30\n", timeout=0.5)
        status, _, _ = yield fetch(self.port, "/slow.sh")
        self.assertEqual(status, 502)
        self.assertIn("did not answer within 0.5 seconds", self.logText())

    @defer.inlineCallbacks
    def test_missingScript(self):
        self.root.putChild("gone", CGIScript(os.path.join(self.dir, "nope")))
        status, _, _ = yield fetch(self.port, "/gone")
        self.assertEqual(status, 500)
        self.assertIn("does not exist", self.logText())

    @defer.inlineCallbacks
    def test_filteredScript(self):
        self.script("page.txt", "print('Content-Type: text/plain')\nprint()\n"
                                "import sys; print('ran', sys.argv[0].endswith('page.txt'))\n",
                    cls=FilteredScript, mode=0o644,
                    filters=["/nonexistent/interpreter", PYTHON])
        status, _, body = yield fetch(self.port, "/page.txt")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"ran True\n")

    @defer.inlineCallbacks
    def test_filteredScriptWithoutInterpreter(self):
        self.script("page.php", "<?php ?>", cls=FilteredScript, mode=0o644,
                    filters=["/nonexistent/php-cgi"])
        status, _, _ = yield fetch(self.port, "/page.php")
        self.assertEqual(status, 500)
        self.assertIn("interpreters", self.logText())


class DirectoryTests(TestCase):
    timeout = 60

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="web2-cgidir-")
        self.addCleanup(_rmtree, self.dir)
        writeScript(self.dir, "hello.sh", SH_SCRIPT)
        writeScript(self.dir, "plain.txt", "not a script", mode=0o644)
        writeScript(self.dir, ".hidden.sh", SH_SCRIPT)
        os.mkdir(os.path.join(self.dir, "sub"))
        writeScript(os.path.join(self.dir, "sub"), "env.py", ENV_SCRIPT)
        outside = tempfile.mkdtemp(prefix="web2-outside-")
        self.addCleanup(_rmtree, outside)
        writeScript(outside, "evil.sh", SH_SCRIPT)
        os.symlink(os.path.join(outside, "evil.sh"), os.path.join(self.dir, "link.sh"))
        root = Resource()
        root.putChild("cgi-bin", CGIDirectory(self.dir))
        self.port = listen(self, root)

    @defer.inlineCallbacks
    def test_runsScripts(self):
        status, _, body = yield fetch(self.port, "/cgi-bin/hello.sh?z")
        self.assertEqual((status, body), (200, b"sh says z\n"))

    @defer.inlineCallbacks
    def test_subdirectoryAndPathInfo(self):
        status, _, body = yield fetch(self.port, "/cgi-bin/sub/env.py/x/y")
        self.assertEqual(status, 200)
        env = json.loads(body)["env"]
        self.assertEqual(env["SCRIPT_NAME"], "/cgi-bin/sub/env.py")
        self.assertEqual(env["PATH_INFO"], "/x/y")

    @defer.inlineCallbacks
    def test_refusals(self):
        for path, expected in [("/cgi-bin/", 403), ("/cgi-bin/plain.txt", 403),
                               ("/cgi-bin/missing", 404), ("/cgi-bin/.hidden.sh", 404),
                               ("/cgi-bin/link.sh", 404), ("/cgi-bin/..%2fetc", 404),
                               ("/cgi-bin/sub%2fenv.py", 404)]:
            status, _, _ = yield fetch(self.port, path)
            self.assertEqual(status, expected, path)


def _rmtree(path):
    import shutil

    shutil.rmtree(path, ignore_errors=True)
