"""
Scale-out: two web2 instances behind a real HAProxy with health checks on
a C{text:} mount; one instance is stopped with SIGTERM (its graceful drain)
under a steady stream of requests through HAProxy, and no request fails.
"""

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import Server, fetch, freePort, pythonWeb2  # noqa: E402

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)

SITE = '''
import os
from web2 import http, resource

class Root(resource.Resource):
    def render(self, request):
        return http.Response(200, {}, "pid %d" % os.getpid())
'''

#: Health checks every 200 ms on /health; a connection refused by a
#: stopping instance is retried on the other one (redispatch), as is a
#: kept-alive server connection the instance closed while draining.
CONFIG = """\
global
    maxconn 256
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on all-retryable-errors
frontend web
    bind 127.0.0.1:{port}
    default_backend web2
backend web2
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server check inter 200ms fall 1 rise 1
    server a 127.0.0.1:{a}
    server b 127.0.0.1:{b}
"""


def _instance(tmp_path, port):
    return Server(pythonWeb2("--listen", f"tcp:{port}:interface=127.0.0.1",
                             "--python-path", str(tmp_path),
                             "--mount", "/=class:drainsite.Root",
                             "--mount", "/health=text:ok", "--access-log", "off"),
                  cwd=tmp_path)


def test_drainingOneInstanceFailsNoRequest(tmp_path):
    if HAPROXY is None:
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")
    (tmp_path / "drainsite.py").write_text(SITE)
    portA, portB, front = freePort(), freePort(), freePort()
    (tmp_path / "haproxy.cfg").write_text(CONFIG.format(port=front, a=portA, b=portB))
    with _instance(tmp_path, portA) as a, _instance(tmp_path, portB) as b:
        a.waitForPort(portA)
        b.waitForPort(portB)
        proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(tmp_path / "haproxy.cfg")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            b.waitForPort(front)
            # Both instances healthy and answering through HAProxy.
            deadline = time.monotonic() + 30
            seen = set()
            while len(seen) < 2 and time.monotonic() < deadline:
                status, _, body = fetch(front, "/")
                if status == 200:
                    seen.add(body)
            assert seen == {f"pid {a.process.pid}".encode(),
                            f"pid {b.process.pid}".encode()}

            stop, results = threading.Event(), []

            def load():
                while not stop.is_set():
                    try:
                        status, _, body = fetch(front, "/", timeout=30)
                        results.append((status, body))
                    except Exception as e:  # a failure to count
                        results.append((None, repr(e)))

            clients = [threading.Thread(target=load) for _ in range(4)]
            for client in clients:
                client.start()
            try:
                while len(results) < 100:
                    time.sleep(0.02)
                result = a.stop()
                count = len(results)
                while len(results) < count + 100:
                    time.sleep(0.02)
            finally:
                stop.set()
                for client in clients:
                    client.join(60)
            failures = [r for r in results if r[0] != 200]
            assert failures == [], failures[:5]
            assert result.returncode == 0, result.output
            bodies = [body for _, body in results]
            assert bodies[-50:] == [f"pid {b.process.pid}".encode()] * 50
            print(f"{len(results)} requests through HAProxy while one instance "
                  "stopped; none failed")
        finally:
            proxy.send_signal(signal.SIGTERM)
            proxy.wait(20)
        b.stop()
