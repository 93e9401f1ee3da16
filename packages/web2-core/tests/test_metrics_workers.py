"""
The C{metrics:} mount under C{--workers}: a scrape, whichever worker takes
it, shows the whole server (prometheus_client's multiprocess mode in a
directory the master makes and removes); a worker killed keeps its counts
and loses its gauges.  Real master and worker processes, real clients;
which worker answers is forced by blocking the other one's reactor.
"""

import http.client
import os
import signal
import socket
import threading
import time

import pytest
from _launch_helpers import Server, assertNoTraceback, fetch, pythonWeb2

pytest.importorskip("prometheus_client")

LOCAL = "tcp:0:interface=127.0.0.1"

#: C{/pid} says which worker answered; C{/block} blocks its worker's whole
#: reactor (so that every new connection goes to the other worker) until
#: the test creates the file C{<BLOCK_MARK>.release}.
SITE = '''
import os, pathlib, time
from web2 import http, resource

class Block(resource.Resource):
    def render(self, request):
        mark = pathlib.Path(os.environ["BLOCK_MARK"])
        release = mark.with_name(mark.name + ".release")
        mark.write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        release.unlink()
        mark.unlink()
        return http.Response(200, {}, "unblocked")

class Root(resource.Resource):
    addSlash = True
    child_block = Block()
    def render(self, request):
        return http.Response(200, {}, "pid %d" % os.getpid())
'''


def _start(tmp_path, workers=2):
    (tmp_path / "metricsite.py").write_text(SITE)
    home = tmp_path / "tmp"
    home.mkdir()
    env = dict(os.environ, BLOCK_MARK=str(tmp_path / "block"), TMPDIR=str(home))
    return Server(pythonWeb2("--listen", LOCAL, "--workers", str(workers),
                             "--python-path", str(tmp_path),
                             "--mount", "/=class:metricsite.Root",
                             "--mount", "/metrics=metrics:"), cwd=tmp_path, env=env)


def _waitReady(server, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [int(line.split("worker ")[1].split()[0])
                for line in server.output.splitlines()
                if "web2 master: worker" in line and "is ready" in line]
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    server._fail(f"{count} worker(s) were not ready")


class _Blocked:
    """
    One worker blocked in C{/block} for the length of a C{with}: new
    connections meanwhile go to the others.
    """

    def __init__(self, port, tmp_path, conn=None):
        """
        @param conn: the kept-alive C{http.client} connection to block the
            worker of; by default a new connection (any worker).
        """
        self.port = port
        self.mark = tmp_path / "block"
        self.conn = conn
        self.answer = []

    def _block(self):
        if self.conn is None:
            self.answer.append(fetch(self.port, "/block", timeout=90))
        else:
            self.conn.request("GET", "/block")
            response = self.conn.getresponse()
            self.answer.append((response.status, None, response.read()))

    def __enter__(self):
        self.thread = threading.Thread(target=self._block)
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.pid = int(self.mark.read_text())
                return self
            except (OSError, ValueError):
                time.sleep(0.02)
        raise AssertionError("no worker took /block")

    def __exit__(self, *exc):
        self.mark.with_name("block.release").write_text("")
        self.thread.join(90)
        assert self.answer and self.answer[0][0] == 200


def _pidOf(port):
    status, _, body = fetch(port, "/")
    assert status == 200
    return int(body.split()[1])


def _scrape(port):
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = fetch(port, "/metrics")
    assert status == 200
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


GET200 = ("web2_requests_total", (("method", "GET"), ("status", "200")))
CONNECTIONS = ("web2_open_connections", ())


def _scrapeUntil(port, condition, timeout=30.0):
    """
    Scrape until C{condition(samples)} holds (gauges of the other worker
    are refreshed every second): the samples, and how many scrapes it took.
    """
    deadline = time.monotonic() + timeout
    scrapes = 0
    while True:
        samples = _scrape(port)
        scrapes += 1
        if condition(samples) or time.monotonic() > deadline:
            return samples, scrapes
        time.sleep(0.1)


def test_scrapeSumsEveryWorker(tmp_path):
    """
    Requests answered by each of two workers (forced: the other one is
    blocked) are all in one scrape, whichever worker answers it; so are
    both workers' open connections; the master removes its directory when
    it stops.
    """
    metricsHome = tmp_path / "tmp"
    with _start(tmp_path) as server:
        port = server.port
        workers = set(_waitReady(server, 2))
        served = {}
        with _Blocked(port, tmp_path) as first:
            for _ in range(5):
                pid = _pidOf(port)
                served[pid] = served.get(pid, 0) + 1
            # A connection kept to the other worker, to block it next.
            other = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
            other.request("GET", "/")
            otherPid = int(other.getresponse().read().split()[1])
        with _Blocked(port, tmp_path, other) as second:
            for _ in range(7):
                pid = _pidOf(port)
                served[pid] = served.get(pid, 0) + 1
            back = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            back.request("GET", "/")
            assert int(back.getresponse().read().split()[1]) == first.pid
        assert second.pid == otherPid
        assert {first.pid, second.pid} == workers
        assert served == {second.pid: 5, first.pid: 7}
        samples = _scrape(port)
        made = 5 + 7 + 2 + 2  # two blocks, two requests on kept connections
        assert samples[GET200] == made
        assert samples[("web2_request_duration_seconds_count", ())] == made
        assert samples[("web2_response_bytes_total", ())] > 0
        assert samples[("web2_request_bytes_total", ())] > made * len("GET / HTTP/1.1\r\n")
        # Both kept connections (one to each worker, idle now), and the
        # scrape's own.
        samples, _ = _scrapeUntil(port, lambda s: s[CONNECTIONS] == 3)
        assert samples[CONNECTIONS] == 3
        assert [p.name[:13] for p in metricsHome.iterdir()] == ["web2-metrics-"]
        other.close()
        back.close()
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)
    assert list(metricsHome.iterdir()) == []  # the master removed its directory


def test_killedWorkerKeepsItsCountsNotItsGauges(tmp_path):
    """
    SIGKILL a worker that answered requests and holds a connection: after
    its replacement is ready, a scrape still counts its requests (the
    counter does not go back) but no longer its connection.
    """
    with _start(tmp_path) as server:
        port = server.port
        _waitReady(server, 2)
        with _Blocked(port, tmp_path) as blocked:
            victim = _pidOf(port)
            for _ in range(3):
                assert _pidOf(port) == victim
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/")
            assert conn.getresponse().read() == f"pid {victim}".encode()
        assert victim != blocked.pid
        made = 4 + 1 + 1  # /, the held connection's, /block
        before, scrapes = _scrapeUntil(port, lambda s: s[CONNECTIONS] == 2)
        assert before[CONNECTIONS] == 2
        assert before[GET200] == made + scrapes - 1
        os.kill(victim, signal.SIGKILL)
        _waitReady(server, 3)
        after, more = _scrapeUntil(port, lambda s: s[CONNECTIONS] == 1)
        assert after[CONNECTIONS] == 1  # the scrape's own: the held one died
        assert after[GET200] == made + scrapes + more - 1
        assert after[GET200] >= before[GET200]
        conn.close()
        result = server.stop()
    assert result.returncode == 0, result.output


def test_bytesInCountsWhatClientsSent(tmp_path):
    """
    C{web2_request_bytes_total} is every byte the clients sent: heads and
    bodies (one process, raw sockets, exact counts).
    """
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/t=text:hello",
                           "--mount", "/metrics=metrics:"), cwd=tmp_path) as server:
        port = server.port
        sent = (b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
                b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(sent)
            received = b""
            while received.count(b"HTTP/1.1 200") < 2:
                chunk = s.recv(65536)
                assert chunk
                received += chunk
        scrape = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(scrape)
            body = b""
            while chunk := s.recv(65536):
                body += chunk
        line = [x for x in body.decode().splitlines()
                if x.startswith("web2_request_bytes_total ")]
        assert line and float(line[0].split()[1]) == len(sent) + len(scrape)
        result = server.stop()
    assert result.returncode == 0, result.output


def test_reloadKeepsTheCounts(tmp_path):
    """
    SIGHUP replaces both workers: once the old ones are gone, a scrape
    served by the new generation still counts the old one's requests.
    """
    with _start(tmp_path) as server:
        port = server.port
        old = set(_waitReady(server, 2))
        for _ in range(9):
            assert _pidOf(port) in old
        before = _scrape(port)
        assert before[GET200] == 9
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.output.count("old worker") < 2:
            time.sleep(0.05)
        assert server.output.count("old worker") == 2, server.output
        new = set(_waitReady(server, 4)) - old
        assert _pidOf(port) in new
        after = _scrape(port)
        assert after[GET200] == 9 + 1 + 1  # the first scrape and the last request
        result = server.stop()
    assert result.returncode == 0, result.output
