"""
The WSGI application of the interoperability matrix (tests/test_interop_*.py),
served by web2-wsgi under every front end and gateway:

  - C{/env}: the request as the application sees it, as JSON;
  - C{/form}: a posted C{application/x-www-form-urlencoded} form, as JSON;
  - C{/upload}: the length and SHA-256 of the body (read to the end of
    C{wsgi.input}, whether the request had a length or was chunked);
  - C{/big}: 1 MiB in pieces of 64 KiB, with no length given;
  - C{/status}: C{299 Custom Reason}, a header of its own and two cookies;
  - C{/redirect}: a 302 to C{/env} under the application's own prefix.
"""

import hashlib
import json
from urllib.parse import parse_qsl

#: The body of C{/big}.
BIG = bytes(range(256)) * 4096

_ENV_KEYS = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE",
             "SERVER_PROTOCOL", "HTTP_X_INTEROP", "wsgi.url_scheme")


def _json(start_response, value, status="200 OK"):
    body = json.dumps(value, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _readBody(environ) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return stream.read(int(length))
    chunks = []
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _big():
    for i in range(0, len(BIG), 65536):
        yield BIG[i:i + 65536]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/env":
        seen = {key: environ.get(key) for key in _ENV_KEYS}
        # PATH_INFO is bytes decoded as latin-1 (PEP 3333); show it as UTF-8.
        seen["PATH_INFO"] = path.encode("latin-1").decode("utf-8", "replace")
        return _json(start_response, seen)
    if path.startswith("/env/"):
        return _json(start_response, {
            "PATH_INFO": path.encode("latin-1").decode("utf-8", "replace"),
            "SCRIPT_NAME": environ.get("SCRIPT_NAME")})
    if path == "/form" and environ["REQUEST_METHOD"] == "POST":
        pairs = parse_qsl(_readBody(environ).decode("utf-8"), keep_blank_values=True)
        return _json(start_response, {"fields": sorted(pairs)})
    if path == "/upload" and environ["REQUEST_METHOD"] in ("POST", "PUT"):
        data = _readBody(environ)
        return _json(start_response, {"length": len(data),
                                      "sha256": hashlib.sha256(data).hexdigest()})
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _big()
    if path == "/status":
        start_response("299 Custom Reason", [
            ("Content-Type", "text/plain"), ("X-Interop", "yes"),
            ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")])
        return [b"custom status"]
    if path == "/redirect":
        start_response("302 Found", [("Location", environ.get("SCRIPT_NAME", "") + "/env"),
                                     ("Content-Length", "0")])
        return []
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]
