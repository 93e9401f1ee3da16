# -*- test-case-name: test_dav_write -*-
"""
The methods that change the namespace and the content: PUT, MKCOL,
DELETE, COPY and MOVE (RFC 4918 sections 9.3 to 9.9, RFC 9110 9.3.4),
mixed into L{web2.dav.DAVFile}.

Uploads are written to a temporary file beside the target, in batches of
C{putFlushSize} bytes handed to a thread, then renamed over the target,
so a reader never sees half a file and a failed upload leaves nothing (a
crash leaves a temporary file, which L{web2.dav._temp} removes when the
tree is next opened).  A body is capped by C{maxUploadSize}: one declaring
more is refused before anything is written, and one that passes it is cut
off with 413 and its connection closed.
Tree work (DELETE of a collection, COPY, MOVE across file systems, an
overwritten destination) runs in a thread too.
"""

from __future__ import annotations

import os
import stat as stat_mod

from twisted.internet import defer
from twisted.logger import Logger

from web2 import http, responsecode
from web2.dav import _temp, davxml, fileops
from web2.dav._propmethods import requestDepth
from web2.dav.locks import isBelow
from web2.http_headers import HeaderParseError
from web2.stream import StreamTooLong, readAll

log = Logger()


def _created(response=None):
    return http.Response(responsecode.CREATED) if response is None else response


class WriteMethods:
    """
    PUT, MKCOL, DELETE, COPY and MOVE.
    """

    # PUT

    async def http_PUT(self, request):
        if request.headers.hasHeader("content-range"):
            raise http.HTTPError(responsecode.BAD_REQUEST, "Partial PUT is not supported.")
        if self.isCollection():
            raise http.HTTPError(responsecode.NOT_ALLOWED, "A collection has no content to PUT.")
        self._assertCanCreateIn(self.path)
        existed = os.path.lexists(self.path)
        self.assertIf(request)
        self.assertCanModify(request, self.davKey(), membership=not existed)
        limit = self._dav.maxUploadSize
        length = request.stream.length
        if limit is not None and length is not None and length > limit:
            log.info("WebDAV PUT {path}: refused a body of {length} bytes "
                     "(maxUploadSize {limit})", path=self.path, length=length, limit=limit)
            raise http.HTTPError(responsecode.REQUEST_ENTITY_TOO_LARGE,
                                 f"Uploads are limited to {limit} bytes.")
        try:
            temp, fd = _temp.createTemp(os.path.dirname(self.path))
        except OSError as e:
            self.failIfError(e, "PUT")
        try:
            try:
                await self._receive(request.stream, fd, limit)
                if existed:
                    try:
                        os.chmod(temp, stat_mod.S_IMODE(os.stat(self.path).st_mode))
                    except OSError:
                        pass
                # Renamed while still open, so still locked (see _temp).
                os.replace(temp, self.path)
            finally:
                os.close(fd)
                _temp.releaseTemp(temp)
        except BaseException as e:
            try:
                os.unlink(temp)
            except OSError:
                pass
            if isinstance(e, OSError):
                self.failIfError(e, "PUT")
            raise
        if not existed:
            self._dav.store.clearNew(self.path)
        response = http.Response(responsecode.NO_CONTENT if existed else responsecode.CREATED)
        etag = self.etag()
        if etag is not None:
            response.headers.setHeader("etag", etag)
        return response

    async def _receive(self, body, fd, limit):
        """
        Write the request body C{body} to C{fd}, C{putFlushSize} bytes at a
        time in a thread; 413 past C{limit}.
        """
        flushSize = self._dav.putFlushSize
        runInThread = self._dav.runInThread
        pending, size, total = [], 0, 0
        while True:
            data = body.read()
            if isinstance(data, defer.Deferred):
                data = await data
            if data is None:
                break
            total += len(data)
            if limit is not None and total > limit:
                # The rest could be endless: stop reading it, and close the
                # connection after the answer rather than drain it.
                body.close()
                log.info("WebDAV PUT {path}: cut off a body past {limit} bytes "
                         "(maxUploadSize)", path=self.path, limit=limit)
                response = http.StatusResponse(responsecode.REQUEST_ENTITY_TOO_LARGE,
                                               f"Uploads are limited to {limit} bytes.")
                response.headers.setRawHeaders("connection", ["close"])
                raise http.HTTPError(response)
            pending.append(data)
            size += len(data)
            if size >= flushSize:
                await runInThread(fileops.writeAll, fd, b"".join(pending))
                pending, size = [], 0
        if pending:
            await runInThread(fileops.writeAll, fd, b"".join(pending))

    def _assertCanCreateIn(self, path):
        if not os.path.isdir(os.path.dirname(path)):
            raise http.HTTPError(responsecode.CONFLICT, "The parent collection does not exist.")
        if not self.isInsideTree(path):
            raise http.HTTPError(responsecode.FORBIDDEN, "That place is outside this tree.")

    # MKCOL

    async def http_MKCOL(self, request):
        if os.path.lexists(self.path):
            raise http.HTTPError(responsecode.NOT_ALLOWED, "That resource already exists.")
        body = request.stream
        if body.length:
            raise http.HTTPError(responsecode.UNSUPPORTED_MEDIA_TYPE, "MKCOL takes no body.")
        if body.length is None:
            try:
                data = await readAll(body, self._dav.maxXMLBody)
            except StreamTooLong:
                data = b"too long"
            if data:
                raise http.HTTPError(responsecode.UNSUPPORTED_MEDIA_TYPE, "MKCOL takes no body.")
        self._assertCanCreateIn(self.path)
        self.assertIf(request)
        self.assertCanModify(request, self.davKey(), membership=True)
        try:
            os.mkdir(self.path)
        except OSError as e:
            self.failIfError(e, "MKCOL")
        return http.Response(responsecode.CREATED)

    # DELETE

    async def http_DELETE(self, request):
        if not os.path.lexists(self.path):
            raise http.HTTPError(responsecode.NOT_FOUND, "There is no such resource.")
        key = self.davKey()
        if key == "":
            raise http.HTTPError(responsecode.FORBIDDEN, "The root of the tree cannot be deleted.")
        collection = self.isCollection()
        if collection:
            requestDepth(request, "infinity", ("infinity",))
        self.assertIf(request)
        self.assertCanModify(request, key, recursive=collection, membership=True)
        failures = await self._dav.runInThread(fileops.deleteTree, self.path)
        return self._afterDelete(request, key, collection, failures)

    def _afterDelete(self, request, key, collection, failures):
        if not failures:
            self._dav.store.remove(self.path, collection)
            self._dav.locks.removeTree(key)
            return http.Response(responsecode.NO_CONTENT)
        if len(failures) == 1 and failures[0][0] == self.path:
            self.failIfError(failures[0][1], "DELETE")
        return self._failureReport(request, failures)

    def _failureReport(self, request, failures):
        """
        207 naming each member whose operation failed.
        """
        from web2.dav.resource import statusForError

        multistatus = davxml.MultiStatus()
        root = self._dav.root
        for path, error in failures:
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            key = "" if rel == "." else rel
            multistatus.addStatus(
                self.hrefFor(request, key, os.path.isdir(path)), statusForError(error)
            )
        return multistatus.response()

    # COPY and MOVE

    def http_COPY(self, request):
        return self._copyOrMove(request, False)

    def http_MOVE(self, request):
        return self._copyOrMove(request, True)

    async def _copyOrMove(self, request, move: bool):
        what = "MOVE" if move else "COPY"
        if not os.path.lexists(self.path):
            raise http.HTTPError(responsecode.NOT_FOUND, "There is no such resource.")
        collection = self.isCollection()
        destination = request.headers.getRawHeaders("destination")
        if not destination:
            raise http.HTTPError(responsecode.BAD_REQUEST, f"{what} needs a Destination.")
        destKey = self.keyForURL(request, destination[0], strict=True)
        try:
            overwrite = request.headers.getHeader("overwrite")
        except HeaderParseError:
            raise http.HTTPError(responsecode.BAD_REQUEST, "Overwrite is T or F.") from None
        overwrite = True if overwrite is None else overwrite
        depth = "infinity"
        if collection:
            depth = requestDepth(request, "infinity", ("infinity",) if move else ("0", "infinity"))
        srcKey = self.davKey()
        if move and srcKey == "":
            raise http.HTTPError(responsecode.FORBIDDEN, "The root of the tree cannot move.")
        if destKey == srcKey:
            raise http.HTTPError(responsecode.FORBIDDEN, "Source and destination are the same.")
        if destKey == "" or (collection and isBelow(destKey, srcKey)) or isBelow(srcKey, destKey):
            raise http.HTTPError(responsecode.FORBIDDEN,
                                 "A resource cannot be copied or moved into itself or over "
                                 "its own collection.")
        dest = self.resourceForKey(destKey)
        self._assertCanCreateIn(dest.path)
        destExists = os.path.lexists(dest.path)
        if destExists and not overwrite:
            raise http.HTTPError(responsecode.PRECONDITION_FAILED,
                                 "The destination exists and Overwrite is F.")
        destCollection = destExists and dest.isCollection()
        self.assertIf(request)
        if move:
            self.assertCanModify(request, srcKey, recursive=collection, membership=True)
        self.assertCanModify(request, destKey, recursive=destCollection, membership=not destExists)
        runInThread = self._dav.runInThread
        store = self._dav.store
        if destExists:
            if destCollection or collection:
                failures = await runInThread(fileops.deleteTree, dest.path)
                if failures:
                    return self._failureReport(request, failures)
            store.remove(dest.path, destCollection)
        try:
            if move:
                failures = await runInThread(fileops.moveTree, self.path, dest.path)
            else:
                failures = await runInThread(
                    fileops.copyTree, self.path, dest.path, depth == "infinity"
                )
        except OSError as e:
            self.failIfError(e, what)
        if failures and failures[0][0] in (self.path, dest.path) and len(failures) == 1:
            self.failIfError(failures[0][1], what)
        if move:
            if not failures:
                store.move(self.path, dest.path, collection)
                self._dav.locks.removeTree(srcKey)
        elif not collection or depth == "0":
            store.copy(self.path, dest.path, collection)
        if failures:
            return self._failureReport(request, failures)
        if destExists:
            return http.Response(responsecode.NO_CONTENT)
        response = http.Response(responsecode.CREATED)
        response.headers.setRawHeaders("location", [self.hrefFor(request, destKey, dest.isCollection())])
        return response
