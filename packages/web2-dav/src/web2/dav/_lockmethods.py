# -*- test-case-name: test_dav_locks -*-
"""
LOCK and UNLOCK (RFC 4918 sections 9.10 and 9.11), mixed into
L{web2.dav.DAVFile}: exclusive and shared write locks of Depth 0 or
infinity, refreshes, and the creation of an empty resource when an
unmapped URL is locked (RFC 4918 7.3, which replaced lock-null resources).
"""

from __future__ import annotations

import math
import os

from twisted.logger import Logger

from web2 import http, responsecode
from web2.dav import davxml
from web2.dav._propmethods import requestDepth
from web2.dav.davxml import dav, element, serialize
from web2.dav.live import lockDiscovery
from web2.dav.locks import submittedTokens
from web2.http_headers import HeaderParseError, MimeType

log = Logger()

#: The longest Retry-After a refused LOCK is given, in seconds: a lock may
#: be released (UNLOCK) long before the first one expires.
MAX_RETRY_AFTER = 600

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _lockResponse(code, locks, remaining, token=None):
    root = element(dav("prop"))
    root.append(lockDiscovery(locks, remaining))
    response = davxml.xmlResponse(code, root)
    if token is not None:
        response.headers.setRawHeaders("lock-token", [f"<{token}>"])
    return response


def _tooManyLocks(manager, root):
    """
    The answer to a LOCK past the tree's cap of live locks.

    Why 503 with C{Retry-After} rather than 507: the condition is
    temporary and the server knows when it ends (the first lock expires,
    if none is released before), which is what C{Retry-After} says; 507
    (RFC 4918 11.5) is about storing a representation, and no client
    retries it later by itself.  The body is plain text saying why.

    The first refusal after a lock was last granted logs one line; more
    refusals in a row do not (a client hammering LOCK cannot fill the log).
    """
    wait = manager.secondsUntilExpiry()
    retry = MAX_RETRY_AFTER if wait is None else min(MAX_RETRY_AFTER, max(1, math.ceil(wait)))
    if manager.refusals == 0:
        log.warn(
            "WebDAV tree {root}: {count} locks held, the most allowed (maxLocks); "
            "refusing LOCK with 503 until one expires or is released",
            root=root, count=manager.maxLocks)
    manager.refusals += 1
    message = (f"This WebDAV tree holds {manager.maxLocks} locks, the most it allows. "
               f"Retry after {retry} seconds, when one may have expired or been released.\n")
    response = http.Response(
        responsecode.SERVICE_UNAVAILABLE,
        {"content-type": MimeType("text", "plain", {"charset": "utf-8"})},
        message.encode("utf-8"),
    )
    response.headers.setRawHeaders("retry-after", [str(retry)])
    return response


def _lockInfo(root):
    """
    The scope and serialized owner of a C{DAV:lockinfo} body.
    """
    if root.tag != dav("lockinfo"):
        raise http.HTTPError(responsecode.BAD_REQUEST, "The body of a LOCK must be DAV:lockinfo.")
    scope = owner = None
    write = False
    for child in root:
        if child.tag == dav("lockscope"):
            for node in child:
                if node.tag in (dav("exclusive"), dav("shared")):
                    scope = node.tag[len("{DAV:}"):]
        elif child.tag == dav("locktype"):
            write = any(node.tag == dav("write") for node in child)
        elif child.tag == dav("owner"):
            owner = serialize(child)
    if scope is None or not write:
        raise http.HTTPError(responsecode.BAD_REQUEST,
                             "A LOCK needs an exclusive or shared write lockscope.")
    return scope, owner


class LockMethods:
    """
    LOCK and UNLOCK.
    """

    def _requestTimeout(self, request):
        try:
            requested = request.headers.getHeader("timeout")
        except HeaderParseError:
            requested = None
        return self._dav.locks.grantedTimeout(requested)

    async def http_LOCK(self, request):
        key = self.davKey()
        manager = self._dav.locks
        timeout = self._requestTimeout(request)
        root = await davxml.readXMLBody(request, self._dav.maxXMLBody)
        if root is None:
            return self._refresh(request, key, timeout)
        scope, owner = _lockInfo(root)
        depth = requestDepth(request, "infinity", ("0", "infinity"))
        exists = os.path.lexists(self.path)
        if not exists:
            self._assertCanCreateIn(self.path)
        self.assertIf(request)
        conflicts = manager.conflicts(key, depth, scope)
        if conflicts:
            raise davxml.davError(
                responsecode.LOCKED, dav("no-conflicting-lock"),
                sorted({lock.rootHref for lock in conflicts}),
            )
        if not exists and key:
            self.assertUnlocked(request, key.rpartition("/")[0])
        if len(manager) >= manager.maxLocks:
            raise http.HTTPError(_tooManyLocks(manager, self._dav.root))
        if not exists:
            try:
                os.close(os.open(self.path, _CREATE_FLAGS, 0o666))
            except OSError as e:
                self.failIfError(e, "LOCK")
            self._dav.store.clearNew(self.path)
        lock = manager.create(
            key, depth, scope, owner, timeout,
            rootHref=self.hrefFor(request, key, self.isCollection()),
        )
        return _lockResponse(
            responsecode.OK if exists else responsecode.CREATED,
            [lock], manager.remaining, lock.token,
        )

    def _refresh(self, request, key, timeout):
        """
        A LOCK without a body refreshes the locks whose tokens its If
        header submits.
        """
        manager = self._dav.locks
        ifValue = self.ifHeader(request)
        if ifValue is None:
            raise http.HTTPError(responsecode.BAD_REQUEST,
                                 "A LOCK without a body refreshes, and needs an If header.")
        tokens = submittedTokens(ifValue)
        held = [lock for lock in manager.covering(key) if lock.token in tokens]
        if not held:
            raise davxml.davError(responsecode.PRECONDITION_FAILED,
                                  dav("lock-token-matches-request-uri"))
        self.assertIf(request)
        for lock in held:
            manager.refresh(lock, timeout)
        return _lockResponse(responsecode.OK, held, manager.remaining)

    def http_UNLOCK(self, request):
        try:
            token = request.headers.getHeader("lock-token")
        except HeaderParseError:
            token = None
        if token is None:
            raise http.HTTPError(responsecode.BAD_REQUEST, "UNLOCK needs a Lock-Token.")
        manager = self._dav.locks
        lock = manager.get(token)
        if lock is None or not lock.covers(self.davKey()):
            raise davxml.davError(responsecode.CONFLICT, dav("lock-token-matches-request-uri"))
        manager.remove(token)
        return http.Response(responsecode.NO_CONTENT)
