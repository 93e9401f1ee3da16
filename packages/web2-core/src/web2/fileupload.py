# -*- test-case-name: test_fileupload -*-
"""
Form posts: L{parsePOSTData} reads an C{application/x-www-form-urlencoded}
or C{multipart/form-data} request body, as it streams in, into
C{request.args} and C{request.files}, within limits.

Limits (all keyword parameters of L{parsePOSTData}):
  - C{maxSize}: the whole body, in bytes.  A declared Content-Length over
    it is refused before anything is read; a chunked body is refused as
    soon as it passes it.  413.
  - C{maxFields}: the number of fields, every multipart part (file or not)
    and every non-empty urlencoded pair counting one.  C{maxFields} are
    accepted, one more is refused.  413.
  - C{maxFiles}: the number of file parts (each may hold a file
    descriptor once on disk).  413.
  - C{maxMem}: the bytes held in memory: the values of the non-file
    multipart fields in total, or the whole of a urlencoded body.  413.
  - C{spoolThreshold}: how many bytes of uploaded files, in total, stay in
    memory; every file that would pass it is rolled over to a temporary
    file on disk (in C{tempDir}).  Not an error.
Malformed bodies get 400 and a message saying what is wrong; a content
type that is not a form gets 415 (Unsupported Media Type).  Every refusal
is an L{HTTPError} carrying a L{StatusResponse} and logs one line.

Text: field names, values and file names are decoded with the part's
C{charset} parameter (values only), else the charset named by the form's
C{_charset_} field (or the request Content-Type's C{charset}), else UTF-8;
undecodable bytes follow C{errors} (by default C{"surrogateescape"}, like
the query string in L{web2.server.Request.args}, so the bytes can be
recovered).  An unknown charset is a 400.  Blank values are kept.

Bytes are pulled from the request stream only as fast as they are parsed
and written out (file writes are plain synchronous writes), so the channel
stops reading from the socket while the application is behind.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from urllib.parse import unquote_to_bytes

from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.logger import Logger

from web2 import stream as stream_mod
from web2._multipart import (
    FormError,
    MultipartParser,
    PartData,
    PartEnd,
    PartHead,
    checkBoundary,
    parseFormDisposition,
)
from web2.http import HTTPError, StatusResponse
from web2.http_headers import HeaderParseError, MimeType, decodeExtValue

__all__ = ["FormError", "UploadedFile", "parsePOSTData", "sanitizeFilename"]

log = Logger(namespace=__name__)

_FIELD_TYPE = MimeType("text", "plain")
_FILE_TYPE = MimeType("application", "octet-stream")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadedFile:
    """
    One file of a C{multipart/form-data} post.

    It unpacks like the original's C{(filename, contentType, file)} tuple.

    @ivar name: the form field name.
    @ivar filename: the client's file name without any directory part (see
        L{sanitizeFilename}); C{""} when the browser sent none (no file
        chosen).
    @ivar contentType: the part's L{MimeType}, C{application/octet-stream}
        when it had none.
    @ivar file: a binary file object positioned at 0: a
        L{tempfile.SpooledTemporaryFile}, on disk once rolled over.
    @ivar size: the number of bytes in C{file}.
    @ivar headers: the part's headers, C{(name, value)} pairs of C{str}.
    """

    def __init__(self, name, filename, contentType, file, size=0, headers=()):
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.file = file
        self.size = size
        self.headers = list(headers)

    def __iter__(self):
        return iter((self.filename, self.contentType, self.file))

    def close(self):
        """
        Close (and so delete) the temporary file.
        """
        self.file.close()

    def __repr__(self) -> str:
        return (f"<UploadedFile {self.name!r} filename={self.filename!r} "
                f"{self.contentType} {self.size} bytes>")


def sanitizeFilename(filename: str) -> str:
    """
    Reduce a client-supplied file name to a bare name (RFC 7578 section
    4.2): drop everything up to the last C{/} or C{\\} and a drive letter,
    control characters and surrounding whitespace; C{.} and C{..} become
    C{""}.  The result is still untrusted text, only free of path syntax.
    """
    name = filename.replace("\\", "/").rpartition("/")[2]
    name = _CONTROL.sub("", _DRIVE.sub("", name)).strip()
    return "" if name in (".", "..") else name


def _codec(charset: str) -> str:
    """
    @return: C{charset} if it names a text codec.
    @raise FormError: 400 if it does not.
    """
    try:
        info = codecs.lookup(charset)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise FormError(400, f"Unsupported charset {charset[:40]!r}")
    return charset


class _Form:
    """
    What a form body produced so far, undecoded, and the accounting of the
    field and memory limits common to both encodings.  Decoding waits for
    the end because a later C{_charset_} field may name the charset.
    """

    def __init__(self, limits, charset):
        self.limits = limits
        self.charset = charset
        self.fields = []  # (name bytes, value bytes, charset or None)
        self.files = []  # (name bytes, filename bytes or str, UploadedFile)
        self.count = 0
        self.memory = 0

    def countField(self):
        self.count += 1
        if self.count > self.limits["maxFields"]:
            raise FormError(413, f"Too many form fields (more than "
                                 f"{self.limits['maxFields']})")

    def countFile(self):
        if len(self.files) >= self.limits["maxFiles"]:
            raise FormError(413, f"Too many files (more than "
                                 f"{self.limits['maxFiles']})")

    def countMemory(self, size):
        self.memory += size
        if self.memory > self.limits["maxMem"]:
            raise FormError(413, f"Form fields too large (more than "
                                 f"{self.limits['maxMem']} bytes)")

    def decoded(self):
        """
        @return: C{(args, files)}, the dicts to merge into the request.
        """
        errors = self.limits["errors"]
        charset = self.charset
        if charset is None:
            for name, value, _ in self.fields:
                if name == b"_charset_":
                    charset = value.decode("ascii", "replace").strip()
                    break
        charset = _codec(charset or "utf-8")
        args, files = {}, {}
        for name, value, partCharset in self.fields:
            key = name.decode(charset, errors)
            args.setdefault(key, []).append(value.decode(partCharset or charset, errors))
        for name, filename, upload in self.files:
            if isinstance(filename, bytes):
                filename = filename.decode(charset, errors)
            upload.name = name.decode(charset, errors)
            upload.filename = sanitizeFilename(filename)
            files.setdefault(upload.name, []).append(upload)
        return args, files

    def close(self):
        for _, _, upload in self.files:
            upload.close()


class _URLEncodedReceiver:
    """
    An C{application/x-www-form-urlencoded} body: held whole (it is all
    field data, so C{maxMem} bounds it) and split at the end.  Invalid
    percent escapes are kept literally, as the query string parser does.
    """

    def __init__(self, contentType, limits):
        self.form = _Form(limits, contentType.params.get("charset"))
        self.chunks = []

    def feed(self, data):
        self.form.countMemory(len(data))
        self.chunks.append(data)

    def finish(self):
        form = self.form
        for pair in b"".join(self.chunks).split(b"&"):
            if not pair:
                continue
            form.countField()
            name, _, value = pair.replace(b"+", b" ").partition(b"=")
            form.fields.append((unquote_to_bytes(name), unquote_to_bytes(value), None))
        return form.decoded()

    def abort(self):
        self.chunks = []


class _MultipartReceiver:
    """
    A C{multipart/form-data} body, parsed as it arrives: fields are
    gathered in memory, files written to spooled temporary files.
    """

    def __init__(self, contentType, limits):
        boundary = contentType.params.get("boundary")
        if boundary is None:
            raise FormError(400, "multipart/form-data without a boundary parameter")
        self.parser = MultipartParser(checkBoundary(boundary))
        self.form = _Form(limits, contentType.params.get("charset"))
        self.limits = limits
        self.spooled = 0  # file bytes in memory, for spoolThreshold
        self.chunks = None  # the current field's value, or None in a file
        self.upload = None  # the current file's UploadedFile
        self.rolled = False  # whether the current file is on disk
        self.handlers = {PartHead: self.partHead, PartData: self.partData,
                         PartEnd: self.partEnd}

    def feed(self, data):
        handlers = self.handlers
        for event in self.parser.feed(data):
            handlers[event.__class__](event)

    def finish(self):
        self.parser.feedEOF()
        return self.form.decoded()

    def abort(self):
        if self.upload is not None:
            self.upload.close()
        self.form.close()

    def partHead(self, head):
        self.form.countField()
        disposition = head.get("content-disposition")
        if disposition is None:
            raise FormError(400, "A multipart part has no Content-Disposition")
        kind, params = parseFormDisposition(disposition)
        name = params.get("name")
        if kind != "form-data" or name is None:
            raise FormError(400, "A multipart part's Content-Disposition is not "
                                 "'form-data' with a name")
        rawType = head.get("content-type")
        try:
            contentType = MimeType.fromString(rawType) if rawType else None
        except ValueError:
            raise FormError(400, "A multipart part has a malformed Content-Type") from None
        name = name.encode("latin-1")
        filename = params.get("filename")
        if filename is not None:
            filename = filename.encode("latin-1")
        if "filename*" in params:
            try:
                filename = decodeExtValue(params["filename*"])[0]
            except ValueError:
                if filename is None:
                    filename = b""
        if filename is None:
            charset = contentType.params.get("charset") if contentType else None
            self.chunks = []
            self.form.fields.append((name, self.chunks, charset and _codec(charset)))
            return
        self.form.countFile()
        file = tempfile.SpooledTemporaryFile(max_size=0, dir=self.limits["tempDir"])
        self.upload = UploadedFile(None, None, contentType or _FILE_TYPE, file,
                                   headers=head.headers)
        self.form.files.append((name, filename, self.upload))
        self.rolled = False

    def partData(self, event):
        data = event.data
        upload = self.upload
        if upload is None:
            self.form.countMemory(len(data))
            self.chunks.append(data)
            return
        if not self.rolled:
            if self.spooled + len(data) > self.limits["spoolThreshold"]:
                upload.file.rollover()
                self.spooled -= upload.size
                self.rolled = True
            else:
                self.spooled += len(data)
        upload.file.write(data)
        upload.size += len(data)

    def partEnd(self, event):
        upload = self.upload
        if upload is None:
            fields = self.form.fields
            name, chunks, charset = fields[-1]
            fields[-1] = (name, b"".join(chunks), charset)
            self.chunks = None
            return
        upload.file.seek(0)
        self.upload = None


_RECEIVERS = {
    ("application", "x-www-form-urlencoded"): _URLEncodedReceiver,
    ("multipart", "form-data"): _MultipartReceiver,
}


def _receiverFor(request, limits):
    """
    @return: the receiver for the request's body, or C{None} if there is
        nothing to parse.
    @raise FormError: the body is refused without reading it.
    """
    body = request.stream
    if body is None or body.length == 0:
        return None
    try:
        contentType = request.headers.getHeader("content-type")
    except HeaderParseError:
        raise FormError(400, "Malformed Content-Type header") from None
    if contentType is None:
        return None
    factory = _RECEIVERS.get((contentType.mediaType, contentType.mediaSubtype))
    if factory is None:
        raise FormError(415, f"Expected a form (application/x-www-form-urlencoded "
                             f"or multipart/form-data), not "
                             f"{contentType.mediaType}/{contentType.mediaSubtype}")
    if body.length is not None:
        cap = limits["maxSize"]
        if factory is _URLEncodedReceiver:
            cap = min(cap, limits["maxMem"])
        if body.length > cap:
            raise FormError(413, f"Request body too large (more than {cap} bytes)")
    return factory(contentType, limits)


def parsePOSTData(request, maxMem=100 * 1024, maxFields=1024,
                  maxSize=10 * 1024 * 1024, spoolThreshold=256 * 1024,
                  tempDir=None, errors="surrogateescape", maxFiles=100):
    """
    Parse a form body into C{request.args} (merged after the query
    arguments) and C{request.files}; see the module docstring for the
    rules and limits.

    A request with an empty body or no Content-Type is left alone.

    @param maxMem: see the module docstring; default 100 KiB.
    @param maxFields: default 1024.
    @param maxSize: default 10 MiB.
    @param maxFiles: default 100.
    @param spoolThreshold: default 256 KiB.
    @param tempDir: the directory of rolled-over files; C{None} for the
        system's temporary directory.
    @param errors: the codec error handler for undecodable text.
    @return: a Deferred firing C{None} once the body is parsed, or failing
        with an L{HTTPError} (400, 413 or 415) that refuses it.
    """
    limits = {"maxMem": maxMem, "maxFields": maxFields, "maxSize": maxSize,
              "maxFiles": maxFiles,
              "spoolThreshold": spoolThreshold, "tempDir": tempDir,
              "errors": errors}
    try:
        receiver = _receiverFor(request, limits)
    except FormError as e:
        if request.stream is not None:
            request.stream.close()
        return defer.fail(_refuse(request, e))
    if receiver is None:
        return defer.succeed(None)
    received = [0]

    def chunk(data):
        received[0] += len(data)
        if received[0] > maxSize:
            raise FormError(413, f"Request body too large (more than {maxSize} bytes)")
        receiver.feed(data)

    def done(_):
        if received[0] == 0:
            return None
        args, files = receiver.finish()
        for key, values in args.items():
            request.args.setdefault(key, []).extend(values)
        for key, values in files.items():
            request.files.setdefault(key, []).extend(values)
        return None

    def failed(failure):
        receiver.abort()
        if failure.check(ConnectionLost, ConnectionDone):
            failure = FormError(400, "The request body ended early")
        elif failure.check(FormError):
            failure = failure.value
        else:
            return failure
        raise _refuse(request, failure)

    d = stream_mod.readStream(request.stream, chunk)
    d.addCallback(done)
    d.addErrback(failed)
    return d


def _refuse(request, error):
    """
    Log a refused form body and turn C{error} into an L{HTTPError}.
    """
    log.info("Refused the form body of {method} {uri}: {status} {message}",
             method=request.method, uri=request.uri, status=error.status,
             message=error.message)
    return HTTPError(StatusResponse(error.status, error.message))
