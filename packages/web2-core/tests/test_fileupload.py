"""
Tests for L{web2.fileupload}: form bodies into C{request.args} and
C{request.files}, the limits, charsets and file names, and the statuses
of refused bodies, both on a stand-in request and through a real channel.
"""

from __future__ import annotations

import os

import pytest
from _core_helpers import Connection
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

from web2 import fileupload, resource, stream
from web2.fileupload import UploadedFile, parsePOSTData, sanitizeFilename
from web2.http import HTTPError, StatusResponse
from web2.http_headers import Headers, MimeType

URLENC = "application/x-www-form-urlencoded"
B = "xYz-123"
MULTI = "multipart/form-data; boundary=" + B


class FakeRequest:
    """
    Just what L{parsePOSTData} uses of a request.  A C{chunks} list makes a
    body of unknown length, written into a L{stream.ProducerStream}.
    """

    method = "POST"
    uri = "/form?q=1"

    def __init__(self, body=b"", contentType=URLENC, chunks=None):
        self.headers = Headers()
        if contentType is not None:
            self.headers.setRawHeaders("content-type", [contentType])
        if chunks is None:
            self.stream = stream.MemoryStream(body)
        else:
            self.stream = stream.ProducerStream()
        self.chunks = chunks
        self.args = {"q": ["1"]}
        self.files = {}


def post(body=b"", contentType=URLENC, chunks=None, **limits):
    """
    Run L{parsePOSTData}; return the request, having checked that the
    parse succeeded.
    """
    request, result = attempt(body, contentType, chunks, **limits)
    if isinstance(result, Failure):
        result.raiseException()
    return request


def attempt(body=b"", contentType=URLENC, chunks=None, **limits):
    """
    Run L{parsePOSTData}; return the request and the result (C{None} or a
    L{Failure}).
    """
    request = FakeRequest(body, contentType, chunks)
    results = []
    parsePOSTData(request, **limits).addBoth(results.append)
    for chunk in chunks or ():
        request.stream.write(chunk)
    if chunks is not None:
        request.stream.finish()
    assert len(results) == 1
    return request, results[0]


def refused(status, body=b"", contentType=URLENC, chunks=None, **limits):
    """
    Check that the body is refused with C{status}; return the message.
    """
    request, result = attempt(body, contentType, chunks, **limits)
    assert isinstance(result, Failure), result
    result.trap(HTTPError)
    response = result.value.response
    assert isinstance(response, StatusResponse)
    assert response.code == status, response.description
    return response.description


def multipart(*parts, boundary=B, epilogue=b"\r\n"):
    """
    A multipart body of C{(disposition params, content, extra headers)}.
    """
    out = []
    for params, content, *extra in parts:
        out.append(b"--" + boundary.encode() + b"\r\n")
        if params is not None:
            out.append(b"Content-Disposition: form-data; " + params + b"\r\n")
        for header in extra:
            out.append(header + b"\r\n")
        out.append(b"\r\n" + content + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--" + epilogue)
    return b"".join(out)


# Nothing to do


def test_noBodyOrNoContentType():
    assert post(b"", URLENC).args == {"q": ["1"]}
    assert post(b"", MULTI).args == {"q": ["1"]}
    assert post(b"a=1", None).args == {"q": ["1"]}
    assert post(contentType=MULTI, chunks=[]).args == {"q": ["1"]}


def test_wrongContentType():
    assert "application/json" in refused(415, b"{}", "application/json")
    assert refused(415, b"x", "multipart/mixed; boundary=x")


def test_malformedContentType():
    refused(400, b"a=1", "application/x-www-form-urlencoded; =")


# urlencoded


def test_urlencoded():
    request = post(b"a=1&b=two+words&a=%41%2b&c=%e2%82%ac")
    assert request.args == {"q": ["1"], "a": ["1", "A+"], "b": ["two words"],
                            "c": ["\u20ac"]}
    assert request.files == {}


def test_urlencodedMergesWithQuery():
    assert post(b"q=2").args == {"q": ["1", "2"]}


def test_urlencodedBlankValuesKept():
    """
    Blank values are kept, like the query string parser does (the original
    dropped them).
    """
    assert post(b"a=&b&&c=").args == {"q": ["1"], "a": [""], "b": [""], "c": [""]}


def test_urlencodedInvalidEscapesKept():
    assert post(b"a=%zz&b=100%&c=%4").args == {
        "q": ["1"], "a": ["%zz"], "b": ["100%"], "c": ["%4"]}


def test_urlencodedInvalidUTF8():
    assert post(b"a=%ff").args["a"] == ["\udcff"]
    assert post(b"a=%ff", errors="replace").args["a"] == ["\ufffd"]


def test_urlencodedCharset():
    assert post(b"a=%e9", URLENC + "; charset=latin-1").args["a"] == ["\xe9"]
    assert post(b"a=%e9&_charset_=iso-8859-1").args["a"] == ["\xe9"]
    assert post(b"_charset_=iso-8859-1&%e9=%e9").args["\xe9"] == ["\xe9"]
    assert "Unsupported charset" in refused(400, b"a=1&_charset_=nonesuch")
    refused(400, b"a=1", URLENC + "; charset=base64")


def test_urlencodedFieldLimit():
    """
    C{maxFields} fields are accepted, one more is not; empty pairs do not
    count.
    """
    assert len(post(b"a=1&&b=2&c", maxFields=3).args) == 4
    assert "Too many form fields" in refused(413, b"a=1&b=2&c&d", maxFields=3)


def test_urlencodedSizeLimits():
    """
    A urlencoded body is all in memory, so C{maxMem} bounds it, and
    C{maxSize} too; exactly at the limit is fine.
    """
    body = b"a=" + b"x" * 98
    assert post(body, maxMem=100).args["a"] == ["x" * 98]
    refused(413, body + b"x", maxMem=100)
    refused(413, body + b"x", maxSize=100)
    assert post(chunks=[body[:50], body[50:]], maxMem=100).args["a"] == ["x" * 98]
    refused(413, chunks=[body, b"x"], maxMem=100)


def test_knownLengthRefusedUnread():
    """
    A declared length over the limit is refused before the body is read,
    and the stream is closed to say so.
    """
    request, result = attempt(b"a=" + b"x" * 200, maxMem=100)
    assert result.value.response.code == 413
    assert request.stream.closed


# multipart


def test_multipartFieldsAndFiles():
    body = multipart(
        (b'name="title"', b"Hello\r\nworld"),
        (b'name="doc"; filename="a.txt"', b"file one", b"Content-Type: text/x-a"),
        (b'name="doc"; filename="b.bin"', b"\x00\x01"),
        (b'name="title"', b""),
        (b'name="pic"; filename="p.png"', b"png", b"Content-Type: image/png"),
    )
    request = post(body, MULTI)
    assert request.args == {"q": ["1"], "title": ["Hello\r\nworld", ""]}
    assert sorted(request.files) == ["doc", "pic"]
    a, b = request.files["doc"]
    assert (a.name, a.filename, a.contentType, a.size) == (
        "doc", "a.txt", MimeType("text", "x-a"), 8)
    assert a.file.tell() == 0 and a.file.read() == b"file one"
    # The original's == typo left this None.
    assert b.contentType == MimeType("application", "octet-stream")
    assert b.file.read() == b"\x00\x01"
    filename, contentType, file = request.files["pic"][0]
    assert (filename, str(contentType), file.read()) == ("p.png", "image/png", b"png")
    assert a.headers[-1] == ("content-type", "text/x-a")


def test_multipartPreambleAndEpilogue():
    body = b"preamble\r\n" + multipart((b"name=a", b"1"), epilogue=b"\r\nepilogue")
    assert post(body, MULTI).args["a"] == ["1"]


def test_multipartQuotedBoundary():
    boundary = "with space:and=more"
    body = multipart((b"name=a", b"1"), boundary=boundary)
    contentType = f'multipart/form-data; boundary="{boundary}"'
    assert post(body, contentType).args["a"] == ["1"]


@pytest.mark.parametrize("params, expected", [
    (rb'filename="C:\Users\me\report.pdf"', "report.pdf"),
    (b'filename="../../etc/passwd"', "passwd"),
    (rb'filename="say \"hi\".txt"', 'say "hi".txt'),
    (b'filename="say "hi".txt"', 'say "hi".txt'),
    (rb'filename="back\\slash.txt"', "slash.txt"),
    (b'filename="caf\xc3\xa9.txt"', "caf\xe9.txt"),
    (b"filename*=UTF-8''%e2%82%ac%20rates.txt", "\u20ac rates.txt"),
    (b"filename=\"fallback.txt\"; filename*=UTF-8''%e2%82%ac.txt", "\u20ac.txt"),
    (b"filename=\"fallback.txt\"; filename*=bogus", "fallback.txt"),
    (b'filename="a\x01b"', "ab"),
    (b'filename=""', ""),
    (b'filename=".."', ""),
])
def test_multipartFilenames(params, expected):
    body = multipart((b'name="f"; ' + params, b"data"))
    upload = post(body, MULTI).files["f"][0]
    assert upload.filename == expected
    assert upload.file.read() == b"data"


def test_emptyFilenameIsKept():
    """
    A file input with no file chosen arrives as an empty part with an
    empty file name; it stays in C{files} (as browsers build it).
    """
    body = multipart((b'name="f"; filename=""', b"",
                      b"Content-Type: application/octet-stream"))
    (upload,) = post(body, MULTI).files["f"]
    assert (upload.filename, upload.size, upload.file.read()) == ("", 0, b"")


def test_multipartCharsets():
    """
    A part's charset wins, then C{_charset_}, then UTF-8; names and file
    names follow the form's charset.
    """
    body = multipart(
        (b'name="a"', b"\xe9"),
        (b'name="b"', b"\xe9", b"Content-Type: text/plain; charset=iso-8859-1"),
        (b'name="\xe9"; filename="\xe9.txt"', b"x"),
        (b'name="_charset_"', b"windows-1252"),
    )
    request = post(body, MULTI)
    assert request.args["a"] == ["\xe9"]
    assert request.args["b"] == ["\xe9"]
    assert request.args["_charset_"] == ["windows-1252"]
    assert request.files["\xe9"][0].filename == "\xe9.txt"
    noCharset = multipart((b'name="a"', b"\xe9\xff"), (b'name="b"', "\xe9".encode()))
    assert post(noCharset, MULTI).args == {"q": ["1"], "a": ["\udce9\udcff"],
                                           "b": ["\xe9"]}
    bad = multipart((b'name="a"', b"x", b"Content-Type: text/plain; charset=nope"))
    assert "Unsupported charset" in refused(400, bad, MULTI)


@pytest.mark.parametrize("body, message", [
    (multipart((None, b"x")), "no Content-Disposition"),
    (multipart((None, b"x", b"Content-Disposition: attachment; name=a")), "form-data"),
    (multipart((b'filename="x"', b"x")), "with a name"),
    (multipart((b"name=a", b"x", b"Content-Type: /")), "malformed Content-Type"),
    (multipart((b'name="a', b"x")), "unterminated"),
    (multipart((b"name=a", b"x"))[:-10], "without a closing boundary"),
    (multipart((b"name=a", b"x"), (b"name=b", b"y"))[:60], "without a closing boundary"),
    (multipart((b"name=a", b"x", b"X-Long: " + b"y" * 9000)), "too long"),
    (b"--" + B.encode() + b"\r\n", "without a closing boundary"),
    (b"not a multipart body", "before the first boundary"),
])
def test_multipartMalformed(body, message):
    assert message in refused(400, body, MULTI)


@pytest.mark.parametrize("contentType", [
    "multipart/form-data", "multipart/form-data; charset=utf-8",
    "multipart/form-data; boundary=" + "x" * 201,
])
def test_multipartBadBoundary(contentType):
    refused(400, multipart((b"name=a", b"x")), contentType)


def test_multipartFieldLimit():
    """
    Every part counts, files included: C{maxFields} parts pass, one more
    does not.
    """
    parts = [(b"name=a", b"1"), (b'name=f; filename="x"', b"2"), (b"name=b", b"3")]
    request = post(multipart(*parts), MULTI, maxFields=3)
    assert len(request.args) + len(request.files) == 4
    parts.append((b"name=c", b""))
    assert "Too many form fields" in refused(413, multipart(*parts), MULTI, maxFields=3)


def test_multipartFileLimit():
    """
    C{maxFiles} file parts pass, one more does not (each could hold a file
    descriptor).
    """
    parts = [(b'name=f; filename="%d"' % i, b"x") for i in range(3)]
    assert len(post(multipart(*parts), MULTI, maxFiles=3).files["f"]) == 3
    parts.append((b'name=g; filename=""', b""))
    assert "Too many files" in refused(413, multipart(*parts), MULTI, maxFiles=3)


def test_badExtendedFilenameStillAFile():
    body = multipart((b"name=f; filename*=nonsense", b"data"))
    request = post(body, MULTI)
    assert request.files["f"][0].filename == "" and "f" not in request.args


def test_multipartMemoryLimit():
    """
    Non-file values count against C{maxMem} in total; files do not.
    """
    parts = [(b"name=a", b"x" * 60), (b"name=b", b"y" * 40),
             (b'name=f; filename="f"', b"z" * 1000)]
    assert post(multipart(*parts), MULTI, maxMem=100).args["b"] == ["y" * 40]
    parts[1] = (b"name=b", b"y" * 41)
    assert "Form fields too large" in refused(413, multipart(*parts), MULTI, maxMem=100)


def test_multipartSizeLimit():
    """
    C{maxSize} bounds the whole body, known or chunked, exactly.
    """
    body = multipart((b'name=f; filename="f"', b"z" * 1000))
    assert post(body, MULTI, maxSize=len(body)).files["f"][0].size == 1000
    assert "too large" in refused(413, body, MULTI, maxSize=len(body) - 1)
    chunks = [body[i:i + 100] for i in range(0, len(body), 100)]
    assert post(contentType=MULTI, chunks=chunks, maxSize=len(body)).files["f"]
    refused(413, contentType=MULTI, chunks=chunks, maxSize=len(body) - 1)


def test_multipartChunked():
    body = multipart((b"name=a", b"1"), (b'name=f; filename="f"', b"abc" * 1000))
    chunks = [body[i:i + 7] for i in range(0, len(body), 7)]
    request = post(contentType=MULTI, chunks=chunks)
    assert request.args["a"] == ["1"]
    assert request.files["f"][0].file.read() == b"abc" * 1000


def test_spooling(tmp_path):
    """
    Up to C{spoolThreshold} bytes of files, in total, stay in memory; the
    file that would pass it is rolled over to disk in C{tempDir}.
    """
    body = multipart((b'name=a; filename="a"', b"a" * 600),
                     (b'name=b; filename="b"', b"b" * 600),
                     (b'name=c; filename="c"', b"c" * 300))
    request = post(body, MULTI, spoolThreshold=1000, tempDir=str(tmp_path))
    a, b, c = (request.files[n][0] for n in "abc")
    assert (a.file._rolled, b.file._rolled, c.file._rolled) == (False, True, False)
    assert b.file.read() == b"b" * 600 and b.size == 600
    assert os.path.dirname(b.file.name if isinstance(b.file.name, str) else
                           os.readlink(f"/proc/self/fd/{b.file.fileno()}")) == str(tmp_path)
    request = post(body, MULTI, spoolThreshold=0, tempDir=str(tmp_path))
    assert all(request.files[n][0].file._rolled for n in "abc")


def test_failureClosesFiles(monkeypatch):
    """
    A refused body leaves no open temporary files behind.
    """
    opened = []
    real = fileupload.tempfile.SpooledTemporaryFile

    def spy(*args, **kwargs):
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(fileupload.tempfile, "SpooledTemporaryFile", spy)
    body = multipart((b'name=f; filename="f"', b"x"), (b'name=g; filename="g"', b"y"))
    assert body.endswith(b"y\r\n--" + B.encode() + b"--\r\n")
    refused(400, body[:-16], MULTI)
    assert len(opened) == 2 and all(f.closed for f in opened)


def test_connectionLost():
    request = FakeRequest(contentType=MULTI, chunks=[])
    results = []
    parsePOSTData(request).addBoth(results.append)
    request.stream.write(multipart((b"name=a", b"x"))[:20])
    request.stream.finish(Failure(ConnectionLost()))
    results[0].trap(HTTPError)
    assert results[0].value.response.code == 400


def test_sanitizeFilename():
    assert sanitizeFilename("C:report.txt") == "report.txt"
    assert sanitizeFilename(" /a/b/ ") == ""
    assert sanitizeFilename("a\x00b\x7f.txt") == "ab.txt"
    assert sanitizeFilename(".hidden") == ".hidden"


def test_uploadedFileRepr():
    upload = UploadedFile("f", "a.txt", MimeType("text", "plain"), None, 3)
    assert repr(upload) == "<UploadedFile 'f' filename='a.txt' text/plain 3 bytes>"


# Through a channel


class Form(resource.PostableResource):
    maxSize = 2000
    maxMem = 500

    def render(self, request):
        files = {k: [(u.filename, u.file.read().decode()) for u in v]
                 for k, v in request.files.items()}
        return f"args={sorted(request.args.items())} files={files}"


def request(body, contentType, extra=b""):
    conn = Connection(Form())
    conn.send(b"POST /?q=1 HTTP/1.1\r\nHost: x\r\nContent-Type: " + contentType.encode()
              + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra
              + b"\r\n" + body)
    return conn


def test_channelForm():
    body = multipart((b"name=a", b"1"), (b'name=f; filename="x/y.txt"', b"content"))
    (response,) = request(body, MULTI).responses()
    assert response.status == 200
    assert response.body == (b"args=[('a', ['1']), ('q', ['1'])] "
                             b"files={'f': [('y.txt', 'content')]}")


@pytest.mark.parametrize("body, contentType, status", [
    (b"a=" + b"x" * 600, URLENC, 413),
    (multipart((b"name=a", b"x" * 2000)), MULTI, 413),
    (multipart((b"name=a", b"x" * 501)), MULTI, 413),
    (b"{}", "application/json", 415),
    (b"--nope--", MULTI, 400),
])
def test_channelRefusals(body, contentType, status):
    conn = request(body, contentType)
    responses = conn.responses()
    assert [r.status for r in responses] == [status]
    assert b"<html>" in responses[0].body


def test_channelNoContinueForRefusedLength():
    """
    With C{Expect: 100-continue}, a body refused by its declared length is
    never invited.
    """
    conn = Connection(Form())
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + URLENC.encode()
              + b"\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
    assert [r.status for r in conn.responses()] == [413]


def test_channelChunkedOverLimit():
    """
    A chunked body is refused as soon as it passes C{maxSize}, before its
    end arrives.
    """
    conn = Connection(Form())
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + MULTI.encode()
              + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    body = multipart((b'name=f; filename="f"', b"z" * 3000))
    conn.send(b"%x\r\n%b\r\n" % (1500, body[:1500]))
    assert conn.responses() == []
    conn.send(b"%x\r\n%b\r\n" % (1500, body[1500:3000]))
    assert [r.status for r in conn.responses()] == [413]
