# -*- test-case-name: test_dav_props -*-
"""
The dead-property store: one JSON sidecar file per directory.

Why a sidecar: extended attributes are not on every file system (nor
every Linux tmpfs, nor most network mounts), and a single database beside
the tree must be kept in step with every rename.  A per-directory file
needs none of that: copying or moving a directory carries its sidecar and
therefore the properties of everything in it; only a single file's entry
moves between sidecars when the file itself is copied, moved or deleted.

Layout: C{DIR/.web2dav-props.json} holds
C{{"version": 1, "entries": {NAME: {CLARK_NAME: XML}}}}: the properties of
the directory's files under their names, the directory's own under C{""}.
Values are the serialized property elements (L{davxml.serialize}), so
their namespaces, attributes and mixed content survive.

Every write replaces the sidecar atomically (a temporary file, then
C{os.replace}); a PROPPATCH is applied to a copy of the entry in memory
and written once, so it is all-or-nothing.  Files whose names start with
L{RESERVED_PREFIX} are never served, listed or accepted as names.
"""

from __future__ import annotations

import errno
import json
import os

from web2.dav import _temp

#: Names starting with this are the server's own (sidecars, temporary files).
RESERVED_PREFIX = ".web2dav-"
SIDECAR = RESERVED_PREFIX + "props.json"


def isReserved(name: str) -> bool:
    return name.startswith(RESERVED_PREFIX)


class StoreFull(Exception):
    """
    Writing would exceed the store's limits (answered 507).
    """


class SidecarPropertyStore:
    """
    Dead properties of the files and directories of one tree.

    @ivar maxProperties: the most dead properties one resource may have.
    @ivar maxSidecarBytes: the largest sidecar file written.
    """

    def __init__(self, maxProperties: int = 1000, maxSidecarBytes: int = 4 * 1024 * 1024):
        self.maxProperties = maxProperties
        self.maxSidecarBytes = maxSidecarBytes

    # Where a resource's entry lives

    @staticmethod
    def _location(path: str, isCollection: bool):
        if isCollection:
            return path, ""
        return os.path.dirname(path), os.path.basename(path)

    def _load(self, directory: str) -> dict:
        try:
            with open(os.path.join(directory, SIDECAR), "rb") as f:
                data = json.loads(f.read(self.maxSidecarBytes + 1) or b"{}")
        except FileNotFoundError:
            return {}
        except NotADirectoryError:
            return {}
        except ValueError:
            # A damaged sidecar loses its properties rather than the tree.
            return {}
        entries = data.get("entries") if isinstance(data, dict) else None
        return entries if isinstance(entries, dict) else {}

    def _save(self, directory: str, entries: dict):
        entries = {k: v for k, v in entries.items() if v}
        target = os.path.join(directory, SIDECAR)
        if not entries:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
            return
        data = json.dumps({"version": 1, "entries": entries}, ensure_ascii=False).encode("utf-8")
        if len(data) > self.maxSidecarBytes:
            raise StoreFull(f"the property file of {directory} would exceed "
                            f"{self.maxSidecarBytes} bytes")
        temp, fd = _temp.createTemp(directory, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                # Renamed while still open, so still locked (see _temp).
                os.replace(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
        finally:
            _temp.releaseTemp(temp)

    # Reading

    def properties(self, path: str, isCollection: bool, cache=None) -> dict:
        """
        C{{clarkName: xmlString}} of the resource at C{path}.

        @param cache: a C{dict} kept for the length of one request, so
            that a Depth 1 PROPFIND reads each sidecar once, not once per
            member.
        """
        directory, name = self._location(path, isCollection)
        if cache is None:
            entries = self._load(directory)
        else:
            entries = cache.get(directory)
            if entries is None:
                entries = cache[directory] = self._load(directory)
        return dict(entries.get(name) or {})

    def childProperties(self, directory: str) -> dict:
        """
        The entries of all the files of C{directory} at once (one read for
        a Depth 1 PROPFIND): C{{name: {clarkName: xmlString}}}.
        """
        return self._load(directory)

    # Writing

    def update(self, path: str, isCollection: bool, changes):
        """
        Apply C{changes}, a sequence of C{(clarkName, xmlString or None)}
        (C{None} removes), in order, and write the result once.

        @raise StoreFull: the limits would be exceeded.
        @raise OSError: the sidecar could not be written.
        """
        directory, name = self._location(path, isCollection)
        entries = self._load(directory)
        props = dict(entries.get(name) or {})
        for key, value in changes:
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value
        if len(props) > self.maxProperties:
            raise StoreFull(f"at most {self.maxProperties} dead properties per resource")
        entries[name] = props
        self._save(directory, entries)

    def remove(self, path: str, isCollection: bool):
        """
        Forget the properties of a deleted resource.  A collection's go
        with its directory; a file's entry leaves its parent's sidecar.
        """
        if isCollection:
            return
        directory, name = self._location(path, False)
        entries = self._load(directory)
        if name in entries:
            del entries[name]
            self._ignoreMissing(self._save, directory, entries)

    def copy(self, source: str, destination: str, isCollection: bool):
        """
        Give C{destination} the properties of C{source} (after the data
        was copied: a collection's members already travelled in its
        sidecar, its own entry is copied here for a Depth 0 copy).
        """
        props = self.properties(source, isCollection)
        directory, name = self._location(destination, isCollection)
        entries = self._load(directory)
        if props:
            entries[name] = props
        elif name not in entries:
            return
        else:
            del entries[name]
        self._save(directory, entries)

    def move(self, source: str, destination: str, isCollection: bool):
        """
        After C{source} was renamed to C{destination}: a file's entry moves
        to the destination's sidecar (a collection's moved with it).
        """
        if isCollection:
            return
        srcDir, srcName = self._location(source, False)
        entries = self._load(srcDir)
        props = entries.pop(srcName, None)
        if props is None:
            self._clear(destination)
            return
        self._ignoreMissing(self._save, srcDir, entries)
        dstDir, dstName = self._location(destination, False)
        dstEntries = self._load(dstDir)
        dstEntries[dstName] = props
        self._save(dstDir, dstEntries)

    def _clear(self, path):
        directory, name = self._location(path, False)
        entries = self._load(directory)
        if name in entries:
            del entries[name]
            self._save(directory, entries)

    clearNew = _clear

    @staticmethod
    def _ignoreMissing(f, *args):
        try:
            f(*args)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
