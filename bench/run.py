"""
Side-by-side load benchmarks of web2 against its peers.

    python3 bench/run.py            # the full suite (under 30 minutes)
    python3 bench/run.py --quick    # web2 vs twisted.web, under 3 minutes
    python3 bench/run.py --smoke    # start, query and stop every server once

On a fresh machine it installs what it needs (Debian's wrk, nghttp2-client,
nginx and apache2 through apt-get when run as root; the Python peers into
bench/.venv-peers; web2 into bench/.venv-web2 unless .venvs/dev exists), runs
every server on 127.0.0.1 pinned to CPU 0 with the load generator on CPU 1,
and writes bench/results/<timestamp>.json (every sample, every version) and
.md (tables, ratios to twisted.web) plus one SVG chart per scenario.  See
bench/README.md.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _report, _scenarios, _servers, _setup  # noqa: E402

RESULTS = os.path.join(_servers.BENCH, "results")
DOC = os.path.join(_servers.REPO, "docs", "performance.rst")
DOC_CHARTS = "performance"  # docs/performance/<scenario>.svg, beside the page
DOC_START = ".. bench-results-start"
DOC_END = ".. bench-results-end"


def _say(text):
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def _rotate(items, turn):
    turn %= max(len(items), 1)
    return items[turn:] + items[:turn]


class Budget:
    """
    A wall-clock deadline for the whole run: samples that would start after
    it are skipped and reported as such.
    """

    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def left(self):
        return self.deadline - time.monotonic()


def runScenario(scenario, names, settings, ctx, budget):
    """
    Measure one scenario across C{names}, interleaved round by round.

    @return: the scenario's part of the results document.
    """
    entries = {}
    clock = time.monotonic()
    # web2-base (--base) plays wherever web2 does.
    for name in [n for n in names if n in scenario.servers
                 or (n == "web2-base" and "web2" in scenario.servers)]:
        role = scenario.roleFor(name)
        if role is not None:
            entries[name] = {"role": role, "samples": [], "error": ""}
    out = {"name": scenario.name, "title": scenario.title, "kind": scenario.kind,
           "metric": scenario.metric, "unit": scenario.unit, "better": scenario.better,
           "params": scenario.params, "extra": list(scenario.extra),
           "targets": [list(t) for t in scenario.targets], "servers": entries}  # fmt: skip
    order = list(entries)
    if scenario.kind == "idle":
        for turn in range(settings.memoryRounds):
            for name in _rotate(order, turn):
                _measureFresh(scenario, name, entries[name], turn, settings, ctx, budget)
        out["elapsed_seconds"] = round(time.monotonic() - clock, 1)
        return out
    running = {}
    try:
        for name in order:
            try:
                running[name] = _servers.start(ctx, name, entries[name]["role"],
                                               scenario.readyPath)  # fmt: skip
                _scenarios.warm(scenario, running[name], settings, ctx)
            except Exception as e:
                entries[name]["error"] = f"start: {e}"
                _say(f"{scenario.name}: {name}: {e}")
        for turn in range(settings.rounds):
            for name in _rotate(order, turn):
                if name in running:
                    _measure(scenario, running[name], entries[name], turn, settings,
                             ctx, budget)  # fmt: skip
    finally:
        for r in running.values():
            _servers.stop(r)
    out["elapsed_seconds"] = round(time.monotonic() - clock, 1)
    return out


def _measure(scenario, running, entry, turn, settings, ctx, budget):
    if budget.left() <= 0:
        entry["error"] = entry["error"] or "skipped: time budget spent"
        return
    if running.process.poll() is not None:
        entry["error"] = entry["error"] or "died: " + _servers.tail(running.log, 300)
        return
    try:
        result = _scenarios.sample(scenario, running, settings, ctx)
    except Exception as e:
        entry["error"] = entry["error"] or f"sample: {e}"
        _say(f"{scenario.name}: {running.name}: {e}")
        return
    result["round"] = turn
    entry["samples"].append(result)
    _say(f"{scenario.name:>12} r{turn} {running.name:<18} "
         f"{_report._fmt(result[scenario.metric]):>12} {scenario.unit}")  # fmt: skip


def _measureFresh(scenario, name, entry, turn, settings, ctx, budget):
    if budget.left() <= 0:
        entry["error"] = entry["error"] or "skipped: time budget spent"
        return
    running = None
    try:
        running = _servers.start(ctx, name, entry["role"], scenario.readyPath)
        _scenarios.warm(scenario, running, settings, ctx)
        result = _scenarios.idleSample(scenario, running, settings)
    except Exception as e:
        entry["error"] = entry["error"] or str(e)
        _say(f"{scenario.name}: {name}: {e}")
        return
    finally:
        if running is not None:
            _servers.stop(running)
    result["round"] = turn
    entry["samples"].append(result)
    _say(f"{scenario.name:>12} r{turn} {name:<18} "
         f"{_report._fmt(result[scenario.metric]):>12} {scenario.unit}")  # fmt: skip


def smoke(ctx, names):
    """
    Start every server in every role it has, check it answers, stop it and
    check its processes are gone.

    @return: a C{dict} of C{"name/role"} to C{"ok"} or the failure.
    """
    report = {}
    for name in names:
        for role in _servers.SERVERS[name].roles:
            key = f"{name}/{role}"
            try:
                running = _servers.start(ctx, name, role,
                                         "/1k.bin" if role == "static" else "/")  # fmt: skip
                pids = running.pids()
                _servers.stop(running)
                alive = [p for p in pids if os.path.exists(f"/proc/{p}")]
                report[key] = "ok" if not alive else f"left running: {alive}"
            except Exception as e:
                report[key] = f"failed: {e}"
            _say(f"smoke {key}: {report[key]}")
    return report


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="web2 vs twisted.web on the hot-path scenarios, 2 s samples")
    p.add_argument("--smoke", action="store_true",
                   help="only start and stop each server once (what CI runs)")
    p.add_argument("--servers", help="comma-separated server names")
    p.add_argument("--scenarios", help="comma-separated scenario names")
    p.add_argument("--seconds", type=float, help="seconds per throughput sample")
    p.add_argument("--rounds", type=int, help="interleaved rounds")
    p.add_argument("--budget", type=float, help="seconds for the whole run")
    p.add_argument("--no-install", action="store_true",
                   help="use what is installed; never run apt-get or pip")
    p.add_argument("--web2-python", default=os.environ.get("WEB2_PYTHON"),
                   help="interpreter with web2 installed (default: bench/.venv-web2, "
                   "made and refreshed from the source, compiled)")
    p.add_argument("--web2-via", choices=("python-m", "twistd"), default="python-m",
                   help="launch web2 as `python -m web2` or `twistd -n web2`")
    p.add_argument("--base", metavar="REV",
                   help="also run web2 as of git revision REV (server web2-base, "
                   "compiled), to measure a change against it in the same run")
    p.add_argument("--out", default=RESULTS, help="where results go")
    p.add_argument("--latest", action=argparse.BooleanOptionalAction, default=None,
                   help="also write latest.json/.md, latest/*.svg and refresh "
                   "docs/performance.rst (default: for a full, unfiltered run)")
    p.add_argument("--list", action="store_true", help="list servers and scenarios")
    p.add_argument("--publish", metavar="JSON",
                   help="measure nothing: make latest.* and docs/performance.rst "
                   "from a saved results file")
    return p.parse_args(argv)


def _choose(args):
    settings = _scenarios.Settings()
    scenarios = list(_scenarios.SCENARIOS)
    names = list(_servers.SERVERS)
    if args.quick:
        settings = _scenarios.Settings(seconds=2.0, latencySeconds=4.0, rounds=3,
                                       memoryRounds=1, warmup=0.5)  # fmt: skip
        scenarios = [s for s in scenarios if s.quick]
        names = list(_scenarios.QUICK_SERVERS)
    if args.scenarios:
        scenarios = [_scenarios.BY_NAME[n] for n in args.scenarios.split(",")]
    if args.servers:
        names = [n for n in args.servers.split(",") if n in _servers.SERVERS]
    if args.base and "web2-base" not in names:
        names.insert(names.index("web2") + 1 if "web2" in names else 0, "web2-base")
    elif not args.base and "web2-base" in names:
        names.remove("web2-base")
    if args.seconds:
        settings.seconds = args.seconds
    if args.rounds:
        settings.rounds = args.rounds
        settings.memoryRounds = min(settings.memoryRounds, args.rounds)
    if (os.cpu_count() or 1) < 2:
        settings.loadCPU = None
    budget = args.budget or (170.0 if args.quick else 1740.0)
    return settings, scenarios, names, budget


def _onSignal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.list:
        for s in _servers.SERVERS.values():
            print(f"server   {s.name:<18} roles {','.join(s.roles):<18} {s.notes}")
        for s in _scenarios.SCENARIOS:
            print(f"scenario {s.name:<12} {'quick ' if s.quick else '      '}{s.title}")
        return 0
    if args.publish:
        with open(args.publish) as f:
            doc = json.load(f)
        _write(args.out, "latest", doc)
        return 0 if updateDocs(doc) else 1
    settings, scenarios, names, seconds = _choose(args)
    install = not args.no_install
    missing = _setup.ensureTools(install)
    if "taskset" in missing or "wrk" in missing:
        _say(f"missing {missing}: cannot measure")
        if not args.smoke:
            return 2
    for tool, server in (("nginx", "nginx"), ("apache2", "apache")):
        if tool in missing and server in names:
            names.remove(server)
    peersNeeded = any(_servers.SERVERS[n].uses == "peers" for n in names)
    peersPy = _setup.peersPython(install) if peersNeeded else None
    web2Py = _setup.web2Python(args.web2_python, install)
    purePy = None
    if any(_servers.SERVERS[n].uses == "web2-pure" for n in names):
        purePy = _setup.web2PurePython(install)
    basePy = None
    if "web2-base" in names:
        basePy = _setup.web2BasePython(args.base, install)
    tmp = tempfile.mkdtemp(prefix="web2-bench-")
    ctx = _servers.Context(web2Python=web2Py, peersPython=peersPy or "missing", tmp=tmp,
                           web2PurePython=purePy or "missing",
                           web2BasePython=basePy or "missing",
                           web2Via=args.web2_via,
                           serverCPU="0" if settings.loadCPU else None)  # fmt: skip
    signal.signal(signal.SIGTERM, _onSignal)
    try:
        if args.smoke:
            report = smoke(ctx, names)
            failed = [k for k, v in report.items() if v != "ok"]
            print(f"{len(report) - len(failed)} passed, {len(failed)} failed")
            return 1 if failed else 0
        return _run(args, settings, scenarios, names, seconds, ctx, web2Py, peersPy)
    finally:
        _servers.stopAll()
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args, settings, scenarios, names, seconds, ctx, web2Py, peersPy):
    started = datetime.datetime.now(datetime.UTC)
    purePython = None if ctx.web2PurePython == "missing" else ctx.web2PurePython
    doc = {"started": started.strftime("%Y-%m-%d %H:%M UTC"),
           "mode": "quick" if args.quick else "full",
           "config": {"seconds": settings.seconds, "rounds": settings.rounds,
                      "latencySeconds": settings.latencySeconds,
                      "memoryRounds": settings.memoryRounds,
                      "warmup": settings.warmup, "serverCPU": ctx.serverCPU,
                      "loadCPU": settings.loadCPU, "web2Via": ctx.web2Via,
                      "servers": names},
           "versions": _setup.versions(web2Py, peersPy, purePython), "scenarios": []}  # fmt: skip
    doc["versions"]["web2 interpreter"] = web2Py
    budget = Budget(seconds)
    clock = time.monotonic()
    interrupted = False
    try:
        for scenario in scenarios:
            doc["scenarios"].append(runScenario(scenario, names, settings, ctx, budget))
    except KeyboardInterrupt:
        interrupted = True
        _say("interrupted: writing what was measured")
    doc["elapsed_seconds"] = round(time.monotonic() - clock, 1)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    _write(args.out, stamp, doc)
    full = not (args.quick or args.scenarios or args.servers or interrupted)
    if args.latest if args.latest is not None else full:
        _write(args.out, "latest", doc)
        updateDocs(doc)
    print(_report.markdown(doc) if not args.quick else "")
    print(_report.ratioLine(doc))
    _say(f"done in {doc['elapsed_seconds']} s: {os.path.join(args.out, stamp)}.json")
    return 130 if interrupted else 0


def _write(out, stem, doc):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, stem + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(out, stem + ".md"), "w") as f:
        f.write(_report.markdown(doc))
    charts = os.path.join(out, stem)
    os.makedirs(charts, exist_ok=True)
    for scenario in doc["scenarios"]:
        with open(os.path.join(charts, scenario["name"] + ".svg"), "w") as f:
            f.write(_report.svg(scenario))


def updateDocs(doc, path=DOC):
    """
    Replace the measured part of docs/performance.rst (between the
    C{bench-results-start} and C{-end} comments) with tables from C{doc}.
    """
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return False
    if DOC_START not in text or DOC_END not in text:
        _say(f"{path} has no {DOC_START} / {DOC_END} markers: not updated")
        return False
    head, rest = text.split(DOC_START, 1)
    _, tail = rest.split(DOC_END, 1)
    charts = os.path.join(os.path.dirname(path), DOC_CHARTS)
    shutil.rmtree(charts, ignore_errors=True)
    os.makedirs(charts)
    for scenario in doc["scenarios"]:
        with open(os.path.join(charts, scenario["name"] + ".svg"), "w") as f:
            f.write(_report.svg(scenario))
    body = _report.rst(doc, chartDir=DOC_CHARTS)
    with open(path, "w") as f:
        f.write(f"{head}{DOC_START}\n\n{body}\n{DOC_END}{tail}")
    return True


if __name__ == "__main__":
    sys.exit(main())
