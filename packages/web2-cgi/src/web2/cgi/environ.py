# -*- test-case-name: test_cgi_environ -*-
"""
The RFC 3875 meta-variables of a web2 request: the environment a CGI script
runs with.

The environment is built from the request alone, plus an explicit C{PATH}
and whatever extra variables the resource was configured with; nothing of
the server's own environment reaches the script (the original started from
a copy of C{os.environ}).  Three request headers never become variables:

  - C{Proxy} (httpoxy: C{HTTP_PROXY} is read as a proxy setting by many
    HTTP client libraries, so a client could redirect the script's own
    outgoing requests);
  - C{Authorization} and C{Proxy-Authorization}, unless the resource is
    told to pass the first one on (a script that does its own
    authentication needs it; most must never see the password);
  - any header whose name has an underscore, which would be
    indistinguishable from the dash form once both become C{HTTP_X_Y} and
    so could spoof a header a front end set.

C{REMOTE_HOST} is not set: resolving it would block the reactor (Twisted
#7533); scripts can use C{REMOTE_ADDR}.
"""

from __future__ import annotations

import base64
import binascii
import os
import urllib.parse

from web2.server import VERSION

__all__ = ["createCGIEnvironment", "DEFAULT_PATH", "CGIEnvironmentError"]

#: The C{PATH} a script gets unless told otherwise.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# Request headers that never become HTTP_* variables: the first two have
# variables of their own, the others are credentials, hop-by-hop fields the
# channel consumed, or the httpoxy vector.
_SKIPPED_HEADERS = frozenset((
    "content-type", "content-length", "authorization", "proxy-authorization",
    "proxy", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
    "upgrade", "proxy-connection",
))

# Headers whose several field lines are joined with "; " rather than ", ".
_JOINERS = {"cookie": "; "}


class CGIEnvironmentError(ValueError):
    """
    The request cannot be expressed as CGI meta-variables (for example a
    path with a NUL byte, which no environment can carry).
    """


def _authentication(request):
    """
    C{(AUTH_TYPE, REMOTE_USER)} for a request that passed
    L{web2.auth.HTTPAuthResource}, else C{(None, None)}.

    The user name is C{request.remoteUser} when something set it, else the
    name the client authenticated with (Basic or Digest).
    """
    try:
        from web2.auth import IAuthenticatedRequest
    except ImportError:  # pragma: no cover - web2.auth is part of web2-core
        return None, None
    if not IAuthenticatedRequest.providedBy(request):
        return None, None
    raw = request.headers.getRawHeaders("authorization") or [""]
    scheme, _, credentials = raw[0].strip().partition(" ")
    user = getattr(request, "remoteUser", None)
    if user is None:
        user = _userFromCredentials(scheme.lower(), credentials.strip())
    if not scheme:
        return None, user
    return scheme[:1].upper() + scheme[1:].lower(), user


def _userFromCredentials(scheme: str, credentials: str):
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return None
        user, sep, _ = decoded.partition(b":")
        return user.decode("utf-8", "replace") if sep else None
    if scheme == "digest":
        for part in credentials.split(","):
            name, sep, value = part.strip().partition("=")
            if sep and name.strip().lower() == "username":
                return value.strip().strip('"')
    return None


def _checked(name: str, value: str) -> str:
    if "\0" in value:
        raise CGIEnvironmentError(f"{name} would contain a NUL byte")
    return value


def _joinPath(segments) -> str:
    return "".join("/" + s for s in segments)


def translatePath(documentRoot, pathInfo: str):
    """
    C{PATH_TRANSLATED}: C{pathInfo} mapped onto C{documentRoot}, or C{None}
    when there is no path info, no root, or the result would leave the
    root (a path with C{..}).
    """
    if not pathInfo or not documentRoot:
        return None
    root = os.path.normpath(documentRoot)
    translated = os.path.normpath(os.path.join(root, pathInfo.lstrip("/")))
    if translated != root and not translated.startswith(root.rstrip("/") + "/"):
        return None
    return translated


def createCGIEnvironment(
    request,
    scriptFilename: str | None = None,
    documentRoot: str | None = None,
    path: str = DEFAULT_PATH,
    extra=None,
    passAuthorization: bool = False,
) -> dict[str, str]:
    """
    The meta-variables for running a script on behalf of C{request}.

    @param request: a L{web2.server.Request} whose traversal has reached the
        script: C{prepath} names the script (C{SCRIPT_NAME}) and
        C{postpath} is the rest (C{PATH_INFO}).
    @param scriptFilename: the script's file (C{SCRIPT_FILENAME}, which
        php-cgi needs), if any.
    @param documentRoot: the directory C{PATH_INFO} is mapped onto for
        C{PATH_TRANSLATED} (and C{DOCUMENT_ROOT}); none when C{None}.
    @param path: the script's C{PATH}.
    @param extra: more variables (a mapping) set last: configuration such
        as C{LANG}, or C{REDIRECT_STATUS} for php-cgi.
    @param passAuthorization: give the script C{HTTP_AUTHORIZATION}.
    @return: a C{dict} of C{str} to C{str}; paths are the decoded path
        characters, undecodable bytes kept as surrogate escapes
        (C{os.fsencode} turns them back into the bytes).
    @raise CGIEnvironmentError: the request cannot be expressed.
    """
    headers = request.headers
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": getattr(getattr(request, "site", None), "serverName", None)
        or VERSION,
        "SERVER_PROTOCOL": "HTTP/{}.{}".format(*request.clientproto),
        "SERVER_NAME": request.host,
        "SERVER_PORT": str(request.port),
        "REQUEST_METHOD": request.method,
        "REQUEST_SCHEME": request.scheme,
        "QUERY_STRING": request.querystring,
        "REQUEST_URI": request.pathPrefix + request.path
        + ("?" + request.querystring if request.querystring else ""),
    }
    if path:
        env["PATH"] = path
    if request.scheme == "https":
        env["HTTPS"] = "on"
    remote = getattr(request, "remoteAddr", None)
    host = getattr(remote, "host", None)
    if host:
        env["REMOTE_ADDR"] = host
        env["REMOTE_PORT"] = str(getattr(remote, "port", 0))

    prefix = urllib.parse.unquote(request.pathPrefix, errors="surrogateescape")
    env["SCRIPT_NAME"] = _checked("SCRIPT_NAME", prefix + _joinPath(request.prepath))
    pathInfo = _checked("PATH_INFO", _joinPath(request.postpath))
    if pathInfo:
        env["PATH_INFO"] = pathInfo
        translated = translatePath(documentRoot, pathInfo)
        if translated is not None:
            env["PATH_TRANSLATED"] = translated
    if documentRoot:
        env["DOCUMENT_ROOT"] = documentRoot
    if scriptFilename:
        env["SCRIPT_FILENAME"] = scriptFilename

    length = request.stream.length if request.stream is not None else None
    if length or headers.hasHeader("content-length"):
        env["CONTENT_LENGTH"] = str(length or 0)
    contentType = headers.getRawHeaders("content-type")
    if contentType:
        env["CONTENT_TYPE"] = contentType[0]

    authType, user = _authentication(request)
    if authType:
        env["AUTH_TYPE"] = authType
    if user is not None:
        env["REMOTE_USER"] = _checked("REMOTE_USER", user)

    for name, values in headers.getAllRawHeaders():
        lower = name.lower()
        if lower in _SKIPPED_HEADERS or "_" in lower:
            if not (passAuthorization and lower == "authorization"):
                continue
        key = "HTTP_" + lower.upper().replace("-", "_")
        env[key] = _JOINERS.get(lower, ", ").join(values)
    if extra:
        env.update({str(k): str(v) for k, v in dict(extra).items()})
    return env

