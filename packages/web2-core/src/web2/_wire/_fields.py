# -*- test-case-name: test_wire_reader -*-
"""
Field-section parsing, shared by request headers and chunked trailers.

The fast path validates and splits a whole block with one C{findall}; only
when that fails does a per-line pass run, to name what was wrong.
"""

from ._abnf import FIELD_LINE, FIELD_VALUE_FORBIDDEN, TOKEN
from ._errors import ProtocolError


def parse_fields(
    block: bytes, max_count: int, what: str = "header"
) -> list[tuple[bytes, bytes]]:
    """
    Parse a field section.

    @param block: the field lines, each ending with CRLF, without the empty
        line that ends the section.
    @param max_count: the most fields allowed; more raises 431.
    @param what: C{"header"} or C{"trailer"}, for error messages.
    @return: C{(lower-cased name, value)} pairs in order.
    @raise ProtocolError: 400 for a malformed line, 431 for too many.
    """
    pairs = FIELD_LINE.findall(block)
    # Each match is exactly one whole line; every line ends with LF.
    if len(pairs) != block.count(b"\n"):
        _diagnose(block, what)
    if len(pairs) > max_count:
        raise ProtocolError(431, f"too many {what} fields")
    return [(name.lower(), value.rstrip(b" \t")) for name, value in pairs]


def _diagnose(block: bytes, what: str) -> None:
    """
    Find the first bad line of a block that failed the fast path and raise
    a L{ProtocolError} naming the fault.
    """
    for line in block[:-2].split(b"\r\n"):
        if FIELD_LINE.fullmatch(line + b"\r\n"):
            continue
        if b"\n" in line:
            reason = "bare LF"
        elif b"\r" in line:
            reason = "bare CR"
        elif line[:1] in (b" ", b"\t"):
            reason = "obs-fold (line folding) is not allowed"
        elif b":" not in line:
            reason = "line without a colon"
        else:
            name, _, value = line.partition(b":")
            if not name:
                reason = "empty field name"
            elif name[-1:] in (b" ", b"\t"):
                reason = "whitespace between field name and colon"
            elif not TOKEN.fullmatch(name):
                reason = "field name is not a token"
            elif FIELD_VALUE_FORBIDDEN.search(value):
                reason = "control character in field value"
            else:  # pragma: no cover - every failure is named above
                reason = "malformed field line"
        raise ProtocolError(400, f"{what}: {reason}")
    raise ProtocolError(400, f"{what}: malformed field section")
