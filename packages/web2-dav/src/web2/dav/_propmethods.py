# -*- test-case-name: test_dav_propfind -*-
"""
PROPFIND and PROPPATCH (RFC 4918 sections 9.1 and 9.2), mixed into
L{web2.dav.DAVFile}.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections import deque

from twisted.internet.defer import Deferred

from web2 import http, responsecode
from web2.dav import davxml
from web2.dav.davxml import dav, element, emptyElementXML, propertyXML, serialize
from web2.dav.live import LIVE, PROTECTED, PropInfo
from web2.dav.props import StoreFull
from web2.http_headers import HeaderParseError
from web2.resource import quoteSegment
from web2.stream import SimpleStream

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def requestDepth(request, default: str, allowed=("0", "1", "infinity")) -> str:
    """
    The request's C{Depth} (C{default} when absent); 400 if malformed or
    not one of C{allowed}.
    """
    try:
        depth = request.headers.getHeader("depth")
    except HeaderParseError:
        depth = "invalid"
    if depth is None:
        depth = default
    if depth not in allowed:
        raise http.HTTPError(responsecode.BAD_REQUEST, f"Depth {depth} is not allowed here.")
    return depth


#: Members whose properties are computed between two returns to the
#: reactor: each batch is stat'ed in a thread first, so that a PROPFIND of
#: a large collection neither blocks on the disk nor holds the reactor for
#: the whole answer (other connections are served between batches).
_BATCH = 200


def _statPaths(paths):
    """
    C{os.stat} of each path, or C{None} for one that is gone (runs in a
    thread).
    """
    result = []
    for path in paths:
        try:
            result.append(os.stat(path))
        except OSError:
            result.append(None)
    return result


class _Walk:
    """
    The resources one PROPFIND reports, and its answer, a batch of
    members at a time (L{nextBatch}).

    Work is proportional to the resources reported: a collection whose
    listing would take the answer past C{maxPropfindResources} is refused
    (507) before any of its members is looked at; locks are looked up
    only for C{DAV:lockdiscovery}, each in time proportional to the depth
    of the member (see L{web2.dav.locks}); each member's part of the
    answer is written as text (L{davxml.propStatsXML}).

    @ivar stopped: set when the client is gone: no further batch is made.
    """

    def __init__(self, top, request, mode, names):
        self.top = top
        self.request = request
        self.mode = mode
        self.names = names
        self.settings = top._dav
        self.limit = top._dav.maxPropfindResources
        self.sidecars = {}
        self.queued = 1
        self.pending = deque()
        self.prefixes = {}
        self.stopped = False

    def report(self, resource, key, collection, st) -> str:
        """
        The C{DAV:response} of one resource, as text.
        """
        settings = self.settings
        dead = settings.store.properties(resource.path, collection, self.sidecars)
        info = PropInfo(st, collection, key, settings.locks)
        return davxml.propStatsXML(
            self.href(key, collection), resource._propStats(self.mode, self.names, info, dead))

    def href(self, key: str, collection: bool) -> str:
        """
        The URL path of the resource at C{key}: its collection's, made
        once per collection, and its own name (L{DAVFile.hrefFor} would
        quote every segment of every member again).
        """
        if not key:
            return self.top.hrefFor(self.request, key, collection)
        parent, _, name = key.rpartition("/")
        prefix = self.prefixes.get(parent)
        if prefix is None:
            prefix = self.prefixes[parent] = self.top.hrefFor(self.request, parent, True)
        return prefix + quoteSegment(name) + ("/" if collection else "")

    async def list(self, resource, key, remaining):
        """
        Queue the members of the collection C{resource}.
        """
        children = await self.settings.runInThread(resource.listChildren)
        self.queued += len(children)
        if self.queued > self.limit:
            raise http.HTTPError(responsecode.INSUFFICIENT_STORAGE_SPACE,
                                 f"A PROPFIND reports at most {self.limit} resources.")
        prefix = key + "/" if key else ""
        for name in children:
            self.pending.append((resource, name, prefix + name, remaining))

    async def nextBatch(self) -> list[str]:
        """
        The parts of the answer for the next members (at most L{_BATCH}),
        or an empty list when all are reported.
        """
        pending, request = self.pending, self.request
        while pending and not self.stopped:
            batch = []
            while pending and len(batch) < _BATCH:
                parent, name, key, remaining = pending.popleft()
                child, _ = parent.locateChild(request, (name,))
                if isinstance(child, PropertyMethods):
                    batch.append((child, key, remaining))
            if not batch:
                continue
            stats = await self.settings.runInThread(_statPaths, [c.path for c, _, _ in batch])
            parts = []
            for (child, key, remaining), st in zip(batch, stats, strict=True):
                if st is None:
                    continue
                collection = stat_mod.S_ISDIR(st.st_mode)
                parts.append(self.report(child, key, collection, st))
                if collection and remaining != "0":
                    await self.list(child, key, remaining)
            if parts:
                return parts
        return []


def _encode(parts) -> bytes:
    # A name that is not UTF-8 reaches the text as lone surrogates, which
    # xmlText replaces; "replace" is for anything that escaped it.
    return "".join(parts).encode("utf-8", "replace")


class _MultiStatusStream(SimpleStream):
    """
    The body of a PROPFIND, made a batch of members at a time as the
    channel asks for it: the reactor serves other connections between two
    batches, a client that does not read holds the walk (the channel stops
    asking), and the body is never all in memory at once.

    A failure after the first batch can no longer change the status: the
    stream fails, and the channel aborts the response and its connection
    (a client never takes a truncated multistatus for a whole one).
    """

    length = None

    def __init__(self, walk, first: bytes):
        self._walk = walk
        self._first = first
        self._done = False

    def read(self):
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._done:
            return None
        return Deferred.fromCoroutine(self._next())

    async def _next(self):
        walk = self._walk
        if walk is None:
            return None
        parts = await walk.nextBatch()
        if self._done:
            return None
        if not parts:
            self._end()
            return davxml.MULTISTATUS_END.encode()
        return _encode(parts)

    def _end(self):
        # The walk refers to the request, which refers to its response and
        # so to this stream: let go of it, so that reference counting frees
        # the request and its connection's objects once they are done,
        # instead of the cyclic garbage collector, later.
        self._done = True
        self._first = None
        walk, self._walk = self._walk, None
        if walk is not None:
            walk.stopped = True

    def close(self):
        self._end()


def _badRequest(message):
    return http.HTTPError(responsecode.BAD_REQUEST, message)


class PropertyMethods:
    """
    PROPFIND and PROPPATCH.
    """

    async def http_PROPFIND(self, request):
        if not self.exists():
            raise http.HTTPError(responsecode.NOT_FOUND, "There is no such resource.")
        depth = requestDepth(request, "infinity")
        if depth == "infinity" and not self._dav.allowInfiniteDepth:
            raise davxml.davError(responsecode.FORBIDDEN, dav("propfind-finite-depth"))
        root = await davxml.readXMLBody(request, self._dav.maxXMLBody)
        mode, names = _propfindRequest(root)
        walk = _Walk(self, request, mode, names)
        key = self.davKey()
        collection, st = self._statForProps()
        parts = [davxml.MULTISTATUS_START]
        if st is not None:
            parts.append(walk.report(self, key, collection, st))
            if collection and depth != "0":
                await walk.list(self, key, "0" if depth == "1" else "infinity")
        if depth == "infinity":
            # Collections found on the way are listed as the walk goes, and
            # one may take the answer past the limit: all of it is made
            # before the status is sent, so that limit can still be a 507.
            while batch := await walk.nextBatch():
                parts.extend(batch)
            parts.append(davxml.MULTISTATUS_END)
            body = _encode(parts)
        else:
            # Every member is known (listed above): the answer is streamed.
            body = _MultiStatusStream(walk, _encode(parts))
        return http.Response(responsecode.MULTI_STATUS, {"content-type": davxml.XML_TYPE}, body)

    def _statForProps(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return False, None
        return stat_mod.S_ISDIR(st.st_mode), st

    def _propStats(self, mode, names, info, dead) -> dict:
        """
        C{{status: [elements as text]}} for one resource.
        """
        found, missing = [], []
        if mode == "prop":
            for name in names:
                if name in dead:
                    node = propertyXML(dead[name])
                else:
                    compute = LIVE.get(name)
                    node = compute(self, info) if compute is not None else None
                if node is None:
                    missing.append(emptyElementXML(name))
                else:
                    found.append(node)
        else:
            for name, compute in LIVE.items():
                if name in dead:
                    continue
                node = compute(self, info)
                if node is not None:
                    found.append(emptyElementXML(name) if mode == "propname" else node)
            for name, value in dead.items():
                node = emptyElementXML(name) if mode == "propname" else propertyXML(value)
                if node is not None:
                    found.append(node)
        result = {}
        if found:
            result[responsecode.OK] = found
        if missing:
            result[responsecode.NOT_FOUND] = missing
        return result

    async def http_PROPPATCH(self, request):
        if not self.exists():
            raise http.HTTPError(responsecode.NOT_FOUND, "There is no such resource.")
        key = self.davKey()
        self.assertIf(request)
        self.assertCanModify(request, key)
        root = await davxml.readXMLBody(request, self._dav.maxXMLBody)
        operations = _proppatchRequest(root)
        statuses = {}
        for name, _value in operations:
            if name in PROTECTED:
                statuses[name] = responsecode.FORBIDDEN
        if not statuses:
            collection = self.isCollection()
            try:
                self._dav.store.update(self.path, collection, operations)
                code = responsecode.OK
            except StoreFull:
                code = responsecode.INSUFFICIENT_STORAGE_SPACE
            except OSError as e:
                code = self._proppatchError(e)
            statuses = {name: code for name, _ in operations}
        else:
            for name, _value in operations:
                statuses.setdefault(name, responsecode.FAILED_DEPENDENCY)
        byStatus = {}
        for name, code in statuses.items():
            byStatus.setdefault(code, []).append(element(name))
        multistatus = davxml.MultiStatus()
        multistatus.addPropStats(self.hrefFor(request, key, self.isCollection()), byStatus)
        return multistatus.response()

    def _proppatchError(self, error):
        from web2.dav.resource import statusForError

        code = statusForError(error)
        return code if code != responsecode.NOT_FOUND else responsecode.CONFLICT


def _propfindRequest(root):
    """
    The kind of a PROPFIND body (C{allprop}, C{propname} or C{prop}) and,
    for C{prop}, the Clark names asked for.
    """
    if root is None:
        return "allprop", ()
    if root.tag != dav("propfind"):
        raise _badRequest("The body of a PROPFIND must be DAV:propfind.")
    for child in root:
        if child.tag == dav("allprop"):
            return "allprop", ()
        if child.tag == dav("propname"):
            return "propname", ()
        if child.tag == dav("prop"):
            names = [node.tag for node in child if isinstance(node.tag, str)]
            return "prop", names
    raise _badRequest("DAV:propfind needs DAV:prop, DAV:allprop or DAV:propname.")


def _proppatchRequest(root):
    """
    The operations of a PROPPATCH body, in document order:
    C{[(clarkName, storedValue or None)]}.
    """
    if root is None or root.tag != dav("propertyupdate"):
        raise _badRequest("The body of a PROPPATCH must be DAV:propertyupdate.")
    operations = []
    for action in root:
        if action.tag not in (dav("set"), dav("remove")):
            continue
        for prop in action:
            if prop.tag != dav("prop"):
                continue
            for node in prop:
                if not isinstance(node.tag, str):
                    continue
                if action.tag == dav("remove"):
                    operations.append((node.tag, None))
                    continue
                if node.get(_XML_LANG) is None:
                    for ancestor in node.iterancestors():
                        lang = ancestor.get(_XML_LANG)
                        if lang is not None:
                            node.set(_XML_LANG, lang)
                            break
                operations.append((node.tag, serialize(node)))
    if not operations:
        raise _badRequest("DAV:propertyupdate names no property.")
    return operations
