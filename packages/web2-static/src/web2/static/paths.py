# -*- test-case-name: test_static_safety -*-
"""
Path safety: which URL segments may name a file under a static root, and
whether a file on disk is still inside that root.

Segments arrive percent-decoded (C{%2e%2e} is already C{..}, C{%2f} already
C{/}), as C{str} with non-UTF-8 bytes kept as surrogate escapes.  A segment
is used as one directory entry name and nothing else, so every value that
the operating system would read as more than one name, or as a name that
moves up or away (C{.}, C{..}, separators, NUL, drive letters), is refused
before the file system is touched.  Symbolic links are the other way out of
a root; L{resolveChild} follows them only to places inside it unless the
policy allows otherwise.

Every refusal is a 404, never a 500: the client gets no hint of whether
the path exists outside the root.
"""

from __future__ import annotations

import os
import stat as stat_mod

#: Characters that may never appear in a segment used as a file name.
#: NUL ends C strings; the separators would make one segment several.
_FORBIDDEN = frozenset("/\\\x00")

#: Extra characters refused on Windows: drive and stream separators, and
#: those the Win32 API rejects or interprets.
_FORBIDDEN_NT = frozenset(':*?"<>|')

_RESERVED_NT = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(1, 10)]
    + [f"lpt{i}" for i in range(1, 10)]
)


def isSafeSegment(segment: str, _nt: bool = os.name == "nt") -> bool:
    """
    Whether C{segment} can be used as a single directory entry name.

    Refused: the empty name, C{.} and C{..}, and any name containing a
    separator (C{/} or C{\\}) or NUL; on Windows also drive letters and
    stream names (C{:}), wildcards, reserved device names and names ending
    in a dot or space (which Windows silently strips).
    """
    if segment in ("", ".", ".."):
        return False
    if not _FORBIDDEN.isdisjoint(segment):
        return False
    if _nt:
        if not _FORBIDDEN_NT.isdisjoint(segment) or segment[-1] in ". ":
            return False
        if segment.split(".", 1)[0].lower() in _RESERVED_NT:
            return False
    return True


def isHidden(segment: str) -> bool:
    """
    Whether C{segment} names a hidden file: one whose name starts with a dot.
    """
    return segment.startswith(".")


def isInside(path: str, root: str) -> bool:
    """
    Whether the real path C{path} is C{root} or below it (both must already
    be real, absolute and normalized; see C{os.path.realpath}).
    """
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)


def resolveChild(parentReal: str, name: str, root: str, allowOutside: bool):
    """
    Look up the directory entry C{name} of the real directory C{parentReal}.

    One C{lstat} answers both whether the entry exists and whether it is a
    symbolic link; only links cost a C{realpath}.  Because C{parentReal} is
    real and C{name} is a safe segment, a name that is not a link is real
    as joined.

    @param root: the real path of the static root.
    @param allowOutside: follow links that lead out of C{root}.
    @return: C{(realPath, statResult)}; C{statResult} is C{None} when the
        entry does not exist (or is a dangling link).  C{realPath} is
        C{None} when a link leads out of the root and that is not allowed.
    @raise OSError: for errors other than "does not exist" (e.g. EACCES).
    """
    joined = os.path.join(parentReal, name)
    try:
        st = os.lstat(joined)
    except (FileNotFoundError, NotADirectoryError):
        return joined, None
    if not stat_mod.S_ISLNK(st.st_mode):
        return joined, st
    real = os.path.realpath(joined)
    if not allowOutside and not isInside(real, root):
        return None, None
    try:
        return real, os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        return real, None
