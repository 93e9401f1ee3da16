"""
Differential fuzzing of L{web2._wire.RequestReader} against h11 (issue #14).

The fuzzer is in C{_wire_differential} (the drivers and the comparison),
C{_wire_corpus} (the inputs) and C{_wire_known_differences} (the table of
deliberate differences); these tests run it:

  - a short run of L{SHORT} seeded inputs, in every test run;
  - one example per rule of the table, showing its difference, so that a
    rule whose difference is gone (web2 or h11 changed) is noticed, and
    near misses that both parsers must accept alike;
  - the checker's check: copies of the wire package built from source with
    one small mistake each (a bare LF taken as a line end, the method
    lower-cased, ...), each of which the short run's inputs must catch;
  - the long run, C{make fuzz}: C{WEB2_FUZZ_INPUTS} selects it, and
    C{WEB2_FUZZ_SEED} and C{WEB2_FUZZ_JOBS} set its seed and processes.
"""

import importlib
import importlib.util
import itertools
import os
import shutil
import sys

import pytest

pytest.importorskip("h11", reason="h11 is in tests/requirements.txt")

import _wire_differential as differential  # noqa: E402
from _wire_corpus import makeCase  # noqa: E402
from _wire_differential import compare, fuzz, runH11, runWeb2  # noqa: E402
from _wire_known_differences import (  # noqa: E402
    ACCEPTS,
    KNOWN_DIFFERENCES,
    PERSISTS,
    REFUSES,
    dissect,
)

#: The seed and size of the run in every test run.
SEED = 14
SHORT = 4000


def test_shortRun():
    """
    A few thousand seeded inputs: web2 and h11 agree on each, or a known
    rule explains the difference, and no request both accept breaks a rule.
    """
    report = fuzz(SEED, SHORT)
    assert not report.failures, "\n\n".join(report.failures)
    # The corpus reaches both sides: many inputs both accept, and many that
    # only known rules explain.
    assert report.agreed - report.refused > SHORT // 4
    assert sum(report.explained.values()) > SHORT // 20


def request(*lines: bytes, body: bytes = b"") -> bytes:
    """
    A request head of C{lines}, each ended with CRLF, then C{body}.
    """
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n" + body


GET = (b"GET / HTTP/1.1", b"Host: h")
CHUNKED = (b"POST / HTTP/1.1", b"Host: h", b"Transfer-Encoding: chunked")

#: One input per rule, showing its difference.
EXAMPLES = {
    "bare LF line end": b"GET / HTTP/1.1\nHost: h\n\n",
    "obs-fold": request(*GET, b"X: a", b" b"),
    "control character in a field value": request(*GET, b"X: a\x01b"),
    "request-target form": request(b"GET * HTTP/1.1", b"Host: h"),
    "invalid Host value": request(b"GET / HTTP/1.1", b"Host: a b"),
    "Content-Length with Transfer-Encoding": request(
        *CHUNKED, b"Content-Length: 3", body=b"0\r\n\r\n"
    ),
    "Transfer-Encoding in HTTP/1.0": request(
        b"POST / HTTP/1.0", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"
    ),
    "HTTP major version other than 1": request(b"GET / HTTP/2.0", b"Host: h"),
    "HTTP/1.x (x > 1) without Host": request(b"GET / HTTP/1.2"),
    "unsupported expectation": request(*GET, b"Expect: x"),
    "chunk extension outside the grammar": request(
        *CHUNKED, body=b"1;a b\r\nx\r\n0\r\n\r\n"
    ),
    "chunk size over 16 hex digits": request(
        *CHUNKED, body=b"00000000000000001\r\nx\r\n0\r\n\r\n"
    ),
    "whitespace at the end of a chunk-size line": request(
        *CHUNKED, body=b"1 \r\nx\r\n0\r\n\r\n"
    ),
    "framing or routing field as a trailer": request(
        *CHUNKED, body=b"0\r\nHost: x\r\n\r\n"
    ),
    "Content-Length over 18 digits": request(
        *GET, b"Content-Length: 0000000000000000001", body=b"x"
    ),
    "empty lines before a request line": b"\r\n" + request(*GET),
    "empty elements in the Transfer-Encoding list": request(
        b"POST / HTTP/1.1",
        b"Host: h",
        b"Transfer-Encoding: chunked,",
        body=b"0\r\n\r\n",
    ),
    "equal Content-Length values written differently": request(
        *GET, b"Content-Length: 1, 01", body=b"x"
    ),
    "HTTP/1.0 keep-alive": request(b"GET / HTTP/1.0", b"Connection: keep-alive")
    + request(b"GET / HTTP/1.0"),
}


def test_everyRuleHasAnExample():
    """
    The examples cover the table exactly.
    """
    assert set(EXAMPLES) == {rule.name for rule in KNOWN_DIFFERENCES}


@pytest.mark.parametrize("rule", KNOWN_DIFFERENCES, ids=lambda rule: rule.name)
def test_ruleExample(rule):
    """
    The rule's example makes a difference of the rule's kind, and that
    rule's predicate, no other, recognises it.
    """
    data = EXAMPLES[rule.name]
    ours, other = runWeb2(data, ()), runH11(data, ())
    verdict = compare(data, ours, other)
    assert verdict.failure is None, (verdict.failure, ours, other)
    assert verdict.rule == rule.name
    if rule.kind == REFUSES:
        assert ours.end == "error" and other.requests
    elif rule.kind == ACCEPTS:
        assert other.end == "error" and ours.requests
    else:
        assert rule.kind == PERSISTS
        assert len(ours.requests) > len(other.requests)
    matching = [r.name for r in KNOWN_DIFFERENCES if r.predicate(dissect(data, 0))]
    assert matching == [rule.name]


#: Near misses of the rules' classes, which both accept alike.
REPAIRED = [
    request(*GET),
    request(*GET, b"X: a b"),
    request(b"OPTIONS * HTTP/1.1", b"Host: h"),
    request(b"CONNECT h:443 HTTP/1.1", b"Host: h"),
    request(b"GET http://h:80/x HTTP/1.1", b"Host: h"),
    request(b"GET / HTTP/1.2", b"Host: h", b"Expect: 100-continue"),
    request(
        *CHUNKED,
        body=b'1;a=b;c="d e"\r\nx\r\n0000000000000001\r\ny\r\n0\r\nX: t\r\n\r\n',
    ),
    request(*GET, b"Content-Length: 000000000000000001", body=b"x"),
    request(*GET, b"Content-Length: 1, 1", body=b"x"),
    request(b"GET / HTTP/1.0", b"Connection: close"),
]


@pytest.mark.parametrize("data", REPAIRED)
def test_repaired(data):
    """
    Each near miss is accepted alike by both, and no rule claims it.
    """
    ours, other = runWeb2(data, ()), runH11(data, ())
    assert ours.end == other.end == "closed" and ours.requests
    assert ours == other
    assert compare(data, ours, other).rule is None
    assert compare(data, ours, other).failure is None


def test_splitPointsChangeNothing():
    """
    The drivers give the same outcome for an input whole and fed byte by
    byte.
    """
    data = EXAMPLES["HTTP/1.0 keep-alive"] + EXAMPLES["obs-fold"]
    everywhere = tuple(range(1, len(data)))
    assert runWeb2(data, ()) == runWeb2(data, everywhere)
    assert runH11(data, ()) == runH11(data, everywhere)


# Mistakes a reader could make, each a small edit of web2._wire's source:
# (module, text, replacement).  The fuzzer must catch each in the short
# run's inputs.
MUTANTS = {
    "bare LF taken as a line end": [
        ("_abnf", r'rb"(?<!\r)\n|\r[^\n]"', r'rb"\r[^\n]"'),
        ("_abnf", r'\r\n", re.MULTILINE', r'\r?\n", re.MULTILINE'),
    ],
    "method lower-cased": [
        ("_head", "parsed = (method, target,", "parsed = (method.lower(), target,"),
    ],
    "only SP stripped after a value": [
        ("_fields", 'value.rstrip(b" \\t")', 'value.rstrip(b" ")'),
    ],
    "Connection: close ignored in HTTP/1.1": [
        ("_head", 'keep_alive = token != b"close"', "keep_alive = True"),
    ],
    "Content-Length with Transfer-Encoding taken": [
        (
            "_head",
            'raise ProtocolError(400, "both Transfer-Encoding and Content-Length")',
            "pass",
        ),
    ],
    "trailers dropped": [
        (
            "_body",
            "return EndOfRequest(trailers), end + 4",
            "return EndOfRequest([]), end + 4",
        ),
    ],
    "chunk data end not checked": [
        ("_body", "if buf[pos] != 13 or buf[pos + 1] != 10:", "if False:"),
    ],
    "five empty lines skipped": [
        ("_reader", "MAX_EMPTY_LINES = 4", "MAX_EMPTY_LINES = 5"),
    ],
    "chunk size of 17 digits": [
        ("_abnf", "{1,16}", "{1,17}"),
    ],
    "differing Content-Length values taken": [
        ("_head", "if len(lengths) != 1:", "if not lengths:"),
    ],
    "HTTP/1.1 without Host taken": [
        (
            "_head",
            """        if version == (1, 1):
            raise ProtocolError(400, "missing Host header")
""",
            "",
        ),
    ],
    "HTTP/1.0 Transfer-Encoding taken": [
        (
            "_head",
            'raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request")',
            "pass",
        ),
    ],
}

_serial = itertools.count()


@pytest.fixture
def mutantWire(tmp_path, monkeypatch):
    """
    A function that builds a copy of C{web2._wire} from its source with the
    given edits and imports it under a new name.
    """
    source = importlib.util.find_spec("web2._wire").submodule_search_locations[0]
    names = []

    def build(edits):
        name = f"mutant_wire_{next(_serial)}"
        package = tmp_path / name
        package.mkdir()
        for path in os.listdir(source):
            if path.endswith(".py"):
                shutil.copy(os.path.join(source, path), package / path)
        for module, text, replacement in edits:
            path = package / f"{module}.py"
            code = path.read_text()
            assert code.count(text) == 1, (module, text)
            path.write_text(code.replace(text, replacement))
        monkeypatch.syspath_prepend(str(tmp_path))
        names.append(name)
        return importlib.import_module(name)

    yield build
    for module in list(sys.modules):
        if module.split(".")[0] in names:
            del sys.modules[module]


def test_unalteredCopyPasses(mutantWire):
    """
    The copy of the wire package, without edits, passes: what catches the
    mutants below is their edit, not the copying.
    """
    report = differential.runRange(SEED, 0, 500, wire=mutantWire([]))
    assert not report.failures, report.failures[0]


@pytest.mark.parametrize("name", MUTANTS)
def test_mutantCaught(mutantWire, name):
    """
    The fuzzer reports a failure for a reader with this mistake.
    """
    wire = mutantWire(MUTANTS[name])
    for index in range(SHORT):
        verdict = differential.checkCase(makeCase(SEED, index), wire)
        if verdict.failure:
            return
    pytest.fail(f"{name}: not caught in {SHORT} inputs")


@pytest.mark.skipif(
    not os.environ.get("WEB2_FUZZ_INPUTS"), reason="the long run: set WEB2_FUZZ_INPUTS"
)
def test_longRun():
    """
    The long run: C{WEB2_FUZZ_INPUTS} inputs of seed C{WEB2_FUZZ_SEED}
    (default L{SEED}) in C{WEB2_FUZZ_JOBS} processes (default: one per
    CPU).  Prints how many inputs each rule explained.
    """
    count = int(os.environ["WEB2_FUZZ_INPUTS"])
    seed = int(os.environ.get("WEB2_FUZZ_SEED", SEED))
    jobs = int(os.environ.get("WEB2_FUZZ_JOBS") or differential.defaultJobs())
    report = fuzz(seed, count, jobs, keep=20)
    print(f"\nseed {seed}, {jobs} processes\n{report.summary()}")
    assert not report.failures, "\n\n".join(report.failures)
