# -*- test-case-name: test_dav_fileops -*-
"""
The blocking tree operations behind DELETE, COPY and MOVE.

Every function here may take long (a tree can be large, a disk slow), so
L{web2.dav.DAVFile} runs them with its C{runInThread}, never on the
reactor thread.  They do not stop at the first failure: each returns the
list of C{(path, OSError)} it met, so that the caller can answer 207
Multi-Status naming exactly the members that failed (RFC 4918 9.6.1,
9.8.8).  Symbolic links are copied and deleted as links, never followed.
Temporary files of the server (reserved names) are not copied.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat as stat_mod

from web2.dav.props import SIDECAR, isReserved


def deleteTree(path: str) -> list:
    """
    Delete the file, link or directory tree at C{path}.

    @return: the failures, C{[(path, OSError)]}; a directory left
        non-empty only because a member failed is not itself reported.
    """
    failures = []
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return failures
    except OSError as e:
        return [(path, e)]
    if not stat_mod.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            failures.append((path, e))
        return failures
    failedDirs = set()

    def onError(e):
        failures.append((e.filename or path, e))
        failedDirs.add(os.path.dirname(e.filename or path))

    for dirpath, dirnames, filenames in os.walk(path, topdown=False, onerror=onError):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            try:
                os.unlink(full)
            except FileNotFoundError:
                pass
            except OSError as e:
                failures.append((full, e))
                failedDirs.add(dirpath)
        try:
            os.rmdir(dirpath)
        except FileNotFoundError:
            pass
        except OSError as e:
            if not (e.errno in (errno.ENOTEMPTY, errno.EEXIST) and _hasFailedBelow(dirpath, failedDirs)):
                failures.append((dirpath, e))
            failedDirs.add(os.path.dirname(dirpath))
    return failures


def _hasFailedBelow(dirpath, failedDirs) -> bool:
    return any(d == dirpath or d.startswith(dirpath + os.sep) for d in failedDirs)


def copyTree(source: str, destination: str, infinite: bool = True) -> list:
    """
    Copy the file or directory C{source} to C{destination} (which must
    not exist): a file with its data and mode, a directory with its
    members when C{infinite}, or alone (Depth 0).

    @return: the failures, C{[(path, OSError)]} (destination paths).
    """
    failures = []
    st = os.lstat(source)
    if stat_mod.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), destination)
        return failures
    if not stat_mod.S_ISDIR(st.st_mode):
        shutil.copy2(source, destination, follow_symlinks=False)
        return failures
    os.mkdir(destination)
    _copyMode(source, destination)
    if not infinite:
        return failures
    for dirpath, dirnames, filenames in os.walk(source, onerror=None):
        rel = os.path.relpath(dirpath, source)
        target = destination if rel == "." else os.path.join(destination, rel)
        keep = []
        for name in dirnames:
            src, dst = os.path.join(dirpath, name), os.path.join(target, name)
            try:
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                    continue
                os.mkdir(dst)
                _copyMode(src, dst)
                keep.append(name)
            except OSError as e:
                failures.append((dst, e))
        dirnames[:] = keep
        for name in filenames:
            if isReserved(name) and name != SIDECAR:
                continue
            src, dst = os.path.join(dirpath, name), os.path.join(target, name)
            try:
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                else:
                    shutil.copy2(src, dst, follow_symlinks=False)
            except OSError as e:
                failures.append((dst, e))
    return failures


def _copyMode(source, destination):
    try:
        shutil.copymode(source, destination)
    except OSError:
        pass


def moveTree(source: str, destination: str) -> list:
    """
    Move C{source} to C{destination} (which must not exist): a rename,
    or a copy and a delete across file systems.

    @return: the failures, C{[(path, OSError)]}.
    """
    try:
        os.rename(source, destination)
        return []
    except OSError as e:
        if e.errno != errno.EXDEV:
            return [(source, e)]
    failures = copyTree(source, destination, True)
    if failures:
        return failures
    return deleteTree(source)


def writeAll(fd: int, data: bytes):
    """
    Write all of C{data} to the file descriptor C{fd}.
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
