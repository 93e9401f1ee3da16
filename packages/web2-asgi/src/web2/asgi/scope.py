# -*- test-case-name: test_asgi_scope -*-
"""
The ASGI connection scope of one request, built from a
L{web2.server.Request} whose traversal stopped at an ASGI resource.

  - C{root_path} is where the application is mounted: the percent-decoded
    segments traversal consumed, after any prefix a trusted proxy reported
    (C{X-Forwarded-Prefix}, see L{web2.proxy}); C{path} is the whole
    percent-decoded path I{including} C{root_path}, as the ASGI
    specification and Starlette expect (routing strips C{root_path});
    C{raw_path} is the path exactly as the client sent it.
  - C{scheme}, C{client} and C{server} are the ones web2's trusted-proxy
    rules settled on: behind a trusted proxy the client's address and
    scheme, and the host and port the client asked for when the proxy
    reported them (the C{host} header then says the same); otherwise the
    peer's address and the socket's own.
  - C{headers} are C{(name, value)} C{bytes} pairs, names lower-cased, in
    the order they arrived, repeated fields as separate pairs.
"""

from __future__ import annotations

from urllib.parse import unquote

from twisted.internet import address

__all__ = ["ASGI_VERSION", "httpScope", "splitRootPath", "websocketScope"]

#: The C{asgi} key of every scope: ASGI 3, and the version of the HTTP and
#: WebSocket specification implemented (2.4: C{send} raises L{OSError}
#: once the client has gone).
ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}

_VERSIONS = {(1, 1): "1.1", (1, 0): "1.0"}


def _decode(raw: str) -> str:
    """
    Percent-decode a raw path as UTF-8 (undecodable octets become U+FFFD:
    C{raw_path} keeps the truth).
    """
    if "%" not in raw:
        return raw
    return unquote(raw, errors="replace")


def splitRootPath(request) -> tuple[str, str]:
    """
    C{(root_path, path)} of C{request}: the decoded path above the resource
    traversal reached (with the proxy's prefix), and the decoded whole path
    (with the same prefix), which starts with C{root_path}.
    """
    raw = request.path
    prefix = request.pathPrefix
    rest = len(request.postpath)
    if raw == "*":
        decoded = _decode(prefix)
        return decoded, decoded
    segments = raw[1:].split("/")
    above = len(segments) - rest
    if above <= 0:
        mount = ""
    else:
        mount = "/" + "/".join(segments[:above])
        if mount == "/":
            mount = ""
    return _decode(prefix + mount), _decode(prefix + raw)


_IP_ADDRESSES = (address.IPv4Address, address.IPv6Address)


def _pair(addr):
    if addr.__class__ in _IP_ADDRESSES or isinstance(addr, _IP_ADDRESSES):
        return (addr.host, addr.port)
    if isinstance(addr, address.UNIXAddress):
        return None
    host = getattr(addr, "host", None)
    if isinstance(host, str):
        return (host, getattr(addr, "port", 0) or 0)
    return None


def _hostValue(host: str, port: int, scheme: str) -> bytes:
    if ":" in host:
        host = f"[{host}]"
    if port != {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme):
        host = f"{host}:{port}"
    return host.encode("latin-1", "replace")


def _wirePairs(headers):
    """
    The field lines of C{headers} as lower-cased C{(name, value)} C{bytes}
    pairs in arrival order: ASGI's form.

    Received headers nobody has changed are still the list the wire parser
    gave (web2-core's L{Headers.fromWire} keeps it, already in this form,
    until the first change): a copy of it is the answer, with no decoding
    and encoding back of every name and value.  Otherwise (or should
    web2-core keep them some other way) the public L{Headers.fieldLines}
    is encoded.
    """
    if getattr(headers, "_raw", True) is None:
        wire = getattr(headers, "_wire", None)
        if wire.__class__ is list:
            return list(wire)
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers.fieldLines()]


def _headers(request, scheme, proxied):
    pairs = _wirePairs(request.headers)
    if proxied:
        # A trusted proxy reported the host the client asked for: the host
        # header says the same, as frameworks build URLs from it first.
        value = _hostValue(request.host, request.port, scheme)
        pairs = [p for p in pairs if p[0] != b"host"]
        pairs.append((b"host", value))
    return pairs


def _server(request, proxied):
    if proxied:
        return (request.host, request.port)
    local = request.chanRequest.getHostInfo()[0]
    if local.__class__ in _IP_ADDRESSES:
        return (local.host, local.port)
    if isinstance(local, address.UNIXAddress):
        name = local.name
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        return (name, None)
    return _pair(local)


# (target, prefix, segments below the mount) -> (root_path, path, raw_path,
# query_string): the same few targets come again and again.
_paths: dict = {}
_PATHS_MAX = 1024


def _paths_of(request):
    key = (request.uri, request.pathPrefix, len(request.postpath))
    found = _paths.get(key)
    if found is not None:
        return found
    rootPath, path = splitRootPath(request)
    raw = request.uri.partition("?")[0]
    if raw[:1] not in ("/", "*"):
        raw = request.path
    found = (rootPath, path, raw.encode("latin-1"), request.querystring.encode("latin-1"))
    if len(request.uri) < 1024:
        if len(_paths) >= _PATHS_MAX:
            _paths.clear()
        _paths[key] = found
    return found


def _common(request, kind, scheme, state, extensions):
    rootPath, path, rawPath, query = _paths_of(request)
    version = request.clientproto
    # Whether a trusted proxy reported the host (see web2.proxy).
    proxied = "originalHost" in request.__dict__
    # One literal with every key: the dict is made at its final size.
    scope = {
        "type": kind,
        "asgi": ASGI_VERSION,
        "http_version": _VERSIONS.get(version) or "{}.{}".format(*version),
        "scheme": scheme,
        "path": path,
        "raw_path": rawPath,
        "query_string": query,
        "root_path": rootPath,
        "headers": _headers(request, scheme, proxied),
        "client": _pair(request.remoteAddr),
        "server": _server(request, proxied),
        "extensions": extensions,
    }
    if kind == "http":
        scope["method"] = request.method
    if state is not None:
        scope["state"] = dict(state)
    return scope


def httpScope(request, state=None, extensions=None) -> dict:
    """
    The C{http} scope of C{request}.

    @param state: the application's lifespan state, copied into the scope
        (C{None}: the application has no lifespan, the scope has no
        C{state}).
    @param extensions: the C{extensions} entry.
    """
    return _common(request, "http", request.scheme, state,
                   {} if extensions is None else extensions)


def websocketScope(request, subprotocols, state=None) -> dict:
    """
    The C{websocket} scope of the upgrade request C{request}.

    @param subprotocols: the subprotocols the client offered, in its order.
    """
    scheme = "wss" if request.scheme == "https" else "ws"
    scope = _common(request, "websocket", scheme, state, {"websocket.http.response": {}})
    scope["subprotocols"] = list(subprotocols)
    return scope
