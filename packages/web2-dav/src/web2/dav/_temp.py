# -*- test-case-name: test_dav_tempfiles -*-
"""
The server's temporary files: an upload (PUT) or a property sidecar is
written to a file named C{.web2dav-tmp-*} beside its target, then renamed
over it.  A process killed in the middle (C{kill -9}, a power cut) leaves
that file behind, full-size, and nothing would ever remove it.

The rule that lets a later process tell an orphan from a file being
written: a writer holds an exclusive C{flock} on its temporary file from
its creation until it is renamed or removed, and the kernel releases the
lock when the writer dies, however it dies.  L{removeOrphans} removes
only the temporary files it can lock itself, so a file another process
(or this one) is writing is left alone.  Within this process the paths
being written are also remembered (L{createTemp} records the name before
the file exists), which closes the moment between a file's creation and
its lock.

L{removeOrphans} runs when a tree is opened (L{web2.dav.DAVFile}'s
constructor), before it serves, and examines a bounded number of entries.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import stat as stat_mod

#: The prefix of every temporary file of the server (one of the reserved
#: names of L{web2.dav.props}, never served or listed).
TEMP_PREFIX = ".web2dav-tmp-"

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_CHECK_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)

# The temporary files this process is writing.
_writing: set[str] = set()


def tempName() -> str:
    """
    A fresh name for a temporary file.
    """
    return TEMP_PREFIX + secrets.token_hex(8)


def createTemp(directory: str, mode: int = 0o666) -> tuple[str, int]:
    """
    Create a new temporary file in C{directory}, locked for as long as it
    is written.  Call L{releaseTemp} once it is renamed or removed, after
    closing the descriptor.

    @return: its path and a descriptor open for writing.
    @raise OSError: it could not be created.
    """
    path = os.path.join(directory, tempName())
    _writing.add(path)
    try:
        fd = os.open(path, _CREATE_FLAGS, mode)
    except BaseException:
        _writing.discard(path)
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        # A file system without flock (some network mounts): the file is
        # then protected within this process only.
        pass
    return path, fd


def releaseTemp(path: str):
    """
    The temporary file C{path} is no longer written (renamed or removed).
    """
    _writing.discard(path)


def _removeIfOrphan(path: str) -> bool:
    """
    Remove the temporary file C{path} if no one holds it.

    @return: whether it was removed.
    @raise OSError: it could not be opened or removed.
    """
    if path in _writing:
        return False
    fd = os.open(path, _CHECK_FLAGS)
    try:
        if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        if path in _writing:
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def removeOrphans(root: str, limit: int | None) -> tuple[int, int, bool, list]:
    """
    Remove the temporary files that no writer holds anywhere in the tree
    at C{root}.  Symbolic links are neither followed nor removed.

    @param limit: the most directory entries to examine (C{None}: all).
    @return: C{(removed, examined, complete, failures)}: how many files
        were removed, how many entries examined, whether the whole tree
        was, and C{[(path, OSError)]} for those that could not be.
    """
    removed = examined = 0
    failures = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = os.scandir(directory)
        except OSError as e:
            failures.append((directory, e))
            continue
        with entries:
            for entry in entries:
                if limit is not None and examined >= limit:
                    return removed, examined, False, failures
                examined += 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                        removed += _removeIfOrphan(entry.path)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    failures.append((entry.path, e))
    return removed, examined, True, failures
