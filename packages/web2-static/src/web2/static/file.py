# -*- test-case-name: test_static_file -*-
"""
L{File}: a file or a directory on disk, served over HTTP.

What a request costs: traversal does one C{lstat} per URL segment (it tells
both whether the entry exists and whether it is a link, and only links pay
for a C{realpath}); a small file cached in memory is then served with no
further system call; any other file is opened (with C{O_NOFOLLOW} and
C{O_NONBLOCK}) and C{fstat}ed, and its body is a L{web2.stream.FileStream}
that the channel sends with C{os.sendfile} on plain TCP, or reads in chunks
elsewhere (TLS), so the file never sits in Python memory whole.

Blocking-I/O policy: C{stat}, C{lstat}, C{open} and C{fstat} of a local file
run on the reactor thread (they are metadata operations the kernel usually
answers from its caches, and moving them to a thread costs more than they
do).  Reading a directory for a listing and filling the memory cache run in
a thread (C{runInThread}).  File bodies are copied by the kernel
(sendfile), or read 64 KiB at a time by the core's L{web2.stream.FileStream}.
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
import weakref

from twisted.logger import Logger

from web2 import http, responsecode, stream
from web2.http_headers import Headers, generateDateTime
from web2.static import dirlist, mime
from web2.static._policy import Policy, errorFor, normalize
from web2.static.cache import FileCache
from web2.static.data import StaticRenderMixin, parseETag
from web2.static.paths import isHidden, isSafeSegment, resolveChild

log = Logger()

_DEFAULT = object()

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


_CONDITIONAL = ("if-none-match", "if-modified-since", "if-match", "if-unmodified-since")


def _isCoarseAndRecent(st) -> bool:
    """
    Whether the file's modification time has whole-second resolution (its
    file system keeps no finer one) and lies within the last second: it
    could still change without its metadata showing it.
    """
    return st.st_mtime_ns % 1_000_000_000 == 0 and time.time() - st.st_mtime < 1.0


def _etagFor(st, coding=None) -> str:
    """
    The entity tag of a file: strong, from its inode, size and modification
    time in nanoseconds (plus the coding of a precompressed variant); weak
    only when the file system's timestamps are too coarse to tell two
    versions apart (L{_isCoarseAndRecent}).
    """
    tag = f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}{"-" + coding if coding else ""}"'
    return "W/" + tag if _isCoarseAndRecent(st) else tag


def _noRequest():
    return None


def _stampFor(request, st):
    """
    The C{stat} of a File as seen while answering C{request}: reused for
    that request only, and holding no reference that keeps it alive (a
    File may be remembered between requests).
    """
    return (_noRequest if request is None else weakref.ref(request), st)


def _policySetting(name: str, doc: str):
    def get(self):
        return getattr(self._policy, name)

    def set(self, value):
        self._policy = self._policy.changed(**{name: value})

    return property(get, set, doc=doc)


class File(StaticRenderMixin):
    """
    A file or a directory on disk.

    A file is served with its Content-Type (from its extension, see
    L{web2.static.mime}), a strong ETag and a Last-Modified from its
    metadata, so conditional requests and ranges work through the site's
    default filters.  A directory is served as its index file, as a
    listing if listings are on, or as 403; requested without a trailing
    slash it is redirected (301) to the same URL with one.

    Every setting applies to the whole tree below the File it was given to.
    The settings are attributes too (C{f.indexNames = ["home.html"]});
    changing one affects that File and the children it creates afterwards.
    """

    defaultType = _policySetting("defaultType", "The type of unknown extensions.")
    ignoredExts = _policySetting("ignoredExts", "Extensions a URL may leave out.")
    processors = _policySetting("processors", "Extension -> callable(path) -> resource.")
    indexNames = _policySetting("indexNames", "Index file names, in order.")
    listing = _policySetting("listing", "Whether directories without index are listed.")
    showHidden = _policySetting("showHidden", "Whether dot-files are served and listed.")
    followSymlinks = _policySetting("followSymlinks", "Follow links out of the root.")
    contentTypes = _policySetting("contentTypes", "The extension -> type table.")
    precompressed = _policySetting("precompressed", "(coding, suffix) variants.")
    cache = _policySetting("cache", "The L{FileCache}, or None.")

    # (policy, Content-Type) of this file, worked out once per policy.
    _typeFor = (None, None)

    def __init__(
        self,
        path,
        defaultType: str = mime.DEFAULT_TYPE,
        ignoredExts=(),
        processors=None,
        indexNames=None,
        *,
        listing: bool = False,
        showHidden: bool = False,
        allowHidden=(".well-known",),
        followSymlinks: bool = False,
        contentTypes=None,
        precompressed=True,
        cache=_DEFAULT,
        cacheControl: str | None = None,
        runInThread=None,
        maxListingEntries: int = 10000,
    ):
        """
        @param path: the file or directory (C{str} or C{os.PathLike}); it is
            the root of the tree this File serves: nothing outside it is
            reachable through it.
        @param defaultType: the type of files whose extension is unknown.
        @param ignoredExts: extensions a URL may leave out: with C{".html"},
            C{/about} finds C{about.html} when C{about} does not exist;
            C{"*"} tries any extension (at the cost of reading the
            directory).
        @param processors: C{{".ext": callable(path) -> resource}}: files
            with that extension are handed to the resource the callable
            makes (a script runner, a template renderer), which also
            receives any path segments after the file's name.
        @param indexNames: the names tried, in order, for a directory
            requested with a trailing slash (default C{index.html},
            C{index.htm}).
        @param listing: list directories without an index (off by default:
            a listing shows what the operator may not mean to publish).
        @param showHidden: serve and list names starting with a dot (off by
            default, so C{.git} or C{.env} in a served tree stay private).
        @param allowHidden: hidden names served even so (C{.well-known},
            for ACME and friends).
        @param followSymlinks: follow symbolic links that lead out of the
            root (links that stay inside are always followed).
        @param contentTypes: overrides of the built-in type table
            (C{{".ext": "type/subtype"}}).
        @param precompressed: serve C{NAME.br} / C{NAME.zst} / C{NAME.gz}
            found beside C{NAME} to clients accepting that coding, with
            C{Content-Encoding} and C{Vary: Accept-Encoding}; C{False} to
            turn off, or a sequence of C{(coding, suffix)} in order of
            preference.  A variant older than the file is ignored as stale.
        @param cache: a L{FileCache} for small files' contents, shared by the
            whole tree (by default a new one with default bounds), or
            C{None} for no caching.
        @param cacheControl: a C{Cache-Control} value for files, if any.
        @param runInThread: C{f(callable, *args) -> Deferred} running
            blocking work (listings, cache fills) off the reactor thread;
            L{twisted.internet.threads.deferToThread} by default.
        @param maxListingEntries: the most entries a listing shows.
        """
        path = os.path.abspath(os.fspath(path))
        settings = dict(
            defaultType=defaultType,
            ignoredExts=ignoredExts,
            processors=processors,
            indexNames=("index.html", "index.htm") if indexNames is None else indexNames,
            listing=listing,
            showHidden=showHidden,
            allowHidden=allowHidden,
            followSymlinks=followSymlinks,
            contentTypes=mime.buildTable(contentTypes),
            precompressed=precompressed,
            cacheControl=cacheControl,
            maxListingEntries=maxListingEntries,
        )
        if runInThread is not None:
            settings["runInThread"] = runInThread
        if cache is _DEFAULT:
            cache = FileCache(**({"runInThread": runInThread} if runInThread else {}))
        settings["cache"] = cache
        real = os.path.realpath(path)
        self._policy = Policy(root=real, **normalize(settings))
        self.path = path
        self._real = real
        self._stamp = None
        self.children = {}

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self.path!r}>"

    # Children

    def createSimilarFile(self, path, realPath=None):
        """
        A File for C{path} (below this one) with the same settings and
        class: the way every child is made, so a subclass's children are of
        the subclass.  C{realPath} defaults to C{os.path.realpath(path)};
        callers outside traversal must check that C{path} is inside the
        root themselves.
        """
        child = self.__class__.__new__(self.__class__)
        child.__dict__.update(self.__dict__)
        child.path = path
        child._real = os.path.realpath(path) if realPath is None else realPath
        child._stamp = None
        child.children = {}
        child._typeFor = (None, None)
        return child

    def putChild(self, name: str, child):
        """
        Serve C{child} at C{name} below this directory, whatever the disk
        holds there.
        """
        self.children[name] = child

    def locateChild(self, request, segments):
        name = segments[0]
        child = self.children.get(name)
        if child is not None:
            return child, segments[1:]
        if name == "":
            # A trailing slash names this directory (or the root file,
            # which a site serves at "/"); an empty segment anywhere else
            # ("a//b") names nothing, nor does "file.txt/".
            if len(segments) == 1 and (
                _isSiteRoot(request) or self.isdir(request)
            ):
                return self, ()
            return None, ()
        if self._policy.processors:
            st = self._currentStat(request)
            if st is not None and stat_mod.S_ISREG(st.st_mode):
                processor = self._processorFor(self.path)
                if processor is not None:
                    return processor(self.path), segments
        child = self._child(request, name, last=len(segments) == 1)
        return child, segments[1:]

    def _child(self, request, name, last=True, index=False):
        """
        The resource for the entry C{name} of this directory, or C{None}
        when policy refuses the name or nothing can be below it.
        """
        policy = self._policy
        known = policy.knownChildren.get(self._real, name)
        if known is not None:
            child = self._knownChild(request, name, known, policy)
            if child is not None:
                return child
        if not isSafeSegment(name):
            return None
        if (
            not index and isHidden(name) and not policy.showHidden
            and name not in policy.allowHidden
        ):
            return None
        try:
            real, st = resolveChild(self._real, name, policy.root, policy.followSymlinks)
            if st is None and real is not None and policy.ignoredExts:
                name, real, st = self._siblingSearch(name, real, st)
        except OSError as e:
            raise errorFor(e) from None
        except ValueError:
            return None
        if real is None:
            return None
        if st is None:
            # Missing: a resource that answers 404 (and that a subclass may
            # create with PUT), but nothing can be found below it.
            if not last:
                return None
        elif stat_mod.S_ISREG(st.st_mode):
            processor = self._processorFor(name)
            if processor is not None:
                return processor(os.path.join(self.path, name))
        elif not stat_mod.S_ISDIR(st.st_mode):
            # FIFOs, sockets and devices are never served: opening one
            # could block the reactor.
            return None
        child = self.createSimilarFile(os.path.join(self.path, name), real)
        child._stamp = _stampFor(request, st)
        if (
            st is not None
            and not isHidden(name)
            and real == os.path.join(self._real, name)
            and self._processorFor(name) is None
        ):
            # Neither hidden nor reached through a link: the same File can
            # answer this name next time, after one lstat (_knownChild).
            policy.knownChildren.remember(self._real, name, (policy, child))
        return child

    def _knownChild(self, request, name, known, policy):
        """
        The File made earlier for the entry C{name}, if the policy is the
        same and the entry is still a plain file or directory (not a link,
        which must be checked against the root again); else C{None}, and
        the entry is forgotten.
        """
        knownPolicy, child = known
        if knownPolicy is policy:
            try:
                st = os.lstat(child._real)
            except OSError:
                st = None
            if st is not None:
                mode = st.st_mode
                if stat_mod.S_ISREG(mode) or stat_mod.S_ISDIR(mode):
                    child._stamp = _stampFor(request, st)
                    return child
        policy.knownChildren.forget(self._real, name)
        return None

    def _siblingSearch(self, name, real, st):
        policy = self._policy
        candidates = [name + ext for ext in policy.ignoredExts if ext != "*"]
        if "*" in policy.ignoredExts:
            prefix = name + "."
            try:
                found = sorted(n for n in os.listdir(self._real) if n.startswith(prefix))
            except OSError:
                found = []
            candidates.extend(n for n in found if n not in candidates)
        for candidate in candidates:
            if not isSafeSegment(candidate):
                continue
            cReal, cSt = resolveChild(self._real, candidate, policy.root, policy.followSymlinks)
            if cReal is not None and cSt is not None and stat_mod.S_ISREG(cSt.st_mode):
                return candidate, cReal, cSt
        return name, real, st

    def _processorFor(self, name):
        processors = self._policy.processors
        if not processors:
            return None
        return processors.get(os.path.splitext(name)[1].lower())

    def listChildren(self):
        """
        The names of this directory's children that a client may reach:
        those put with L{putChild} and the visible entries on disk.
        """
        names = set(self.children)
        try:
            entries = os.listdir(self._real)
        except OSError:
            entries = []
        policy = self._policy
        for name in entries:
            if isSafeSegment(name) and (
                policy.showHidden or not isHidden(name) or name in policy.allowHidden
            ):
                names.add(name)
        return sorted(names)

    # Metadata

    def _currentStat(self, request=None):
        stamp = self._stamp
        if stamp is not None and request is not None and stamp[0]() is request:
            return stamp[1]
        try:
            return os.stat(self._real)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        except OSError as e:
            raise errorFor(e) from None

    def exists(self) -> bool:
        return self._currentStat() is not None

    def isdir(self, request=None) -> bool:
        st = self._currentStat(request)
        return st is not None and stat_mod.S_ISDIR(st.st_mode)

    def etag(self):
        st = self._currentStat()
        return None if st is None or stat_mod.S_ISDIR(st.st_mode) else parseETag(_etagFor(st))

    def etagFromStat(self, st) -> str:
        """
        The entity tag of this file, as an C{ETag} header value, from
        C{st}, its C{os.stat} result: what L{etag} gives, without a stat
        of its own, for a caller that has just made one (a WebDAV listing
        of thousands of files).
        """
        return _etagFor(st)

    def lastModified(self):
        st = self._currentStat()
        return None if st is None else int(st.st_mtime)

    def contentLength(self):
        st = self._currentStat()
        return None if st is None or stat_mod.S_ISDIR(st.st_mode) else st.st_size

    def contentType(self):
        return self.contentTypeFromStat(self._currentStat())

    def contentTypeFromStat(self, st) -> str:
        """
        The Content-Type of this file given C{st}, its C{os.stat} result
        (or C{None}): what L{contentType} gives, without a stat of its own
        (see L{etagFromStat}).
        """
        if st is not None and stat_mod.S_ISDIR(st.st_mode):
            return "httpd/unix-directory"
        policy = self._policy
        return mime.contentTypeFor(self.path, policy.contentTypes, policy.defaultType)

    def displayName(self):
        return os.path.basename(self.path)

    @property
    def fp(self):
        """
        This file's path as a L{twisted.python.filepath.FilePath}.
        """
        from twisted.python.filepath import FilePath

        return FilePath(self.path)

    # Rendering

    def renderHTTP(self, request):
        if self._policy.processors:
            st = self._currentStat(request)
            if st is not None and stat_mod.S_ISREG(st.st_mode):
                processor = self._processorFor(self.path)
                if processor is not None:
                    return processor(self.path)
        return StaticRenderMixin.renderHTTP(self, request)

    def render(self, request):
        st = self._currentStat(request)
        if st is None:
            raise http.HTTPError(responsecode.NOT_FOUND, "There is no such file.")
        mode = st.st_mode
        if stat_mod.S_ISREG(mode):
            return self._renderFile(request, st)
        if stat_mod.S_ISDIR(mode):
            return self._renderDirectory(request)
        raise http.HTTPError(responsecode.NOT_FOUND, "There is no such file.")

    def _renderFile(self, request, st):
        policy = self._policy
        typeFor = self._typeFor
        if typeFor[0] is policy:
            contentType = typeFor[1]
        else:
            contentType = mime.contentTypeFor(self.path, policy.contentTypes, policy.defaultType)
            self._typeFor = (policy, contentType)
        real = self._real
        coding = None
        vary = False
        if policy.precompressed:
            acceptEncoding = request.headers.getRawHeaders("accept-encoding")
            if acceptEncoding:
                vary = True
                variant = policy.variantFinder.find(
                    real, st, acceptEncoding, policy.precompressed,
                    policy.root, policy.followSymlinks,
                )
                if variant is not None:
                    coding, real, st = variant
        if _isCoarseAndRecent(st):
            # A weak ETag for now; never kept as a template.
            headers = self._buildHeaders(contentType, coding, vary, st)
        else:
            headers = policy.headerTemplates.get(
                (real, contentType, coding, vary), st,
                lambda: self._buildHeaders(contentType, coding, vary, st),
            )
        cache = policy.cache
        if cache is not None:
            data = cache.get(real, st)
            if data is not None:
                return http.Response(responsecode.OK, headers, stream.MemoryStream(data))
        requestHeaders = request.headers
        for name in _CONDITIONAL:
            if requestHeaders.hasHeader(name):
                # Answer 304 or 412 before opening the file at all.
                http.checkPreconditions(request, http.Response(responsecode.OK, headers))
                break
        return self._openResponse(real, headers, coding, st)

    def _buildHeaders(self, contentType, coding, vary, st):
        headers = Headers()
        headers.setRawHeaders("content-type", [contentType])
        headers.setRawHeaders("x-content-type-options", ["nosniff"])
        cacheControl = self._policy.cacheControl
        if cacheControl:
            headers.setRawHeaders("cache-control", [cacheControl])
        if vary:
            headers.setRawHeaders("vary", ["Accept-Encoding"])
        if coding:
            headers.setRawHeaders("content-encoding", [coding])
        headers.setRawHeaders("etag", [_etagFor(st, coding)])
        headers.setRawHeaders("last-modified", [generateDateTime(int(st.st_mtime))])
        return headers

    def _openResponse(self, real, headers, coding, expected):
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError as e:
            raise errorFor(e) from None
        except ValueError:
            raise http.HTTPError(responsecode.NOT_FOUND, "There is no such file.") from None
        try:
            st = os.fstat(fd)
            if not stat_mod.S_ISREG(st.st_mode):
                raise http.HTTPError(responsecode.NOT_FOUND, "There is no such file.")
            f = os.fdopen(fd, "rb", buffering=0)
        except BaseException:
            os.close(fd)
            raise
        if (st.st_ino, st.st_size, st.st_mtime_ns) != (
            expected.st_ino, expected.st_size, expected.st_mtime_ns
        ):
            # The file was replaced since the stat: the validators must
            # describe the file actually opened.
            headers.setRawHeaders("etag", [_etagFor(st, coding)])
            headers.setRawHeaders("last-modified", [generateDateTime(int(st.st_mtime))])
        body = stream.FileStream(f, 0, st.st_size, closeFile=True)
        return http.Response(responsecode.OK, headers, body)

    def _renderDirectory(self, request):
        path = request.path
        if not path.endswith("/"):
            # A relative reference: right behind any proxy, and it cannot
            # point to another host.
            location = "./" + path.rsplit("/", 1)[-1] + "/"
            if request.querystring:
                location += "?" + request.querystring
            return http.RedirectResponse(location)
        for name in self._policy.indexNames:
            child = self._child(request, name, index=True)
            if child is None:
                continue
            if not isinstance(child, File):
                return child
            st = child._stamp[1]
            if st is not None and stat_mod.S_ISREG(st.st_mode):
                return child
        if self._policy.listing:
            return self._renderListing(request)
        raise http.HTTPError(responsecode.FORBIDDEN, "Directory listing is disabled here.")

    def _renderListing(self, request):
        policy = self._policy
        d = policy.runInThread(
            dirlist.scanDirectory, self._real, policy.root, policy.showHidden,
            policy.followSymlinks, policy.contentTypes, policy.defaultType,
            policy.maxListingEntries,
        )

        def failed(failure):
            failure.trap(OSError)
            raise errorFor(failure.value)

        return d.addCallbacks(dirlist.listingResponse, failed, (request,))


def _isSiteRoot(request) -> bool:
    """
    Whether traversal has consumed nothing yet: the resource being asked
    about is the site's root, which answers C{/}.
    """
    return not getattr(request, "prepath", None)
