"""
Load generators: wrk for throughput (keep-alive, pipelined, close, static,
WSGI) and h2load in HTTP/1.1 mode for latency at a fixed offered rate.  Each
run is pinned to the load CPU and bounded by a wall-clock timeout.
"""

import json
import os
import subprocess
import tempfile

_WRK_SCRIPT = """\
-- Written by bench/_loadgen.py for one wrk run.
local depth = {depth}
local path = "{path}"
{close}
local pipelined = nil
init = function(args)
    if depth > 1 then
        local parts = {{}}
        for i = 1, depth do parts[i] = wrk.format(nil, path) end
        pipelined = table.concat(parts)
    end
end
if depth > 1 then
    request = function() return pipelined end
end
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'WRKJSON {{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
        '"connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
        '"status_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, ' ..
        '"mean_us": %.1f}}\\n',
        summary.requests, summary.duration, summary.bytes, e.connect, e.read,
        e.write, e.status, e.timeout, latency:percentile(50),
        latency:percentile(99), latency.mean))
end
"""


def _prefix(cpu):
    return ["taskset", "-c", cpu] if cpu is not None else []


def wrk(url, path, connections, seconds, depth=1, close=False, cpu="1", tmp=None):
    """
    Run wrk with one thread for C{seconds} and return its summary.

    @return: a C{dict} with C{rps}, C{mbps}, C{requests}, C{errors} (all
        socket and non-2xx/3xx errors added up), C{p50_ms} and C{p99_ms}
        (wrk's latency, which undercounts under saturation: see the latency
        scenario for a fixed-rate measurement).
    """
    script = _WRK_SCRIPT.format(
        depth=depth,
        path=path,
        close='wrk.headers["Connection"] = "close"' if close else "",
    )
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=tmp, delete=False) as f:
        f.write(script)
    try:
        argv = _prefix(cpu) + [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
            "-s", f.name, url + path,
        ]  # fmt: skip
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 30
        )
    finally:
        os.unlink(f.name)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line[len("WRKJSON ") :])
            break
    else:
        raise RuntimeError(f"wrk gave no summary: {done.stdout[-500:]} {done.stderr[-500:]}")
    seconds_measured = raw["duration_us"] / 1e6 or 1.0
    errors = sum(raw[k] for k in raw if k.endswith("_errors") or k == "timeouts")
    return {
        "rps": raw["requests"] / seconds_measured,
        "mbps": raw["bytes"] / seconds_measured / 1e6,
        "requests": raw["requests"],
        "errors": errors,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "raw": raw,
    }


def h2loadRate(url, rate, clients, seconds, cpu="1", tmp=None):
    """
    Offer C{rate} requests per second over C{clients} HTTP/1.1 connections
    for C{seconds} with h2load, and return latency percentiles computed from
    its per-request log.

    @return: a C{dict} with C{p50_ms}, C{p90_ms}, C{p99_ms}, C{max_ms},
        C{achieved_rps}, C{requests} and C{errors} (non-2xx plus requests
        that did not complete).
    """
    perClient = max(1, round(rate / clients))
    seconds = max(1, round(seconds))
    with tempfile.NamedTemporaryFile("w", suffix=".log", dir=tmp, delete=False) as f:
        log = f.name
    try:
        argv = _prefix(cpu) + [
            "h2load", "--h1", "-t1", f"-c{clients}", f"--rps={perClient}",
            f"-D{seconds}", "--warm-up-time=1", f"--log-file={log}", url,
        ]  # fmt: skip
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 30
        )
        durations, bad = [], 0
        with open(log) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    if not parts[1].startswith("2"):
                        bad += 1
                    durations.append(int(parts[2]) / 1000.0)
    finally:
        os.unlink(log)
    if not durations:
        raise RuntimeError(f"h2load logged no request: {done.stdout[-800:]}")
    durations.sort()
    failed = _h2loadFailed(done.stdout)
    return {
        "p50_ms": percentile(durations, 50),
        "p90_ms": percentile(durations, 90),
        "p99_ms": percentile(durations, 99),
        "max_ms": durations[-1],
        "achieved_rps": len(durations) / seconds,
        "requests": len(durations),
        "errors": bad + failed,
        "offered_rps": perClient * clients,
    }


def _h2loadFailed(stdout):
    for line in stdout.splitlines():
        if line.startswith("requests:"):
            words = line.replace(",", "").split()
            try:
                return int(words[words.index("failed") - 1]) + int(
                    words[words.index("errored") - 1]
                )
            except (ValueError, IndexError):
                return 0
    return 0


def percentile(ordered, p):
    """
    The C{p}th percentile (nearest rank) of an ascending list.
    """
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
