# -*- test-case-name: test_static_listing -*-
"""
Directory listings: scanning a directory under the site's policy, and the
two forms of the listing, an HTML page and a JSON document.

The scan (L{scanDirectory}) is plain blocking code meant to run in a
thread: a directory of many entries, or one on a network file system, costs
a C{stat} per entry.  It applies the same policy as traversal, so that a
listing never shows a name that could not be fetched: hidden names (unless
shown), names traversal refuses (separators, NUL...), and links that leave
the root (unless allowed) are left out.

The HTML page escapes every name, percent-encodes every link, works without
JavaScript (the column headings are links that sort on the server), reads on
a phone (a viewport, one column that wraps, the type column dropped on
narrow screens), and is sent with a Content-Security-Policy that forbids
scripts, so even a missed escape could not run code.
"""

from __future__ import annotations

import html
import json
import os
import stat as stat_mod
import time
import urllib.parse
from typing import NamedTuple

from web2 import http, responsecode, stream
from web2.http_headers import Headers
from web2.resource import quoteSegment
from web2.static import mime
from web2.static.paths import isHidden, isInside, isSafeSegment


class Entry(NamedTuple):
    """
    One listed directory entry.

    @ivar name: the file name (C{str}, non-UTF-8 bytes as surrogate escapes).
    @ivar isDir: whether it is a directory (after following a link).
    @ivar size: the size in bytes, C{None} for a directory.
    @ivar mtime: the modification time, seconds since the epoch.
    @ivar contentType: the type the file would be served with, or C{None}
        for a directory.
    """

    name: str
    isDir: bool
    size: int | None
    mtime: float
    contentType: str | None


def scanDirectory(
    realDir: str,
    root: str,
    showHidden: bool = False,
    allowOutside: bool = False,
    contentTypes=None,
    defaultType: str = mime.DEFAULT_TYPE,
    maxEntries: int = 10000,
):
    """
    List C{realDir} under the traversal policy (blocking; run it in a thread).

    @return: C{(entries, truncated)}: a list of L{Entry} in directory order,
        and whether more than C{maxEntries} entries were left out.
    @raise OSError: when the directory itself cannot be read.
    """
    entries = []
    truncated = False
    with os.scandir(realDir) as it:
        for dirEntry in it:
            name = dirEntry.name
            if not isSafeSegment(name) or (isHidden(name) and not showHidden):
                continue
            try:
                if dirEntry.is_symlink():
                    real = os.path.realpath(dirEntry.path)
                    if not allowOutside and not isInside(real, root):
                        continue
                    st = os.stat(real)
                else:
                    st = dirEntry.stat(follow_symlinks=False)
            except OSError:
                continue
            if len(entries) >= maxEntries:
                truncated = True
                break
            if stat_mod.S_ISDIR(st.st_mode):
                entries.append(Entry(name, True, None, st.st_mtime, None))
            elif stat_mod.S_ISREG(st.st_mode):
                kind = mime.contentTypeFor(name, contentTypes, defaultType)
                entries.append(Entry(name, False, st.st_size, st.st_mtime, kind))
    return entries, truncated


# Sorting: the query's "sort" value -> key function; directories come first
# whatever the order.
_SORT_KEYS = {
    "name": lambda e: _displayName(e.name).casefold(),
    "size": lambda e: e.size or 0,
    "modified": lambda e: e.mtime,
    "type": lambda e: e.contentType or "",
}


def sortEntries(entries, sort: str = "name", descending: bool = False):
    """
    Sort C{entries} by C{sort} (one of C{name}, C{size}, C{modified},
    C{type}; an unknown value sorts by name), directories first.
    """
    key = _SORT_KEYS.get(sort, _SORT_KEYS["name"])
    ordered = sorted(entries, key=key, reverse=descending)
    return [e for e in ordered if e.isDir] + [e for e in ordered if not e.isDir]


def _displayName(name: str) -> str:
    # Undecodable bytes are shown as U+FFFD rather than as lone surrogates,
    # which neither HTML nor JSON can carry in UTF-8.
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _href(entry: Entry) -> str:
    return quoteSegment(entry.name) + ("/" if entry.isDir else "")


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def formatSize(size: int | None) -> str:
    """
    A short human-readable size: C{"512 B"}, C{"1.5 KiB"}, C{"-"} for none.
    """
    if size is None:
        return "-"
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _isoTime(mtime: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))


def renderJSON(path: str, entries, truncated: bool = False) -> bytes:
    """
    The JSON form of a listing: C{{"path": ..., "entries": [...],
    "truncated": ...}}; each entry has C{name}, C{href} (relative,
    percent-encoded), C{type} (C{"file"} or C{"directory"}), C{size},
    C{modified} (ISO 8601, UTC), C{mtime} (seconds) and C{contentType}.
    """
    document = {
        "path": path,
        "entries": [
            {
                "name": _displayName(e.name),
                "href": _href(e),
                "type": "directory" if e.isDir else "file",
                "size": e.size,
                "modified": _isoTime(e.mtime),
                "mtime": e.mtime,
                "contentType": e.contentType,
            }
            for e in entries
        ],
        "truncated": truncated,
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Index of {title}</title>
<style>
body {{ font: 16px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 60em;
       padding: 0.5em 1em; color: #222; background: #fff; }}
h1 {{ font-size: 1.3em; overflow-wrap: anywhere; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ padding: 0.35em 0.5em; text-align: left; vertical-align: top; }}
th {{ border-bottom: 2px solid #ccc; white-space: nowrap; }}
tr:nth-child(even) td {{ background: #f5f5f5; }}
td.name {{ overflow-wrap: anywhere; word-break: break-word; }}
td.size, th.size {{ text-align: right; white-space: nowrap; }}
td.modified {{ white-space: nowrap; }}
a {{ color: #0645ad; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
tr.dir td.name a {{ font-weight: 600; }}
p.note {{ color: #a00; }}
@media (max-width: 40em) {{
  .type {{ display: none; }}
  td.modified {{ white-space: normal; font-size: 0.85em; }}
}}
</style></head>
<body>
<h1>Index of {title}</h1>
<table id="listing">
<thead><tr>{headings}</tr></thead>
<tbody>
{parent}{rows}</tbody></table>
{note}</body></html>
"""

_COLUMNS = (
    ("name", "Name", "name"),
    ("size", "Size", "size"),
    ("modified", "Modified", "modified"),
    ("type", "Type", "type"),
)


def renderHTML(path: str, entries, sort: str = "name", descending: bool = False,
               truncated: bool = False, showParent: bool = True) -> bytes:
    """
    The HTML form of a listing of the directory at URL path C{path}, whose
    C{entries} are already sorted by C{sort}.
    """
    headings = []
    for key, label, cls in _COLUMNS:
        order = "desc" if key == sort and not descending else "asc"
        arrow = ""
        if key == sort:
            arrow = " \u25bc" if descending else " \u25b2"
        headings.append(
            f'<th class="{cls}"><a href="?sort={key}&amp;order={order}">'
            f"{label}{arrow}</a></th>"
        )
    rows = []
    for e in entries:
        name = html.escape(_displayName(e.name) + ("/" if e.isDir else ""))
        href = html.escape(_href(e), quote=True)
        modified = time.strftime("%Y-%m-%d %H:%M", time.gmtime(e.mtime))
        size = formatSize(e.size)
        sizeTitle = "" if e.size is None else f' title="{e.size} bytes"'
        kind = "directory" if e.isDir else (e.contentType or "").split(";")[0]
        rows.append(
            f'<tr class="{"dir" if e.isDir else "file"}">'
            f'<td class="name"><a href="{href}">{name}</a></td>'
            f'<td class="size"{sizeTitle}>{size}</td>'
            f'<td class="modified"><time datetime="{_isoTime(e.mtime)}">'
            f"{modified}</time></td>"
            f'<td class="type">{html.escape(kind)}</td></tr>\n'
        )
    parent = (
        '<tr class="parent"><td class="name"><a href="../">../</a></td>'
        '<td class="size"></td><td class="modified"></td><td class="type"></td></tr>\n'
        if showParent else ""
    )
    note = (
        '<p class="note">This directory has more entries than are shown.</p>\n'
        if truncated else ""
    )
    page = _PAGE.format(
        title=html.escape(path),
        headings="".join(headings),
        parent=parent,
        rows="".join(rows),
        note=note,
    )
    return page.encode("utf-8")


_LISTING_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _prefersJSON(accept) -> bool:
    """
    Whether an C{Accept} header asks for JSON rather than HTML (a crude
    reading: JSON named, HTML not).
    """
    if not accept:
        return False
    value = ",".join(accept).lower()
    return "application/json" in value and "text/html" not in value


def listingResponse(scan, request):
    """
    The response listing a directory: JSON when the query says
    C{format=json} or the C{Accept} header prefers JSON, else HTML; sorted
    by the query's C{sort} (C{name}, C{size}, C{modified}, C{type}) and
    C{order} (C{asc}, C{desc}).

    @param scan: C{(entries, truncated)} from L{scanDirectory}.
    """
    entries, truncated = scan
    args = request.args
    path = _displayName(urllib.parse.unquote(request.path, errors="surrogateescape"))
    form = args.get("format", [""])[0]
    if not form:
        form = "json" if _prefersJSON(request.headers.getRawHeaders("accept")) else "html"
    headers = Headers()
    headers.setRawHeaders("vary", ["Accept"])
    headers.setRawHeaders("cache-control", ["no-cache"])
    headers.setRawHeaders("x-content-type-options", ["nosniff"])
    sort = args.get("sort", ["name"])[0]
    descending = args.get("order", ["asc"])[0] == "desc"
    entries = sortEntries(entries, sort, descending)
    if form == "json":
        headers.setRawHeaders("content-type", ["application/json"])
        body = renderJSON(path, entries, truncated)
    else:
        headers.setRawHeaders("content-type", ["text/html; charset=utf-8"])
        headers.setRawHeaders("content-security-policy", [_LISTING_CSP])
        body = renderHTML(path, entries, sort, descending, truncated, showParent=path != "/")
    return http.Response(responsecode.OK, headers, stream.MemoryStream(body))
