# -*- test-case-name: test_dav_resource -*-
"""
L{DAVFile}: a directory tree served over WebDAV (RFC 4918, classes 1
and 2), on top of L{web2.static.File}, which keeps answering GET and HEAD.

The methods are grouped in mixins by concern: L{web2.dav._propmethods}
(PROPFIND, PROPPATCH), L{web2.dav._writemethods} (PUT, MKCOL, DELETE,
COPY, MOVE) and L{web2.dav._lockmethods} (LOCK, UNLOCK).  This module holds
traversal, OPTIONS, naming (keys and hrefs) and the lock and C{If} checks
every modifying method shares.

Naming: a resource's I{key} is its path below the tree's root, segments
joined with C{/} (C{""} for the root); its I{href} is the URL path the
client uses, built from the URL at which the request found the resource,
so mounts, virtual hosts and proxy prefixes are honoured.
"""

from __future__ import annotations

import errno
import os
import urllib.parse
from dataclasses import dataclass

from twisted.logger import Logger

from web2 import http, responsecode
from web2.dav import _temp, davxml
from web2.dav import locks as locks_mod
from web2.dav._lockmethods import LockMethods
from web2.dav._propmethods import PropertyMethods
from web2.dav._writemethods import WriteMethods
from web2.dav.davxml import dav
from web2.dav.props import SidecarPropertyStore, isReserved
from web2.http_headers import HeaderParseError
from web2.resource import quoteSegment
from web2.server import splitHostPort
from web2.static import File
from web2.static.paths import isInside, isSafeSegment

log = Logger()

#: The default cap on a PUT body: 1 GiB.  A DAV tree is a file store, so
#: nginx's blanket 1 MiB (C{client_max_body_size}) would refuse ordinary
#: photos and documents; no cap at all let one endless chunked PUT write
#: 2.6 GB to disk in 12 seconds.  1 GiB holds office files, photos and most
#: videos, bounds what one request can take, and is Apache httpd's own
#: default C{LimitRequestBody} since 2.4.54.  Trees for disk images or raw
#: video raise it per mount.
DEFAULT_MAX_UPLOAD_SIZE = 1024 ** 3

#: The methods that change the tree (refused when read-only).
WRITE_METHODS = frozenset(("PUT", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK", "UNLOCK"))

# An errno -> the status answering it.
_ERRNO_STATUS = {
    errno.ENOENT: responsecode.NOT_FOUND,
    errno.EACCES: responsecode.FORBIDDEN,
    errno.EPERM: responsecode.FORBIDDEN,
    errno.EROFS: responsecode.FORBIDDEN,
    errno.ENOSPC: responsecode.INSUFFICIENT_STORAGE_SPACE,
    errno.EDQUOT: responsecode.INSUFFICIENT_STORAGE_SPACE,
    errno.EFBIG: responsecode.INSUFFICIENT_STORAGE_SPACE,
    errno.EEXIST: responsecode.CONFLICT,
    errno.ENOTDIR: responsecode.CONFLICT,
    errno.EISDIR: responsecode.CONFLICT,
    errno.ENOTEMPTY: responsecode.CONFLICT,
    errno.ENAMETOOLONG: responsecode.BAD_REQUEST,
}


def statusForError(error: OSError) -> int:
    """
    The status that reports a failed file-system operation.
    """
    return _ERRNO_STATUS.get(error.errno, responsecode.INTERNAL_SERVER_ERROR)


def _runInThread(f, *args):
    from twisted.internet import threads

    return threads.deferToThread(f, *args)


@dataclass
class _Settings:
    """
    What all the resources of one DAV tree share.
    """

    root: str
    realRoot: str
    store: object
    locks: object
    runInThread: object
    readOnly: bool
    allowInfiniteDepth: bool
    maxXMLBody: int
    maxUploadSize: int | None
    maxPropfindResources: int
    putFlushSize: int


class DAVFile(PropertyMethods, WriteMethods, LockMethods, File):
    """
    A directory tree on disk, readable and writable over WebDAV.

    GET and HEAD are L{File}'s (validators, ranges, sendfile).  Every other
    method is RFC 4918's: OPTIONS (C{DAV: 1, 2}), PROPFIND, PROPPATCH,
    MKCOL, DELETE, PUT, COPY, MOVE, LOCK and UNLOCK.  Dead properties are
    kept by a L{SidecarPropertyStore}; locks by a L{locks.LockManager}, in
    memory.  Blocking tree work (copying, deleting, writing uploads) runs
    in C{runInThread}.
    """

    def __init__(
        self,
        path,
        *,
        readOnly: bool = False,
        allowInfiniteDepth: bool = False,
        maxXMLBody: int = davxml.MAX_XML_BODY,
        maxUploadSize: int | None = DEFAULT_MAX_UPLOAD_SIZE,
        maxPropfindResources: int = 10000,
        propertyStore=None,
        lockManager=None,
        maxLocks: int | None = None,
        orphanScanLimit: int | None = 100_000,
        runInThread=None,
        putFlushSize: int = 1024 * 1024,
        showHidden: bool = True,
        precompressed=False,
        **fileOptions,
    ):
        """
        @param path: the directory served; it must exist.
        @param readOnly: answer only OPTIONS, GET, HEAD and PROPFIND (and
            advertise class 1 only).
        @param allowInfiniteDepth: let PROPFIND walk a whole tree with
            C{Depth: infinity} (refused with 403 and
            C{DAV:propfind-finite-depth} by default: it is a cheap way to
            make a server walk a large tree).
        @param maxXMLBody: the largest XML request body, in bytes (413).
        @param maxUploadSize: the largest PUT body, in bytes, or C{None}
            for no cap; 1 GiB by default (L{DEFAULT_MAX_UPLOAD_SIZE}, which
            says why).  A body that declares more gets 413 before anything
            is written; a chunked body that passes it gets 413 when it
            does, its temporary file is removed and the connection closed.
        @param maxPropfindResources: the most resources one PROPFIND
            reports (507 beyond, as RFC 4918 suggests for truncation).
        @param propertyStore: the dead-property store (a
            L{SidecarPropertyStore} by default).
        @param lockManager: the L{locks.LockManager} (a new one by default;
            pass one to share locks between trees mounted twice).
        @param maxLocks: the most live locks of the tree, for the lock
            manager made here (10000 by default, see L{locks.LockManager});
            past it a LOCK gets 503 with C{Retry-After}.  Give it to the
            L{locks.LockManager} instead when passing one.
        @param orphanScanLimit: the most directory entries examined, when
            the tree is opened, to find the temporary files that a crashed
            server left (see L{web2.dav._temp}); C{None} for the whole
            tree, 0 for no scan.  The default, 100000 entries, takes well
            under a second on a local disk, and the scan runs once, before
            serving.  A read-only tree is never scanned.
        @param runInThread: C{f(callable, *args) -> Deferred} for blocking
            work; L{twisted.internet.threads.deferToThread} by default.
        @param putFlushSize: bytes of a PUT body gathered before they are
            written to disk in one thread hop.
        @param showHidden: serve dot-files (on by default: the tree belongs
            to its DAV clients, and macOS stores C{._*} and C{.DS_Store}
            there).  The server's own C{.web2dav-*} files are never served.
        @param precompressed: see L{File}; off by default, since a DAV
            client must get back exactly what it stored.
        @param fileOptions: other L{File} settings.
        """
        if runInThread is None:
            runInThread = _runInThread
        if lockManager is None:
            lockManager = locks_mod.LockManager() if maxLocks is None else (
                locks_mod.LockManager(maxLocks=maxLocks))
        elif maxLocks is not None:
            raise ValueError("give maxLocks to the LockManager passed as lockManager")
        File.__init__(
            self, path, showHidden=showHidden, precompressed=precompressed,
            runInThread=runInThread, **fileOptions,
        )
        if not os.path.isdir(self.path):
            raise ValueError(f"{self.path} is not a directory")
        self._dav = _Settings(
            root=self.path,
            realRoot=os.path.realpath(self.path),
            store=SidecarPropertyStore() if propertyStore is None else propertyStore,
            locks=lockManager,
            runInThread=runInThread,
            readOnly=readOnly,
            allowInfiniteDepth=allowInfiniteDepth,
            maxXMLBody=maxXMLBody,
            maxUploadSize=maxUploadSize,
            maxPropfindResources=maxPropfindResources,
            putFlushSize=putFlushSize,
        )
        if not readOnly and orphanScanLimit != 0:
            self._removeOrphans(orphanScanLimit)

    def _removeOrphans(self, limit):
        """
        Remove the temporary files an interrupted server left in the tree,
        logging one line when there were some or the scan stopped early.
        """
        root = self._dav.root
        removed, examined, complete, failures = _temp.removeOrphans(root, limit)
        if removed:
            log.info("WebDAV tree {root}: removed {removed} temporary file(s) left by "
                     "interrupted uploads", root=root, removed=removed)
        if not complete:
            log.warn("WebDAV tree {root}: the search for old temporary files stopped after "
                     "{examined} entries (orphanScanLimit); some may remain",
                     root=root, examined=examined)
        if failures:
            path, error = failures[0]
            log.warn("WebDAV tree {root}: {count} old temporary files or directories could not "
                     "be cleaned, e.g. {path}: {error}",
                     root=root, count=len(failures), path=path, error=error)

    @property
    def propertyStore(self):
        return self._dav.store

    @property
    def lockManager(self):
        return self._dav.locks

    @property
    def readOnly(self) -> bool:
        return self._dav.readOnly

    # Traversal

    def locateChild(self, request, segments):
        name = segments[0]
        if isReserved(name):
            return None, ()
        child, rest = File.locateChild(self, request, segments)
        if child is not None:
            return child, rest
        if name == "":
            if len(segments) == 1 and not self.exists():
                # "MKCOL /new/": the slash names the missing resource itself.
                return self, ()
            return None, ()
        if not isSafeSegment(name) or (name.startswith(".") and not self.showHidden):
            return None, ()
        if os.path.lexists(os.path.join(self.path, name)):
            # It exists but File refused it (a link out of the root, a
            # device): nothing to create there.
            return None, ()
        # Missing: a resource PUT, MKCOL or LOCK may create; anything
        # below it is missing too (and its creation a 409).
        return self.createSimilarFile(os.path.join(self.path, name)), segments[1:]

    def listChildren(self):
        return [name for name in File.listChildren(self) if not isReserved(name)]

    # Naming

    def davKey(self) -> str:
        """
        This resource's key: its path below the tree's root.
        """
        rel = os.path.relpath(self.path, self._dav.root)
        return "" if rel == "." else rel.replace(os.sep, "/")

    def isCollection(self) -> bool:
        return os.path.isdir(self.path)

    def resourceForKey(self, key: str) -> DAVFile:
        """
        The resource of this tree at C{key} (which L{keyForURL} checked).
        """
        path = self._dav.root
        if key:
            path = os.path.join(path, *key.split("/"))
        return self.createSimilarFile(path)

    def rootPath(self, request) -> str:
        """
        The URL path of this tree's root for C{request}, without a
        trailing slash (C{""} at the root of a site).
        """
        cached = getattr(request, "_web2davRoot", None)
        if cached is not None and cached[0] is self:
            return cached[1]
        try:
            url = request.urlForResource(self)
        except Exception:
            url = request.path
        url = url.rstrip("/")
        key = self.davKey()
        if key:
            suffix = "/" + "/".join(quoteSegment(s) for s in key.split("/"))
            if url.endswith(suffix):
                url = url[: -len(suffix)]
        try:
            request._web2davRoot = (self, url)
        except AttributeError:
            pass
        return url

    def hrefFor(self, request, key: str, isCollection: bool) -> str:
        """
        The URL path of the resource at C{key}.
        """
        href = self.rootPath(request)
        if key:
            href += "/" + "/".join(quoteSegment(s) for s in key.split("/"))
        if isCollection or not key:
            href += "/"
        return href or "/"

    def keyForURL(self, request, url: str, strict: bool = False):
        """
        The key of the resource C{url} (absolute, or a path) names in this
        tree, or C{None} when it is outside it.

        @param strict: raise instead: 502 for another server, 400 for a
            path with dot segments or that is not absolute, 403 for a
            reserved or hidden name or a place outside the tree.
        """
        parts = urllib.parse.urlsplit(url)
        if parts.netloc:
            default = 443 if parts.scheme == "https" else 80
            if splitHostPort(parts.netloc, default) != (request.host, request.port):
                if strict:
                    raise http.HTTPError(responsecode.BAD_GATEWAY,
                                         "The destination is on another server.")
                return None
        path = parts.path
        if not path.startswith("/"):
            if strict:
                raise http.HTTPError(responsecode.BAD_REQUEST, "The destination is not a URL.")
            return None
        segments = [urllib.parse.unquote(s, errors="surrogateescape") for s in path[1:].split("/")]
        if any(s in (".", "..") for s in segments):
            if strict:
                raise http.HTTPError(responsecode.BAD_REQUEST, "Dot segments are not allowed.")
            return None
        while segments and segments[-1] == "":
            segments.pop()
        root = self.rootPath(request)
        rootSegments = [urllib.parse.unquote(s, errors="surrogateescape") for s in root[1:].split("/")] if root else []
        rest = segments[len(rootSegments):]
        if segments[: len(rootSegments)] != rootSegments or not all(
            isSafeSegment(s) and not isReserved(s) and (self.showHidden or not s.startswith("."))
            for s in rest
        ):
            if strict:
                raise http.HTTPError(responsecode.FORBIDDEN,
                                     "The destination is outside this WebDAV tree.")
            return None
        return "/".join(rest)

    def isInsideTree(self, path: str) -> bool:
        """
        Whether the real location of the parent of C{path} is inside this
        tree (no symbolic link leads a write out of it).
        """
        return isInside(os.path.realpath(os.path.dirname(path)), self._dav.realRoot)

    # Dispatch and OPTIONS

    def allowedMethods(self):
        methods = File.allowedMethods(self)
        if self._dav.readOnly:
            methods = tuple(m for m in methods if m not in WRITE_METHODS)
        return methods

    def renderHTTP(self, request):
        if self._dav.readOnly and request.method in WRITE_METHODS:
            response = http.StatusResponse(
                responsecode.NOT_ALLOWED, "This WebDAV tree is read-only."
            )
            response.headers.setRawHeaders("allow", [", ".join(self.allowedMethods())])
            return response
        return File.renderHTTP(self, request)

    def http_OPTIONS(self, request):
        response = http.Response(responsecode.OK)
        headers = response.headers
        headers.setRawHeaders("allow", [", ".join(self.allowedMethods())])
        headers.setRawHeaders("dav", ["1" if self._dav.readOnly else "1, 2"])
        headers.setRawHeaders("ms-author-via", ["DAV"])
        return response

    # Preconditions: the If header and locks

    def checkPreconditions(self, request):
        result = File.checkPreconditions(self, request)
        ifValue = self.ifHeader(request)
        if ifValue is not None and request.method not in WRITE_METHODS:
            self.assertIf(request)
        return result

    def ifHeader(self, request):
        """
        The parsed C{If} header of C{request}, or C{None}; 400 if malformed.
        """
        try:
            return request.headers.getHeader("if")
        except HeaderParseError as e:
            raise http.HTTPError(responsecode.BAD_REQUEST, f"Malformed If header: {e}") from None

    def _stateOf(self, key):
        resource = self.resourceForKey(key)
        tokens = {lock.token for lock in self._dav.locks.covering(key)}
        return resource.etag(), tokens

    def assertIf(self, request):
        """
        412 unless the request's C{If} header (if any) holds.
        """
        ifValue = self.ifHeader(request)
        if ifValue is None:
            return
        if not locks_mod.evaluateIf(
            ifValue, self.davKey(), lambda url: self.keyForURL(request, url), self._stateOf
        ):
            raise http.HTTPError(responsecode.PRECONDITION_FAILED,
                                 "The conditions of the If header do not hold.")

    def assertUnlocked(self, request, key: str, recursive: bool = False):
        """
        423 (C{DAV:lock-token-submitted}) if a lock covers C{key} (or, with
        C{recursive}, is rooted below it) and the request's C{If} header
        does not submit its token (or, for shared locks, the token of
        another shared lock on the same root).
        """
        manager = self._dav.locks
        held = manager.covering(key)
        if recursive:
            held += manager.below(key)
        if not held:
            return
        submitted = locks_mod.submittedTokens(self.ifHeader(request))
        satisfied = {lock.key for lock in held if lock.token in submitted}
        blocking = [lock for lock in held if lock.token not in submitted and lock.key not in satisfied]
        if blocking:
            raise davxml.davError(
                responsecode.LOCKED, dav("lock-token-submitted"),
                sorted({lock.rootHref for lock in blocking}),
            )

    def assertCanModify(self, request, key: str, recursive=False, membership=False):
        """
        The checks of a modifying method on C{key}: its locks (423), its
        parent's when its membership changes, then the C{If} header (412).
        """
        self.assertUnlocked(request, key, recursive)
        if membership and key:
            self.assertUnlocked(request, parentKey(key))

    def failIfError(self, error: OSError, what: str):
        """
        Raise the L{http.HTTPError} reporting a failed file operation.
        """
        code = statusForError(error)
        if code == responsecode.INTERNAL_SERVER_ERROR:
            log.error("WebDAV {what} failed: {e}", what=what, e=error)
        raise http.HTTPError(code, f"{what} failed: {error.strerror or error}") from None


def parentKey(key: str) -> str:
    """
    The key of the collection containing C{key}.
    """
    return key.rpartition("/")[0]
