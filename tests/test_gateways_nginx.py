"""
web2 behind a real nginx (Debian package C{nginx}) over SCGI and FastCGI:
nginx runs root-less from a temporary directory on a free 127.0.0.1 port,
web2's L{SCGIFactory} and L{FastCGIFactory} listen on 127.0.0.1, and pages
are fetched through nginx with C{http.client}.

The nginx configuration mostly uses Debian's stock C{scgi_params} and
C{fastcgi_params}, as a deployment would:

  - C{/scgi/...}: C{scgi_pass}; nginx sends C{REQUEST_URI} and no
    SCRIPT_NAME, which web2 reads as the path;
  - C{/scgi-min/...}: C{scgi_pass} with a minimal list of C{scgi_param}s a
    site writes itself instead of including the stock file: no C{SCGI}
    variable (nginx sends only C{CONTENT_LENGTH} and what is listed, plus
    the request's headers), which web2 accepts as flup does;
  - C{/fcgi/...}: C{fastcgi_pass} with C{fastcgi_keep_conn on}; the stock
    C{SCRIPT_NAME} is the whole path, so this factory is told the site's
    prefix (C{scriptName=""}, the plugin's C{--gateway-prefix ""});
  - C{/app/...}: C{fastcgi_split_path_info}, so C{SCRIPT_NAME} is C{/app}
    and C{PATH_INFO} the rest, read the RFC 3875 way.

Skipped, with the reason, only when nginx is not installed (CI's
C{.ci/run} installs it).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile

import pytest
from _interop import NGINX, freePort, nginxConfig, startNginx, stop
from twisted.internet import defer, reactor, task, threads
from twisted.trial.unittest import TestCase

from web2 import http as web2http
from web2 import server
from web2.cgi.fastcgi import FastCGIFactory
from web2.cgi.scgi import SCGIFactory
from web2.resource import Resource
from web2.stream import IterableStream, readAll

pytestmark = pytest.mark.slow

PARAMS_DIR = "/etc/nginx"

BIG = bytes(range(256)) * 4096  # 1 MiB


class Site(Resource):
    """
    The site behind nginx: an echo of the request, a large body, a hash of
    a posted body, and an error.
    """

    def locateChild(self, request, segments):
        return self, ()

    def render(self, request):
        last = request.path.rsplit("/", 1)[-1]
        if last == "big":
            chunks = [BIG[i:i + 200000] for i in range(0, len(BIG), 200000)]
            return web2http.Response(200, None, IterableStream(iter(chunks)))
        if last == "missing":
            return web2http.StatusResponse(404, "nothing here")
        response = web2http.Response(200, None, "\n".join([
            f"path={request.path}",
            f"prefix={request.pathPrefix}",
            f"query={request.querystring}",
            f"remote={getattr(request.remoteAddr, 'host', '')}",
            f"url={request.unparseURL()}",
            f"agent={(request.headers.getRawHeaders('user-agent') or [''])[0]}",
        ]))
        response.headers.setRawHeaders("set-cookie", ["a=1", "b=2"])
        return response

    def http_POST(self, request):
        d = readAll(request.stream)
        return d.addCallback(lambda data: web2http.Response(
            200, None, f"{len(data)} {hashlib.sha256(data).hexdigest()}"))


HTTP = """\
    access_log {tmp}/access.log;
    client_max_body_size 16m;
    upstream fcgi {{
        server 127.0.0.1:{fcgi};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        location /scgi/ {{
            include {params}/scgi_params;
            scgi_pass 127.0.0.1:{scgi};
        }}
        location /scgi-min/ {{
            scgi_param REQUEST_METHOD $request_method;
            scgi_param REQUEST_URI $request_uri;
            scgi_param QUERY_STRING $query_string;
            scgi_param CONTENT_TYPE $content_type;
            scgi_param SERVER_PROTOCOL $server_protocol;
            scgi_param REMOTE_ADDR $remote_addr;
            scgi_pass 127.0.0.1:{scgi};
        }}
        location /fcgi/ {{
            include {params}/fastcgi_params;
            fastcgi_keep_conn on;
            fastcgi_pass fcgi;
        }}
        location /app/ {{
            fastcgi_split_path_info ^(/app)(/.*)$;
            include {params}/fastcgi_params;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass 127.0.0.1:{rfc};
        }}
    }}"""


def _request(port, method, path, body=None, headers=None, count=1):
    """
    C{count} requests on one connection; the list of C{(status, headers,
    body)}, headers as a list of pairs.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    results = []
    try:
        for _ in range(count):
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            results.append((response.status, response.getheaders(), response.read()))
    finally:
        conn.close()
    return results


def fields(body: bytes) -> dict:
    return dict(line.split("=", 1) for line in body.decode().splitlines())


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
class NginxGatewayTests(TestCase):
    timeout = 60

    def setUp(self):
        site = server.Site(Site())
        ports = {}
        self.factories = []
        for name, factory in [("scgi", SCGIFactory(site)),
                              ("fcgi", FastCGIFactory(site, scriptName="")),
                              ("rfc", FastCGIFactory(site))]:
            listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
            self.addCleanup(listening.stopListening)
            ports[name] = listening.getHost().port
            self.factories.append(factory)
        self.tmp = tempfile.mkdtemp(prefix="web2-nginx-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.port = freePort()
        user = "user root root;" if os.geteuid() == 0 else ""
        config = nginxConfig(self.tmp, HTTP.format(tmp=self.tmp, port=self.port,
                                                   params=PARAMS_DIR, **ports),
                             user=user, errorLevel="info")
        d = threads.deferToThread(startNginx, self.tmp, config, [self.port])
        d.addCallback(self._started)
        return d

    def _started(self, process):
        self.nginx = process
        self.addCleanup(self._stopNginx)

    def _stopNginx(self):
        stop(self.nginx)
        # Let web2 see nginx's connections close, so none outlives the test.
        return task.deferLater(reactor, 0.1, lambda: None)

    def errorLog(self) -> str:
        try:
            with open(os.path.join(self.tmp, "error.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def fetch(self, path, method="GET", body=None, headers=None, count=1):
        return threads.deferToThread(_request, self.port, method, path, body, headers, count)

    @defer.inlineCallbacks
    def test_scgiGet(self):
        [(status, headers, body)] = yield self.fetch("/scgi/some/page?x=1&y=%20",
                                                     headers={"User-Agent": "web2-test"})
        self.assertEqual(status, 200, self.errorLog())
        echo = fields(body)
        self.assertEqual(echo["path"], "/scgi/some/page")
        self.assertEqual(echo["prefix"], "")
        self.assertEqual(echo["query"], "x=1&y=%20")
        self.assertEqual(echo["remote"], "127.0.0.1")
        self.assertEqual(echo["agent"], "web2-test")
        self.assertEqual([v for n, v in headers if n.lower() == "set-cookie"], ["a=1", "b=2"])

    @defer.inlineCallbacks
    def test_scgiPostAndLargeResponse(self):
        data = os.urandom(3 * 1024 * 1024)
        [(status, _, body)] = yield self.fetch("/scgi/upload", "POST", data,
                                               {"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200, self.errorLog())
        self.assertEqual(body.decode(), f"{len(data)} {hashlib.sha256(data).hexdigest()}")
        [(status, _, body)] = yield self.fetch("/scgi/big")
        self.assertEqual((status, body), (200, BIG))

    @defer.inlineCallbacks
    def test_scgiChunkedRequestBody(self):
        data = b"chunk" * 20000

        def chunks():
            for i in range(0, len(data), 30000):
                yield data[i:i + 30000]

        [(status, _, body)] = yield self.fetch("/scgi/upload", "POST", chunks())
        self.assertEqual(status, 200, self.errorLog())
        self.assertEqual(body.split()[0], str(len(data)).encode())

    @defer.inlineCallbacks
    def test_scgiMinimalParams(self):
        """
        Without Debian's C{scgi_params} nginx sends no C{SCGI} variable:
        a GET and a POST through C{scgi_pass} are still answered (web2 used
        to close the connection, logging "SCGI is not 1", and nginx
        answered 502).
        """
        [(status, _, body)] = yield self.fetch("/scgi-min/a/b?k=v",
                                               headers={"User-Agent": "web2-min"})
        self.assertEqual(status, 200, self.errorLog())
        echo = fields(body)
        self.assertEqual((echo["path"], echo["query"], echo["agent"]),
                         ("/scgi-min/a/b", "k=v", "web2-min"))
        self.assertEqual(echo["remote"], "127.0.0.1")
        data = os.urandom(300000)
        [(status, _, body)] = yield self.fetch("/scgi-min/upload", "POST", data,
                                               {"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200, self.errorLog())
        self.assertEqual(body.decode(), f"{len(data)} {hashlib.sha256(data).hexdigest()}")

    @defer.inlineCallbacks
    def test_fastcgiKeptConnections(self):
        results = yield self.fetch("/fcgi/one/two?q=3", count=5)
        for status, _, body in results:
            self.assertEqual(status, 200, self.errorLog())
            echo = fields(body)
            self.assertEqual((echo["path"], echo["query"]), ("/fcgi/one/two", "q=3"))
        # nginx kept one FastCGI connection open for the five requests.
        self.assertEqual(len(self.factories[1].connections), 1)

    @defer.inlineCallbacks
    def test_fastcgiLargeBodies(self):
        [(status, _, body)] = yield self.fetch("/fcgi/big")
        self.assertEqual((status, len(body)), (200, len(BIG)), self.errorLog())
        self.assertEqual(body, BIG)
        data = os.urandom(2 * 1024 * 1024 + 7)
        [(status, _, body)] = yield self.fetch("/fcgi/upload", "POST", data)
        self.assertEqual(body.decode(), f"{len(data)} {hashlib.sha256(data).hexdigest()}")

    @defer.inlineCallbacks
    def test_fastcgiErrorStatus(self):
        [(status, _, body)] = yield self.fetch("/fcgi/missing")
        self.assertEqual(status, 404, self.errorLog())
        self.assertIn(b"nothing here", body)

    @defer.inlineCallbacks
    def test_fastcgiScriptNameAndPathInfo(self):
        [(status, _, body)] = yield self.fetch("/app/inner/page?z=9")
        self.assertEqual(status, 200, self.errorLog())
        echo = fields(body)
        self.assertEqual((echo["prefix"], echo["path"]), ("/app", "/inner/page"))
        # Some of Debian's fastcgi_params pass HTTP_HOST as $host, without the
        # port; others pass the client's Host header.
        self.assertIn(echo["url"], {"http://127.0.0.1/app/inner/page?z=9",
                                    f"http://127.0.0.1:{self.port}/app/inner/page?z=9"})
