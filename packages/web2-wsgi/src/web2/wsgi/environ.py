# -*- test-case-name: test_wsgi_environ -*-
"""
The PEP 3333 C{environ} of one request, built in the reactor thread from a
L{web2.server.Request} before the application runs.

Every value is a native C{str} holding the request's bytes decoded as
latin-1 ("bytes-as-str"), as PEP 3333 requires: a UTF-8 path arrives as
mojibake and the application re-encodes it with C{.encode("latin-1")}.

Where the resource is mounted decides C{SCRIPT_NAME} and C{PATH_INFO}:
traversal leaves the segments below the mount in C{request.postpath}, so
the raw path is cut after the segments above it.  Both halves are then
percent-decoded (a C{%2F} inside a segment becomes C{/}, which WSGI cannot
tell apart from a separator; C{REQUEST_URI} and C{RAW_URI} keep the target
exactly as sent for the applications that care).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from twisted.internet import address

from web2.server import VERSION
from web2.wsgi.response import FileWrapper

__all__ = ["makeEnviron", "splitScriptName", "headerKey", "DROPPED_HEADERS"]

#: Request headers never passed to the application as C{HTTP_*}:
#: C{Proxy} (httpoxy, CVE-2016-5385: C{HTTP_PROXY} would be taken for the
#: C{HTTP_PROXY} environment variable by outgoing HTTP clients), and the two
#: that have their own CGI keys.
DROPPED_HEADERS = frozenset(("proxy", "content-type", "content-length"))

# Canonical header name -> environ key, memoised: the same few dozen names
# come in every request.
_KEYS: dict[str, str | None] = {}
_KEYS_MAX = 512
_UNKNOWN = object()

# The keys every environ has with the same values, by (multithread,
# serverSoftware); each environ starts as a copy.
_BASES: dict = {}
_PROTOCOLS = {(1, 1): "HTTP/1.1", (1, 0): "HTTP/1.0"}


def headerKey(name: str) -> str | None:
    """
    The environ key of the request header C{name}, or C{None} when the
    header is not passed on: one of L{DROPPED_HEADERS}, or a name with an
    underscore, which would collide with the dash form of another header
    once both are mapped to C{HTTP_*} (a client could then smuggle
    C{X_Forwarded_For} past a proxy that strips C{X-Forwarded-For}).
    """
    key = _KEYS.get(name)
    if key is not None or name in _KEYS:
        return key
    lower = name.lower()
    if lower in DROPPED_HEADERS or "_" in name:
        key = None
    else:
        key = "HTTP_" + name.upper().replace("-", "_")
    if len(_KEYS) < _KEYS_MAX:
        _KEYS[name] = key
    return key


def _decodePath(raw: str) -> str:
    """
    Percent-decode a raw path and give the bytes as a latin-1 C{str}.
    """
    if "%" not in raw:
        return raw
    return unquote_to_bytes(raw).decode("latin-1")


def splitScriptName(request) -> tuple[str, str]:
    """
    C{(SCRIPT_NAME, PATH_INFO)} for C{request} at the resource traversal has
    reached: the decoded path above it (after any C{pathPrefix} a trusted
    proxy gave) and the decoded rest.

    Traversal splits the raw path on C{/} before decoding each segment, so
    the raw segments and C{prepath + postpath} correspond one to one.
    """
    raw = request.path
    prefix = request.pathPrefix
    rest = len(request.postpath)
    if raw == "*":
        return _decodePath(prefix), ""
    segments = raw[1:].split("/")
    above = len(segments) - rest
    if above <= 0:
        script, path = "", raw
    else:
        script = "/" + "/".join(segments[:above])
        path = "/" + "/".join(segments[above:]) if rest else ""
    script = _decodePath(prefix + script)
    if script == "/":
        # PEP 3333: SCRIPT_NAME is empty at the root, never "/".
        script = ""
        path = "/" + path.lstrip("/") if path else "/"
    return script, _decodePath(path)


def _remote(addr) -> tuple[str, str]:
    if isinstance(addr, (address.IPv4Address, address.IPv6Address)):
        return addr.host, str(addr.port)
    host = getattr(addr, "host", None)
    if isinstance(host, str):
        return host, str(getattr(addr, "port", "") or "")
    return "", ""


def _hostHeader(host: str, port: int, scheme: str) -> str:
    if ":" in host:
        host = f"[{host}]"
    if port == {"http": 80, "https": 443}.get(scheme):
        return host
    return f"{host}:{port}"


def makeEnviron(request, inputStream, errors, *, multithread=True, serverSoftware=VERSION):
    """
    Build the environ of C{request}.

    @param request: a L{web2.server.Request} whose traversal stopped at the
        WSGI resource.
    @param inputStream: the object to give as C{wsgi.input}.
    @param errors: the object to give as C{wsgi.errors}.
    @param multithread: the value of C{wsgi.multithread}.
    @return: a new C{dict}.
    """
    script, pathInfo = splitScriptName(request)
    remoteHost, remotePort = _remote(request.remoteAddr)
    scheme = request.scheme
    base = _BASES.get((multithread, serverSoftware))
    if base is None:
        base = _BASES[multithread, serverSoftware] = {
            "SERVER_SOFTWARE": serverSoftware,
            "wsgi.version": (1, 0),
            "wsgi.multithread": multithread,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            # The input ends at the end of the body even when its length
            # is unknown (chunked): frameworks may read it to the end.
            "wsgi.input_terminated": True,
        }
    environ = base.copy()
    environ["REQUEST_METHOD"] = request.method
    environ["SCRIPT_NAME"] = script
    environ["PATH_INFO"] = pathInfo
    environ["QUERY_STRING"] = request.querystring
    environ["SERVER_NAME"] = request.host or "localhost"
    environ["SERVER_PORT"] = str(request.port)
    version = request.clientproto
    environ["SERVER_PROTOCOL"] = _PROTOCOLS.get(version) or "HTTP/{}.{}".format(*version)
    environ["REMOTE_ADDR"] = remoteHost
    environ["REMOTE_PORT"] = remotePort
    environ["REQUEST_URI"] = environ["RAW_URI"] = request.uri
    environ["wsgi.url_scheme"] = scheme
    environ["wsgi.input"] = inputStream
    environ["wsgi.errors"] = errors
    if scheme == "https":
        environ["HTTPS"] = "on"
    headers = request.headers
    for name, value in headers.fieldLines():
        key = _KEYS.get(name, _UNKNOWN)
        if key is _UNKNOWN:
            key = headerKey(name)
        if key is None:
            continue
        if key in environ:
            # A repeated field: its lines joined as one value, in order.
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ", ") + value
        environ[key] = value
    if "originalHost" in request.__dict__:
        # A trusted proxy reported the host the client asked for: make
        # HTTP_HOST say the same, as frameworks build URLs from it first.
        environ["HTTP_HOST"] = _hostHeader(request.host, request.port, scheme)
    contentType = headers.getRawHeaders("content-type")
    if contentType:
        environ["CONTENT_TYPE"] = contentType[-1]
    length = getattr(request.stream, "length", None)
    if length is not None and (length or headers.hasHeader("content-length")):
        environ["CONTENT_LENGTH"] = str(length)
    return environ
