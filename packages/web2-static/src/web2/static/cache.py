# -*- test-case-name: test_static_cache -*-
"""
A memory cache for the bytes of small static files.

Serving a small file from memory skips the open, the read and the close of
every request; the one C{stat} that L{web2.static.File} does per request
anyway tells whether the cached bytes are still current (same device,
inode, size and modification time in nanoseconds).

The cache is filled off the reactor thread: a miss is served from the file
as usual and, at the same time, a read of the file is started in a thread;
later requests find the bytes.  So no request ever waits on a disk read in
the reactor thread, and a file that keeps changing is simply never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import islice

from twisted.logger import Logger

log = Logger()


def _validator(st) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _readFile(path: str, expected: tuple):
    """
    Read a whole file (in a thread), checking that it is still the file that
    was C{stat}ed; C{None} if it changed.
    """
    import os

    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if _validator(st) != expected:
            return None
        data = f.read(st.st_size + 1)
    if len(data) != st.st_size:
        return None
    return data


def _deferToThread(f, *args):
    from twisted.internet import threads

    return threads.deferToThread(f, *args)


class FileCache:
    """
    A least-recently-used cache of small files' contents, bounded in bytes.

    One cache may be shared by several L{web2.static.File} roots (the
    command-line plugin shares one).

    @ivar maxEntrySize: files larger than this are never cached.
    @ivar maxSize: the total size of the cached bytes.
    """

    def __init__(
        self,
        maxSize: int = 32 * 1024 * 1024,
        maxEntrySize: int = 256 * 1024,
        runInThread=_deferToThread,
    ):
        """
        @param maxSize: the bound of the total cached bytes (default 32 MiB);
            0 disables the cache.
        @param maxEntrySize: the largest file to cache (default 256 KiB).
        @param runInThread: C{f(callable, *args) -> Deferred} that runs the
            read off the reactor thread; L{twisted.internet.threads.deferToThread}
            by default (tests pass a synchronous one).
        """
        self.maxSize = maxSize
        self.maxEntrySize = min(maxEntrySize, maxSize)
        self.runInThread = runInThread
        self.size = 0
        self._entries: OrderedDict = OrderedDict()
        self._loading: set = set()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, path: str, st):
        """
        The cached bytes of the file at C{path} whose current C{stat} is
        C{st}, or C{None}.  A miss on a file small enough starts filling
        the cache in the background.
        """
        size = st.st_size
        if size > self.maxEntrySize:
            return None
        entry = self._entries.get(path)
        validator = _validator(st)
        if entry is not None:
            if entry[0] == validator:
                self._entries.move_to_end(path)
                return entry[1]
            self._discard(path)
        if path not in self._loading:
            self._load(path, validator)
        return None

    def _load(self, path, validator):
        self._loading.add(path)
        try:
            d = self.runInThread(_readFile, path, validator)
        except Exception:
            self._loading.discard(path)
            log.failure("Could not start reading {path} into the cache", path=path)
            return
        d.addCallbacks(self._loaded, self._failed, (path, validator), None, (path,))

    def _loaded(self, data, path, validator):
        self._loading.discard(path)
        if data is None:
            return
        self._discard(path)
        self._entries[path] = (validator, data)
        self.size += len(data)
        while self.size > self.maxSize and self._entries:
            _, (_, old) = self._entries.popitem(last=False)
            self.size -= len(old)

    def _failed(self, failure, path):
        # A file that vanished or became unreadable is simply not cached;
        # the request that serves it reports the error.
        self._loading.discard(path)

    def _discard(self, path):
        entry = self._entries.pop(path, None)
        if entry is not None:
            self.size -= len(entry[1])

    def clear(self):
        """
        Forget every cached file.
        """
        self._entries.clear()
        self.size = 0


class HeaderTemplates:
    """
    Prepared response headers of static files, so that serving a file that
    has not changed costs one C{Headers.copy()} rather than building and
    validating every field again.

    A template is keyed by what decides its fields (the file, its type,
    coding and whether the response varies) and is valid while the file's
    metadata is unchanged; at most C{maxEntries} are kept, least recently
    used first out.
    """

    def __init__(self, maxEntries: int = 4096):
        self.maxEntries = maxEntries
        self._entries: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key, st, build):
        """
        A fresh copy of the template for C{key} and the file's current
        C{st}, made with C{build()} when missing or stale.
        """
        validator = _validator(st)
        entry = self._entries.get(key)
        if entry is None or entry[0] != validator:
            entry = (validator, build())
            self._entries[key] = entry
            if len(self._entries) > self.maxEntries:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return entry[1].copy()


class KnownChildren:
    """
    The Files a static tree made for its plain directory entries, kept
    between requests so that serving a known name costs one C{lstat}
    rather than a new File (see L{web2.static.File}).

    Bounded for the whole tree, not per directory: a crawler walking a
    large tree holds at most C{maxEntries} Files (about a kilobyte each);
    when full, the oldest eighth is let go.
    """

    def __init__(self, maxEntries: int = 4096):
        self.maxEntries = maxEntries
        self._entries: dict = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, parent: str, name: str):
        """
        What was remembered for the entry C{name} of the real directory
        C{parent}, or C{None}.
        """
        return self._entries.get((parent, name))

    def remember(self, parent: str, name: str, value) -> None:
        entries = self._entries
        if len(entries) >= self.maxEntries:
            for key in list(islice(entries, max(1, self.maxEntries // 8))):
                del entries[key]
        entries[parent, name] = value

    def forget(self, parent: str, name: str) -> None:
        self._entries.pop((parent, name), None)
