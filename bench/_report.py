"""
Turn a results document (the JSON C{bench/run.py} writes) into tables and
charts: medians with min-max per server, ratios to twisted.web (above 1 is
better than twisted.web, whichever way the metric runs), the targets, a
markdown page, reStructuredText tables for docs/performance.rst and one
hand-written SVG bar chart per scenario.
"""

import html
import statistics

BASELINE = "twisted.web"


def summarize(scenario):
    """
    Per-server statistics of one scenario of a results document.

    @return: a list of C{dict}s (C{server}, C{role}, C{median}, C{min},
        C{max}, C{n}, C{errors}, C{ratio}, C{extra}, C{note}) in the
        scenario's server order.
    """
    metric = scenario["metric"]
    rows = []
    for name, entry in scenario["servers"].items():
        values = [s[metric] for s in entry["samples"] if metric in s]
        row = {"server": name, "role": entry.get("role"), "n": len(values),
               "errors": sum(s.get("errors", 0) for s in entry["samples"]),
               "note": entry.get("error", ""), "extra": {}}  # fmt: skip
        if values:
            row.update(median=statistics.median(values), min=min(values), max=max(values))
            for key in scenario.get("extra", ()):
                got = [s[key] for s in entry["samples"] if key in s]
                if got:
                    row["extra"][key] = statistics.median(got)
        rows.append(row)
    base = {r["server"]: r.get("median") for r in rows}
    for row in rows:
        row["ratio"] = ratio(scenario, row.get("median"), base.get(BASELINE))
    return rows


def ratio(scenario, value, reference):
    """
    How many times better C{value} is than C{reference}: C{value/reference}
    for a higher-is-better metric, C{reference/value} for a lower-is-better
    one; C{None} when either is missing or zero.
    """
    if not value or not reference or value <= 0 or reference <= 0:
        return None
    if scenario.get("better", "higher") == "higher":
        return value / reference
    return reference / value


def targets(scenario):
    """
    The scenario's targets with the measured ratio and whether it is met.

    A target is C{(server, reference, wanted)} on the scenario's metric, or
    C{(server, reference, ceiling, key)} on the extra figure C{key}, a cost
    such as C{cpu_us_per_req}: C{server}'s must be at most C{ceiling} times
    C{reference}'s.
    """
    rows = summarize(scenario)
    medians = {r["server"]: r.get("median") for r in rows}
    out = []
    for server, reference, wanted, *key in scenario.get("targets", ()):
        lower = scenario.get("better", "higher") == "lower"
        if key:
            values = {r["server"]: r["extra"].get(key[0]) for r in rows}
            mine, theirs = values.get(server), values.get(reference)
            got = mine / theirs if mine and theirs else None
            met = None if got is None else got <= wanted
            out.append({"scenario": scenario["name"], "server": server,
                        "reference": reference, "wanted": wanted, "got": got,
                        "met": met, "lower": True, "key": key[0]})  # fmt: skip
            continue
        if reference is None:
            # An absolute bound on the metric itself (a memory ceiling).
            got = medians.get(server)
            met = None if got is None else (got <= wanted if lower else got >= wanted)
        else:
            got = ratio(scenario, medians.get(server), medians.get(reference))
            met = None if got is None else got >= wanted
        out.append({"scenario": scenario["name"], "server": server,
                    "reference": reference, "wanted": wanted, "got": got,
                    "met": met, "lower": lower})  # fmt: skip
    return out


def _fmt(value):
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value else "0"


def _cells(scenario):
    header = ["server", f"median {scenario['unit']}", "min-max",
              f"x {BASELINE}"] + list(scenario.get("extra", ())) + ["n", "errors"]  # fmt: skip
    body = []
    for r in summarize(scenario):
        if "median" not in r:
            body.append([r["server"], "failed", r["note"][:60].replace("|", "/")]
                        + [""] * (len(header) - 3))  # fmt: skip
            continue
        body.append(
            [r["server"] + ("" if r["role"] in (None, "hello") else f" ({r['role']})"),
             _fmt(r["median"]), f"{_fmt(r['min'])}-{_fmt(r['max'])}",
             "-" if r["ratio"] is None else f"{r['ratio']:.2f}"]
            + [_fmt(r["extra"].get(k)) for k in scenario.get("extra", ())]
            + [str(r["n"]), str(r["errors"])]
        )  # fmt: skip
    return header, body


def _targetRows(doc):
    rows = []
    for scenario in doc["scenarios"]:
        for t in targets(scenario):
            got = "-" if t["got"] is None else f"{t['got']:.2f}"
            met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
            if t.get("key"):
                what = f"{t['server']} / {t['reference']} {t['key']}"
                bound = f"<= {t['wanted']}"
            elif t["reference"] is None:
                what = f"{t['server']} {scenario['metric']}"
                bound = f"{'<=' if t['lower'] else '>='} {t['wanted']}"
            else:
                what = f"{t['server']} / {t['reference']}"
                bound = f">= {t['wanted']}"
            rows.append([t["scenario"], what, bound, got, met])  # fmt: skip
    return ["scenario", "ratio", "target", "measured", "status"], rows


def markdown(doc):
    """
    The whole results document as a markdown page.
    """
    lines = [f"# web2 benchmark, {doc['started']} ({doc['mode']} mode)", "",
             _settingsLine(doc), "",
             f"Ratios: times better than {BASELINE} (above 1 is better).", ""]  # fmt: skip
    for scenario in doc["scenarios"]:
        header, body = _cells(scenario)
        lines += [f"## {scenario['title']}", "", _mdRow(header),
                  _mdRow(["---"] * len(header))]  # fmt: skip
        lines += [_mdRow(row) for row in body] + [""]
    header, body = _targetRows(doc)
    if body:
        lines += ["## Targets", "", _mdRow(header), _mdRow(["---"] * len(header))]
        lines += [_mdRow(row) for row in body] + [""]
    lines += ["## Versions", ""] + [f"- {k}: {v}" for k, v in doc["versions"].items()]
    return "\n".join(lines) + "\n"


def _settingsLine(doc):
    c = doc["config"]
    return (f"{c['rounds']} rounds interleaved, {c['seconds']} s per throughput "
            f"sample, servers on CPU {c['serverCPU']}, load on CPU {c['loadCPU']}; "
            f"commit {doc['versions'].get('web2 commit', '?')}.")  # fmt: skip


def _mdRow(cells):
    return "| " + " | ".join(cells) + " |"


def rst(doc, chartDir=None):
    """
    reStructuredText for docs/performance.rst: the targets and one table
    (and chart, when C{chartDir} is given) per scenario.
    """
    versions = "; ".join(f"{k} {v}" for k, v in doc["versions"].items()
                         if k not in ("web2 interpreter", "python (harness)"))  # fmt: skip
    out = [f"Measured {doc['started']} ({doc['mode']} mode). " + _settingsLine(doc),
           "", f"Versions: {versions}.", ""]  # fmt: skip
    header, body = _targetRows(doc)
    if body:
        out += ["Targets", "~~~~~~~", ""] + _rstTable(header, body)
    for scenario in doc["scenarios"]:
        out += [scenario["title"], "~" * len(scenario["title"]), ""]
        if chartDir:
            out += [f".. image:: {chartDir}/{scenario['name']}.svg",
                    f"   :alt: {scenario['title']}", ""]  # fmt: skip
        out += _rstTable(*_cells(scenario))
    return "\n".join(out) + "\n"


def _rstTable(header, body):
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + body:
        out.append("   * - " + (row[0] or ".."))
        out += ["     - " + (cell or "..") for cell in row[1:]]
    return out + [""]


def svg(scenario):
    """
    A horizontal bar chart of one scenario: a bar per server at its median,
    a whisker from min to max, the ratio to twisted.web at the end.
    """
    rows = [r for r in summarize(scenario) if "median" in r]
    width, left, barH, gap, top = 720, 170, 22, 10, 40
    height = top + len(rows) * (barH + gap) + 30
    scale = max([r["max"] for r in rows] + [1e-9])
    plot = width - left - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">'
        f"{html.escape(scenario['title'])}</text>",
    ]
    for i, r in enumerate(rows):
        y = top + i * (barH + gap)
        colour = "#d9534f" if r["server"] == "web2" else (
            "#5b7fb5" if r["server"] != BASELINE else "#7a7a7a")  # fmt: skip
        w = r["median"] / scale * plot
        lo, hi = left + r["min"] / scale * plot, left + r["max"] / scale * plot
        mid = y + barH / 2
        ratioText = "" if r["ratio"] is None else f"  x{r['ratio']:.2f}"
        parts += [
            f'<text x="{left - 8}" y="{mid + 4}" text-anchor="end">'
            f"{html.escape(r['server'])}</text>",
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{barH}" fill="{colour}"/>',
            f'<line x1="{lo:.1f}" y1="{mid}" x2="{hi:.1f}" y2="{mid}" stroke="black"/>',
            f'<line x1="{lo:.1f}" y1="{mid - 5}" x2="{lo:.1f}" y2="{mid + 5}" stroke="black"/>',
            f'<line x1="{hi:.1f}" y1="{mid - 5}" x2="{hi:.1f}" y2="{mid + 5}" stroke="black"/>',
            f'<text x="{max(hi, left + w) + 6:.1f}" y="{mid + 4}">'
            f"{_fmt(r['median'])}{ratioText}</text>",
        ]
    better = "higher" if scenario.get("better", "higher") == "higher" else "lower"
    parts.append(
        f'<text x="10" y="{height - 8}" fill="#555" font-size="11">'
        f'{html.escape(scenario["unit"])} ({better} is better). Bar: median; '
        f"whisker: min-max; xN: N times better than {BASELINE}.</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def ratioLine(doc):
    """
    One line per scenario with the web2 / twisted.web ratio (quick mode).
    """
    lines = []
    for scenario in doc["scenarios"]:
        rows = {r["server"]: r for r in summarize(scenario)}
        if BASELINE not in rows:  # the --workers scenarios: see their targets
            continue
        web2 = rows.get("web2", {})
        got = web2.get("ratio")
        want = [t for t in scenario.get("targets", ()) if t[1] == BASELINE and len(t) == 3]
        goal = f" (target {want[0][2]})" if want else ""
        text = "failed: " + web2.get("note", "")[:70] if got is None else f"{got:.2f}"
        lines.append(f"{scenario['name']:>12}: web2/{BASELINE} = {text}{goal}")
    return "\n".join(lines)
