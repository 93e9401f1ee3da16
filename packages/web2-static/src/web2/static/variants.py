# -*- test-case-name: test_static_file -*-
"""
Precompressed variants (nginx's C{gzip_static}, for several codings):
C{style.css.br} beside C{style.css} is sent, with C{Content-Encoding: br},
to a client whose C{Accept-Encoding} allows br.

Looking for variants costs a failed C{lstat} per coding for the many files
that have none.  L{VariantFinder} remembers which variant names a directory
lacks, for as long as the directory's modification time (which changes
whenever an entry is added, removed or renamed) stays the same; a directory
changed within the last two seconds is not trusted, as file systems with
coarse timestamps could hide a change in the same tick.
"""

from __future__ import annotations

import functools
import os
import stat as stat_mod
import time
from collections import OrderedDict

from web2.static.paths import resolveChild

_CODING_ALIASES = {"x-gzip": "gzip"}

#: Seconds after a directory's change during which its misses are not kept.
SETTLE_TIME = 2.0


@functools.lru_cache(maxsize=256)
def acceptedCodings(values: tuple) -> dict:
    """
    Parse the C{Accept-Encoding} field lines C{values} (a tuple, so that the
    few spellings browsers send are parsed once) into a mapping of coding
    (lower case) to quality; malformed members are skipped.
    """
    result: dict[str, float] = {}
    for value in values:
        for member in value.split(","):
            coding, _, params = member.partition(";")
            coding = coding.strip().lower()
            if not coding:
                continue
            quality = 1.0
            for param in params.split(";"):
                key, _, number = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        quality = float(number.strip())
                    except ValueError:
                        quality = 0.0
                    if not 0.0 <= quality <= 1.0:
                        quality = 0.0
            result[_CODING_ALIASES.get(coding, coding)] = quality
    return result


def accepts(codings, coding: str) -> bool:
    """
    Whether C{coding} is acceptable per the parsed C{Accept-Encoding}.
    """
    quality = codings.get(coding)
    if quality is None:
        quality = codings.get("*", 0.0)
    return quality > 0.0


class VariantFinder:
    """
    Finds the precompressed variant of a file to send, remembering misses.

    @ivar maxDirectories: how many directories' misses are remembered.
    @ivar maxMisses: how many missing names one directory remembers.
    """

    def __init__(self, maxDirectories: int = 1024, maxMisses: int = 4096):
        self.maxDirectories = maxDirectories
        self.maxMisses = maxMisses
        self._misses: OrderedDict = OrderedDict()

    def find(self, real: str, st, acceptEncoding, variants, root: str, allowOutside: bool):
        """
        The variant of the file C{real} (whose stat is C{st}) to send.

        @param acceptEncoding: the raw C{Accept-Encoding} field lines.
        @param variants: C{(coding, suffix)} pairs, most preferred first.
        @return: C{(coding, realPath, stat)}, or C{None} for the file itself.
            A variant older than the file is stale and never chosen.
        """
        codings = acceptedCodings(tuple(acceptEncoding))
        wanted = [(c, s) for c, s in variants if accepts(codings, c)]
        if not wanted:
            return None
        directory, name = os.path.split(real)
        misses = self._missesOf(directory)
        for coding, suffix in wanted:
            variant = name + suffix
            if misses is not None and variant in misses:
                continue
            try:
                vreal, vst = resolveChild(directory, variant, root, allowOutside)
            except (OSError, ValueError):
                continue
            if vreal is None or vst is None or not stat_mod.S_ISREG(vst.st_mode):
                if misses is not None and len(misses) < self.maxMisses:
                    misses.add(variant)
                continue
            if vst.st_mtime_ns >= st.st_mtime_ns:
                return coding, vreal, vst
        return None

    def _missesOf(self, directory):
        """
        The set of names known to be missing from C{directory}, or C{None}
        when nothing may be remembered about it now.
        """
        try:
            dst = os.stat(directory)
        except (OSError, ValueError):
            return None
        entries = self._misses
        entry = entries.get(directory)
        if entry is not None and entry[0] == dst.st_mtime_ns:
            entries.move_to_end(directory)
            return entry[1]
        if time.time() - dst.st_mtime < SETTLE_TIME:
            entries.pop(directory, None)
            return None
        misses: set = set()
        entries[directory] = (dst.st_mtime_ns, misses)
        if len(entries) > self.maxDirectories:
            entries.popitem(last=False)
        return misses
