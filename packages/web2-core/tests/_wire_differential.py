"""
Differential fuzzing of L{web2._wire.RequestReader} against h11 (issue #14).

The same input (bytes, the points where they are split into C{receive()}
calls, then the end of input) goes to web2's reader and to an
C{h11.Connection(our_role=h11.SERVER)}.  Each run is reduced to an
L{Outcome}: the requests parsed in full, in order, and how the connection
ended (C{"closed"} or C{"error"}).  The outcomes must be equal, or the
first request where they differ must be explained by a rule of
C{KNOWN_DIFFERENCES} (in C{_wire_known_differences}).

The rules of the comparison:

  1. A request is C{(method, target, version, fields, body, trailers,
     keep-alive)}: names lower-cased, values without surrounding
     whitespace, the body joined.  Error statuses and messages are not
     compared, only whether a request was accepted.
  2. web2's fields are put in h11's canonical form first (L{canonicalHeaders}:
     h11 keeps one Content-Length field with one element, and lower-cases
     Transfer-Encoding), and h11's HTTP/1.x version with x > 1 is C{(1, 1)}
     as web2's is (RFC 9110 section 2.5).
  3. h11 reads the next pipelined request only once the current one is
     answered: L{runH11} answers each at once (404, empty, which also
     declines any protocol switch) and starts the next cycle.  Both drivers
     stop after a request without keep-alive.
  4. web2 is driven as the channel can drive it (L{runWeb2}'s modes): every
     event, C{end_empty_body()} for bodiless requests, or C{discard_body()}
     after each head (the body is then not compared).
  5. A rule explains a difference of its kind (web2 refuses a request h11
     accepts; web2 accepts one h11 refuses; both accept it and only web2
     keeps the connection) when its predicate holds for the request where
     the outcomes first differ.  And every request both accept alike is
     checked against every predicate: a rule that matches it is wrong, or
     web2 has stopped doing what the rule says.  So the table cannot hide a
     reader that became more lenient where h11 is lenient too.

Inputs come from C{_wire_corpus.makeCase(seed, index)}, the same on every
run; a failure names its case.  L{checkCase} checks one input, L{fuzz} a
numbered range of them, in several processes if asked.  The tests are in
C{test_wire_differential.py}; C{make fuzz} runs a million inputs.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import h11
from _wire_corpus import Case, makeCase
from _wire_known_differences import (
    ACCEPTS,
    KNOWN_DIFFERENCES,
    PERSISTS,
    REFUSES,
    View,
    dissect,
)

import web2._wire

# --------------------------------------------------------------------------
# Outcomes and the two drivers
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    """
    What one parser made of one input.

    @ivar requests: the requests parsed in full, as normalized tuples
        C{(method, target, version, headers, body, trailers, keep_alive)}.
    @ivar end: C{"closed"} (end of input at a boundary, or after a request
        without keep-alive), C{"error"}, or C{"stuck"} (more data wanted
        after the end of input: a driver or parser bug).
    @ivar reason: the error message, for reports.
    """

    requests: list = field(default_factory=list)
    end: str = "closed"
    reason: str = ""


def pieces(data: bytes, cuts: tuple) -> list[bytes]:
    """
    C{data} split at C{cuts} (sorted offsets inside it).
    """
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def canonicalHeaders(headers) -> tuple:
    """
    web2's header fields in h11's canonical form: only the first
    Content-Length field, holding the first element of its list (h11
    collapses a list of equal lengths), and the Transfer-Encoding value
    lower-cased.
    """
    out = []
    seenLength = False
    for name, value in headers:
        if name == b"content-length":
            if seenLength:
                continue
            seenLength = True
            value = value.split(b",")[0].strip(b" \t")
        elif name == b"transfer-encoding":
            value = value.lower()
        out.append((name, value))
    return tuple(out)


def runWeb2(data: bytes, cuts: tuple, wire=web2._wire, mode: str = "events") -> Outcome:
    """
    Feed C{data} to a web2 reader in the pieces C{cuts} gives, then the end
    of input, taking every event after each piece.

    @param wire: the package whose C{RequestReader} to run: L{web2._wire},
        or a copy built from altered source, to check the checker.
    @param mode: how the channel takes each request, as the channel can:
        C{"events"} (every event from C{next_event()}), C{"shortcut"}
        (C{end_empty_body()} for a request without a body) or C{"discard"}
        (C{discard_body()} after each head; the body is then C{None}).
    """
    NEED_DATA, CLOSED = wire.NEED_DATA, wire.CLOSED
    RequestHead, BodyData = wire.RequestHead, wire.BodyData
    reader = wire.RequestReader()
    outcome = Outcome()
    head = None
    body: list[bytes] = []

    def done(trailers) -> None:
        data = None if mode == "discard" and not body else b"".join(body)
        outcome.requests.append(
            (
                head.method.encode("latin-1"),
                head.target.encode("latin-1"),
                head.version,
                canonicalHeaders(head.headers),
                data,
                tuple(trailers),
                head.keep_alive,
            )
        )

    try:
        for piece in [*pieces(data, cuts), None]:
            if piece is None:
                reader.receive_eof()
            else:
                reader.receive(piece)
            while True:
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                if event is CLOSED:
                    return outcome
                kind = type(event)
                if kind is RequestHead:
                    head = event
                    body = []
                    if mode == "discard":
                        reader.discard_body()
                    elif mode == "shortcut" and not (
                        head.chunked or head.content_length
                    ):
                        reader.end_empty_body()
                        done([])
                elif kind is BodyData:
                    body.append(event.data)
                else:
                    assert kind is wire.EndOfRequest, event
                    done(event.trailers)
    except wire.ProtocolError as error:
        outcome.end = "error"
        outcome.reason = str(error)
        return outcome
    outcome.end = "stuck"
    return outcome


def h11Version(version: bytes) -> tuple[int, int]:
    """
    h11's version string as web2's tuple; 1.x with x > 1 is 1.1.
    """
    major, minor = int(version[:1]), int(version[2:3])
    if major == 1 and minor > 1:
        minor = 1
    return (major, minor)


_ANSWER = h11.Response(status_code=404, headers=[(b"content-length", b"0")])
_ANSWER_END = h11.EndOfMessage()


def runH11(data: bytes, cuts: tuple) -> Outcome:
    """
    Feed C{data} to an h11 server connection in the same pieces, answering
    each request as soon as it ends so that the next pipelined one is read.
    """
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 30)
    outcome = Outcome()
    request = None
    body: list[bytes] = []
    try:
        for piece in [*pieces(data, cuts), b""]:
            conn.receive_data(piece)
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    break
                kind = type(event)
                if kind is h11.Request:
                    request = event
                    body = []
                elif kind is h11.Data:
                    body.append(bytes(event.data))
                elif kind is h11.EndOfMessage:
                    conn.send(_ANSWER)
                    conn.send(_ANSWER_END)
                    keepAlive = conn.our_state is h11.DONE
                    outcome.requests.append(
                        (
                            bytes(request.method),
                            bytes(request.target),
                            h11Version(request.http_version),
                            tuple(request.headers),
                            b"".join(body),
                            tuple(event.headers),
                            keepAlive,
                        )
                    )
                    if not keepAlive:
                        return outcome
                    conn.start_next_cycle()
                elif kind is h11.ConnectionClosed:
                    return outcome
                else:  # PAUSED: every request is answered at once
                    outcome.end = "stuck"
                    return outcome
    except h11.RemoteProtocolError as error:
        outcome.end = "error"
        outcome.reason = str(error)
        return outcome
    outcome.end = "stuck"
    return outcome


# --------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------


@dataclass
class Verdict:
    """
    The result of one input.

    @ivar rule: the name of the known difference that explains it, or
        C{None} when the parsers agreed (or nothing explains it).
    @ivar failure: what is wrong, when nothing explains it.
    @ivar refused: both parsers refused the input.
    """

    rule: str | None = None
    failure: str | None = None
    refused: bool = False


def kindAt(ours: Outcome, other: Outcome, k: int) -> str | None:
    """
    The kind of the difference at request C{k} (the first that differs),
    or C{None} if it is none of the kinds a rule can explain.
    """
    w = ours.requests[k] if k < len(ours.requests) else None
    h = other.requests[k] if k < len(other.requests) else None
    if w is None and ours.end == "error" and (h is not None or other.end != "error"):
        return REFUSES
    if h is None and other.end == "error" and (w is not None or ours.end != "error"):
        return ACCEPTS
    if w is not None and h is not None and w[:-1] == h[:-1] and w[-1] and not h[-1]:
        return PERSISTS
    return None


def _viewMatches(view: View, request: tuple) -> bool:
    return view.end is not None and (view.method, view.target) == request[:2]


def compare(data: bytes, ours: Outcome, other: Outcome) -> Verdict:
    """
    Compare web2's and h11's outcomes of C{data} (see the module docstring).
    """
    agreed = 0
    common = min(len(ours.requests), len(other.requests))
    while agreed < common and ours.requests[agreed] == other.requests[agreed]:
        agreed += 1
    pos = 0
    for index in range(agreed):
        view = dissect(data, pos)
        if not _viewMatches(view, ours.requests[index]):
            return Verdict(failure=f"the view lost track of request {index}: {view}")
        for rule in KNOWN_DIFFERENCES:
            if rule.predicate(view):
                return Verdict(
                    failure=f"request {index} was accepted alike by both, but "
                    f"rule {rule.name!r} says {rule.kind}"
                )
        pos = view.end
    if ours.requests == other.requests and ours.end == other.end:
        return Verdict()
    kind = kindAt(ours, other, agreed)
    if kind is not None:
        view = dissect(data, pos)
        for rule in KNOWN_DIFFERENCES:
            if rule.kind == kind and rule.predicate(view):
                return Verdict(rule=rule.name)
    return Verdict(
        failure=f"unexplained difference at request {agreed} ({kind or 'other'})"
    )


def checkCase(case: Case, wire=web2._wire) -> Verdict:
    """
    Run one input through both parsers and compare.

    @param wire: the package whose reader to run (see L{runWeb2}).
    """
    ours = runWeb2(case.data, case.cuts, wire, case.mode)
    other = runH11(case.data, case.cuts)
    if case.mode == "discard":
        other.requests = [(*r[:4], None, *r[5:]) for r in other.requests]
    verdict = compare(case.data, ours, other)
    verdict.refused = ours.end == other.end == "error"
    if verdict.failure:
        verdict.failure += (
            f"\n  case {case.seed}:{case.index} mode={case.mode} cuts={case.cuts}"
            f"\n  {case.data!r}\n  web2: {ours}\n  h11:  {other}"
        )
    return verdict


# --------------------------------------------------------------------------
# Running many
# --------------------------------------------------------------------------


@dataclass
class Report:
    """
    The results of a run.

    @ivar agreed: inputs on which the parsers agreed, C{refused} of them
        refused by both.
    @ivar explained: how many inputs each rule explained, by name.
    @ivar failed: inputs nothing explained; C{failures} describes the first.
    """

    inputs: int = 0
    agreed: int = 0
    refused: int = 0
    explained: Counter = field(default_factory=Counter)
    failed: int = 0
    failures: list = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: Report, keep: int) -> None:
        self.inputs += other.inputs
        self.agreed += other.agreed
        self.refused += other.refused
        self.explained.update(other.explained)
        self.failed += other.failed
        self.failures.extend(other.failures[: max(0, keep - len(self.failures))])

    def summary(self) -> str:
        lines = [
            f"{self.inputs} inputs in {self.seconds:.1f}s: {self.agreed} agreed "
            f"({self.refused} of them refused by both), "
            f"{sum(self.explained.values())} explained by a known difference, "
            f"{self.failed} failed"
        ]
        for name, count in self.explained.most_common():
            lines.append(f"  {count:8d}  {name}")
        return "\n".join(lines)


def runRange(
    seed: int, start: int, stop: int, wire=web2._wire, keep: int = 10
) -> Report:
    """
    Check inputs C{start} to C{stop - 1} of seed C{seed}, keeping the first
    C{keep} failures.
    """
    report = Report()
    began = time.perf_counter()
    for index in range(start, stop):
        verdict = checkCase(makeCase(seed, index), wire)
        report.inputs += 1
        if verdict.failure:
            report.failed += 1
            if len(report.failures) < keep:
                report.failures.append(verdict.failure)
        elif verdict.rule:
            report.explained[verdict.rule] += 1
        else:
            report.agreed += 1
            report.refused += verdict.refused
    report.seconds = time.perf_counter() - began
    return report


def _runSlice(args) -> Report:
    return runRange(*args)


#: How many inputs one worker process checks at a time.
SLICE = 5000


def fuzz(seed: int, count: int, jobs: int = 1, keep: int = 10) -> Report:
    """
    Check inputs 0 to C{count - 1} of seed C{seed}, in C{jobs} worker
    processes (forked, so that each runs the parsers imported here) when
    C{jobs} > 1.
    """
    began = time.perf_counter()
    if jobs <= 1:
        report = runRange(seed, 0, count, keep=keep)
    else:
        slices = [(seed, a, min(a + SLICE, count)) for a in range(0, count, SLICE)]
        report = Report()
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for part in pool.imap_unordered(_runSlice, slices):
                report.add(part, keep)
    report.seconds = time.perf_counter() - began
    return report


def defaultJobs() -> int:
    """
    One worker per CPU this process may run on.
    """
    return len(os.sched_getaffinity(0))
