"""
A small Sphinx extension that turns the epytext markup of web2's docstrings
into reStructuredText before autodoc renders them.

web2 follows Twisted's docstring style (C{code}, L{link}, I{italic},
B{bold}, U{text<url>}, and C{@param}/C{@return}/C{@ivar}... fields).  Sphinx
reads docstrings as reST, where those fields read as paragraphs whose
indented continuation lines are errors.  This converts the subset web2 uses:

  - C{x} -> ``x``; L{x} and L{text<x>} -> :py:obj:`x` (with the text shown);
    I{x} -> *x*; B{x} -> **x**; U{text<url>} -> a link; E{lb}/E{rb} -> braces;
  - @param x: / @type x: / @ivar x: / @cvar x: / @var x: / @keyword x: /
    @raise E: / @return: / @rtype: -> the matching Sphinx info fields;
  - any other @field: (since, note, see, author) -> a generic field.

The markup may nest and may contain balanced braces (C{{"a": 1}}).
"""

from __future__ import annotations

import re

_FIELD = re.compile(r"^(\s*)@(\w+)(?:\s+([^:]+?))?\s*:(.*)$")
_FIELDS = {
    "param": "param",
    "type": "type",
    "ivar": "ivar",
    "cvar": "cvar",
    "var": "var",
    "keyword": "keyword",
    "kwarg": "keyword",
    "raise": "raises",
    "raises": "raises",
    "except": "raises",
    "return": "return",
    "returns": "return",
    "rtype": "rtype",
    "returntype": "rtype",
}
_MARKUP = re.compile(r"([CLIBUEM])\{")


def _closing(text: str, start: int) -> int:
    """
    The index of the brace closing the one just before C{start}, or -1.
    """
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _target(body: str) -> tuple[str | None, str]:
    """
    Split C{text<target>} into its two parts; plain C{target} has no text.
    """
    match = re.fullmatch(r"(.*?)\s*<([^<>]+)>", body, re.S)
    if match:
        return match.group(1), match.group(2)
    return None, body


def _literal(body: str) -> str:
    body = body.replace("\n", " ").strip()
    if not body:
        return ""
    if "``" in body or body.startswith("`") or body.endswith("`"):
        return ":code:`" + body.replace("`", "\\`") + "`"
    return "``" + body + "``"


def convertInline(text: str) -> str:
    """
    Convert the inline epytext markup of C{text} to reST.
    """
    out = []
    pos = 0
    while True:
        match = _MARKUP.search(text, pos)
        if match is None:
            out.append(text[pos:])
            return "".join(out)
        end = _closing(text, match.end())
        if end < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:match.start()])
        kind, body = match.group(1), text[match.end():end]
        if kind == "C":
            rendered = _literal(body)
        elif kind == "L":
            label, target = _target(body)
            target = target.strip().rstrip("()")
            rendered = (
                f":py:obj:`{convertInline(label)} <{target}>`"
                if label
                else f":py:obj:`{target}`"
            )
        elif kind == "U":
            label, url = _target(body)
            rendered = f"`{label or url} <{url}>`__"
        elif kind == "E":
            rendered = {"lb": "{", "rb": "}"}.get(body, body)
        elif kind == "I":
            rendered = f"*{convertInline(body).strip()}*"
        elif kind == "B":
            rendered = f"**{convertInline(body).strip()}**"
        else:  # M{math}
            rendered = f":math:`{body}`"
        out.append(_protect(out, rendered, text, end + 1))
        pos = end + 1


def _protect(out: list[str], rendered: str, text: str, after: int) -> str:
    """
    reST needs inline markup to be delimited by whitespace or punctuation;
    insert an escaped space where a word character touches it.
    """
    before = "".join(out)[-1:] if out else ""
    if before and (before.isalnum() or before == "_"):
        rendered = "\\ " + rendered
    nxt = text[after : after + 1]
    if nxt and (nxt.isalnum() or nxt == "_"):
        rendered = rendered + "\\ "
    return rendered


def convertLines(lines: list[str]) -> list[str]:
    """
    Convert a whole docstring, given and returned as lines.  A field list
    must follow a blank line in reST, so one is added where a field follows
    a paragraph directly.
    """
    text = convertInline("\n".join(lines))
    result: list[str] = []
    inFields = False
    for line in text.split("\n"):
        match = _FIELD.match(line)
        if match:
            indent, name, arg, rest = match.groups()
            field = _FIELDS.get(name, name)
            arg = f" {arg.strip()}" if arg else ""
            if not inFields and result and result[-1].strip():
                result.append("")
            line = f"{indent}:{field}{arg}:{rest}"
            inFields = True
        elif line.strip() and not line[0].isspace():
            inFields = False
        result.append(line)
    return result


def _processDocstring(app, what, name, obj, options, lines):
    lines[:] = convertLines(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _processDocstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
