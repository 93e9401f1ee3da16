# -*- test-case-name: test_auth -*-
"""
HTTP authentication over C{twisted.cred}: Basic (RFC 7617) and Digest
(RFC 7616, SHA-256 and MD5, qop=auth), and L{HTTPAuthResource}, which puts
a portal in front of any resource.

L{protectResource} guards a resource with a password file in Apache's
formats (L{HtpasswdChecker} for Basic, L{HtdigestChecker} for Digest):
what a mount's C{auth} table in a site file and C{--auth} use.

Digest nonces come from C{secrets}, live C{nonceLifetime} seconds, are bound
to the client address that received them, and carry a nonce count: a
response whose count does not increase is a replay and is refused.  An
expired nonce is answered with C{stale=true} so that clients retry without
asking the user again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

from twisted.cred import checkers, credentials, error, portal
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import Attribute, Interface, implementer

from web2 import http, responsecode
from web2._htpasswd import (
    BCRYPT,
    HtdigestFile,
    HtpasswdFile,
    PasswordFileError,
    VerifiedCache,
    hashScheme,
    verifyHash,
)
from web2.http_headers import HeaderParseError
from web2.iweb import IResource

log = Logger(namespace=__name__)


class ICredentialFactory(Interface):
    """
    One authentication scheme: the challenge it sends and how it reads a
    client's answer.
    """

    scheme = Attribute("The scheme name, lower-case, e.g. C{'basic'}.")

    def getChallenge(request):
        """
        @return: the challenge parameters, a C{dict} of C{str}.
        """

    def decode(response, request):
        """
        @param response: the Authorization credentials after the scheme: a
            C{str} (token68) or a C{dict} of auth-params.
        @return: C{twisted.cred} credentials.
        @raise error.LoginFailed: the answer is malformed or invalid.
        """


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _challengeHeader(factory, request) -> str:
    params = factory.getChallenge(request)
    unquoted = getattr(factory, "unquotedParams", ())
    parts = [
        f"{name}={value if name in unquoted else _quote(value)}"
        for name, value in params.items()
    ]
    return factory.scheme.capitalize() + " " + ", ".join(parts)


@implementer(ICredentialFactory)
class BasicCredentialFactory:
    """
    HTTP Basic: a user name and password, base64-encoded, in UTF-8.
    Only use it over TLS.
    """

    scheme = "basic"

    def __init__(self, realm: str):
        self.realm = realm

    def getChallenge(self, request):
        return {"realm": self.realm, "charset": "UTF-8"}

    def decode(self, response, request):
        if not isinstance(response, str):
            raise error.LoginFailed("Basic credentials must be a token")
        try:
            decoded = base64.b64decode(response + "=" * (-len(response) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise error.LoginFailed("Invalid base64 in Basic credentials") from None
        username, sep, password = decoded.partition(b":")
        if not sep:
            raise error.LoginFailed("Basic credentials have no ':'")
        return credentials.UsernamePassword(username, password)


_HASHES = {
    "md5": hashlib.md5,
    "sha-256": hashlib.sha256,
}


@implementer(credentials.IUsernameHashedPassword, credentials.IUsernameDigestHash)
class DigestedCredentials:
    """
    A Digest response, checkable against a plain password
    (L{checkPassword}) or against the stored hash of one (L{checkHash}: the
    HA1 an C{htdigest} file keeps).
    """

    def __init__(self, username: bytes, method: str, realm: str, fields: dict, algorithm: str,
                 nonceState=None):
        """
        @param nonceState: the issuing factory's C{[issued, client, count]}
            record of the nonce; the count is advanced only by an answer
            whose password checks out, so a forged answer cannot use it up.
        """
        self.username = username
        self.nonceState = nonceState
        self.method = method
        self.realm = realm
        self.fields = fields
        self.algorithm = algorithm

    def _hash(self, data: str) -> str:
        return _HASHES[self.algorithm](data.encode("utf-8")).hexdigest()

    def checkPassword(self, password) -> bool:
        if isinstance(password, bytes):
            password = password.decode("utf-8")
        return self.checkHash(
            self._hash(f"{self.username.decode('utf-8')}:{self.realm}:{password}"))

    def checkHash(self, digestHash) -> bool:
        """
        Check the answer against HA1, the hex digest of
        C{user:realm:password} in this answer's algorithm.
        """
        if isinstance(digestHash, bytes):
            digestHash = digestHash.decode("ascii")
        f = self.fields
        ha1 = digestHash.lower()
        ha2 = self._hash(f"{self.method}:{f['uri']}")
        expected = self._hash(
            f"{ha1}:{f['nonce']}:{f['nc']}:{f['cnonce']}:{f['qop']}:{ha2}"
        )
        if not hmac.compare_digest(expected, f.get("response", "")):
            return False
        state = self.nonceState
        if state is not None:
            count = int(f["nc"], 16)
            if count <= state[2]:
                return False  # replayed while this answer was being checked
            state[2] = count
        return True


@implementer(ICredentialFactory)
class DigestCredentialFactory:
    """
    HTTP Digest with qop=auth.

    @ivar nonceLifetime: seconds a nonce stays valid.
    @ivar maxNonces: nonces kept at most; the oldest are forgotten first.
    """

    scheme = "digest"
    unquotedParams = ("algorithm", "stale")
    nonceLifetime = 300
    maxNonces = 10000

    def __init__(self, algorithm: str, realm: str, clock=time.monotonic):
        algorithm = algorithm.lower()
        if algorithm not in _HASHES:
            raise ValueError(f"unsupported Digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self.realm = realm
        self.opaque = secrets.token_hex(16)
        self.clock = clock
        # Insertion order is issue order, so the oldest nonce is first.
        self._nonces: dict[str, list] = {}

    def getChallenge(self, request):
        now = self.clock()
        self._expire(now)
        nonce = secrets.token_hex(16)
        client = getattr(getattr(request, "remoteAddr", None), "host", None)
        self._nonces[nonce] = [now, client, 0]
        challenge = {
            "realm": self.realm,
            "qop": "auth",
            "algorithm": "SHA-256" if self.algorithm == "sha-256" else "MD5",
            "nonce": nonce,
            "opaque": self.opaque,
        }
        if getattr(request, "_digestStale", False):
            challenge["stale"] = "true"
        return challenge

    def _expire(self, now):
        """
        Forget expired nonces and, past C{maxNonces}, the oldest ones: both
        from the front of the table, so each challenge costs O(1) amortized
        however many clients ask for challenges.
        """
        nonces = self._nonces
        while nonces:
            oldest = next(iter(nonces))
            if len(nonces) > self.maxNonces or now - nonces[oldest][0] > self.nonceLifetime:
                del nonces[oldest]
            else:
                break

    def decode(self, response, request):
        if not isinstance(response, dict):
            raise error.LoginFailed("Digest credentials must be parameters")
        fields = {k.lower(): v for k, v in response.items()}
        for required in ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce"):
            if not fields.get(required):
                raise error.LoginFailed(f"Digest credentials lack {required}")
        if fields["realm"] != self.realm or fields.get("opaque") != self.opaque:
            raise error.LoginFailed("Digest credentials for another realm")
        if fields["qop"] != "auth":
            raise error.LoginFailed("Only qop=auth is supported")
        algorithm = fields.get("algorithm", "MD5").lower()
        if algorithm != self.algorithm:
            raise error.LoginFailed("Digest algorithm mismatch")
        if fields["uri"] != request.uri:
            raise error.LoginFailed("Digest uri does not match the request")
        state = self._nonces.get(fields["nonce"])
        if state is None or self.clock() - state[0] > self.nonceLifetime:
            request._digestStale = True
            raise error.LoginFailed("Stale or unknown nonce")
        client = getattr(getattr(request, "remoteAddr", None), "host", None)
        if state[1] != client:
            raise error.LoginFailed("Nonce was issued to another client")
        try:
            count = int(fields["nc"], 16)
        except ValueError:
            raise error.LoginFailed("Malformed nonce count") from None
        if count <= state[2]:
            raise error.LoginFailed("Replayed nonce count")
        return DigestedCredentials(
            fields["username"].encode("utf-8"), request.method, self.realm, fields,
            self.algorithm, state,
        )


class IAuthenticatedRequest(Interface):
    """
    A request that passed authentication.
    """

    avatarInterface = Attribute("The interface the avatar was requested for.")
    avatar = Attribute("The avatar the portal returned.")


def _unauthorized(factories, request):
    response = http.StatusResponse(
        responsecode.UNAUTHORIZED, "Authentication is required to access this resource."
    )
    response.headers.setRawHeaders(
        "www-authenticate", [_challengeHeader(f, request) for f in factories]
    )
    return response


@implementer(IResource)
class HTTPAuthResource:
    """
    Guards C{wrappedResource}: a request gets through only with credentials
    the portal accepts (or, with no Authorization header, if the portal
    accepts anonymous access).  Everything else gets a 401 with a challenge
    per credential factory.
    """

    def __init__(self, wrappedResource, credentialFactories, portal, interfaces):
        self.wrappedResource = IResource(wrappedResource)
        self.credentialFactories = {f.scheme: f for f in credentialFactories}
        self.portal = portal
        self.interfaces = tuple(interfaces)

    def _authenticate(self, request):
        if IAuthenticatedRequest.providedBy(request):
            return defer.succeed(self.wrappedResource)
        try:
            authorization = request.headers.getHeader("authorization")
        except HeaderParseError:
            authorization = ("", None)
        if authorization is None:
            creds = credentials.Anonymous()
        else:
            scheme, response = authorization
            factory = self.credentialFactories.get(scheme.lower())
            if factory is None:
                return defer.fail(http.HTTPError(self._challenge(request)))
            try:
                creds = factory.decode(response, request)
            except error.LoginFailed as e:
                log.info("Authentication failed for {uri}: {why}", uri=request.uri, why=e)
                return defer.fail(http.HTTPError(self._challenge(request)))
        d = self.portal.login(creds, None, *self.interfaces)
        d.addCallbacks(self._loggedIn, self._loginFailed, (request,), None, (request,))
        return d

    def _challenge(self, request):
        return _unauthorized(self.credentialFactories.values(), request)

    def _loggedIn(self, result, request):
        interface, avatar = result[0], result[1]
        request.avatarInterface = interface
        request.avatar = avatar
        from zope.interface import alsoProvides

        alsoProvides(request, IAuthenticatedRequest)
        return self.wrappedResource

    def _loginFailed(self, failure, request):
        failure.trap(error.UnauthorizedLogin, error.UnhandledCredentials, error.LoginFailed)
        raise http.HTTPError(self._challenge(request))

    def locateChild(self, request, segments):
        return self._authenticate(request).addCallback(lambda r: (r, segments))

    def renderHTTP(self, request):
        return self._authenticate(request)


# Password files on a mount: the site file's auth table and --auth
# (nginx's auth_basic + auth_basic_user_file, Apache's AuthUserFile).


@implementer(portal.IRealm)
class _UserNames:
    """
    The avatar of a user who logged in through a password file is the user
    name (C{request.avatar}).
    """

    def requestAvatar(self, avatarId, mind, *interfaces):
        if isinstance(avatarId, bytes):
            avatarId = avatarId.decode("utf-8", "replace")
        return interfaces[0], avatarId, lambda: None


@implementer(checkers.ICredentialsChecker)
class HtpasswdChecker:
    """
    Checks user names and passwords (Basic) against an C{htpasswd} file:
    bcrypt (C{$2y$}, with the optional C{bcrypt} package), Apache MD5
    (C{$apr1$}) and SHA-1 (C{{SHA}}) hashes; the file is re-read when it
    changes.  See L{web2._htpasswd} for the rules (no timing difference
    between unknown users and wrong passwords, bcrypt off the reactor
    thread).

    @ivar file: the L{HtpasswdFile}.
    """

    credentialInterfaces = (credentials.IUsernamePassword,)

    def __init__(self, path: str, runSlow=None, clock=time.monotonic):
        """
        @param path: the file.
        @param runSlow: C{f(callable, *args) -> Deferred} running a slow
            check (bcrypt) away from the reactor thread; by default the
            reactor's thread pool.
        @raise PasswordFileError: the file cannot be read or holds a
            password in a form web2 refuses.
        """
        self.file = HtpasswdFile(path, clock=clock)
        self._runSlow = runSlow or _inThreadPool
        self._verified = VerifiedCache()

    def requestAvatarId(self, creds):
        entries = self.file.current()
        name = creds.username
        user = name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name
        password = creds.password
        if isinstance(password, str):
            password = password.encode("utf-8")
        stored = entries.get(user)
        known = stored is not None
        if not known:
            stored = self.file.dummy

        def decide(matches):
            if matches and known:
                return user
            log.info("Login refused for {user!r} ({why}, {file})", user=user,
                     why="wrong password" if known else "no such user",
                     file=self.file.path)
            raise error.UnauthorizedLogin()

        if hashScheme(stored) != BCRYPT:
            return defer.maybeDeferred(decide, verifyHash(stored, password))
        if known and self._verified.holds(user, password, stored):
            return defer.succeed(user)

        def remember(matches):
            if matches and known:
                self._verified.add(user, password, stored)
            return matches

        def broken(failure):
            log.failure("Checking the password of {user!r} failed", failure, user=user)
            return False

        d = self._runSlow(verifyHash, stored, password)
        return d.addErrback(broken).addCallback(remember).addCallback(decide)


def _inThreadPool(f, *args):
    from twisted.internet import reactor, threads

    return threads.deferToThreadPool(reactor, reactor.getThreadPool(), f, *args)


@implementer(checkers.ICredentialsChecker)
class HtdigestChecker:
    """
    Checks Digest answers against an C{htdigest} file (C{user:realm:HA1},
    HA1 being MD5): only the lines of C{realm} count.  The file is re-read
    when it changes.
    """

    credentialInterfaces = (credentials.IUsernameDigestHash,)

    def __init__(self, path: str, realm: str, clock=time.monotonic):
        """
        @raise PasswordFileError: the file cannot be read or is malformed.
        """
        self.file = HtdigestFile(path, clock=clock)
        self.realm = realm
        self._dummy = secrets.token_hex(16)

    def requestAvatarId(self, creds):
        entries = self.file.current()
        name = creds.username
        user = name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name
        ha1 = entries.get((user, self.realm))
        known = ha1 is not None
        # An unknown user is checked against a random HA1: the same work.
        if creds.checkHash(ha1 if known else self._dummy) and known:
            return defer.succeed(user)
        log.info("Login refused for {user!r} ({why}, {file})", user=user,
                 why="wrong password or replayed answer" if known else "no such user",
                 file=self.file.path)
        return defer.fail(error.UnauthorizedLogin())


#: The authentication types of a mount's auth table and of --auth.
AUTH_TYPES = ("basic", "digest")


def protectResource(resource, type: str, realm: str, path: str, runSlow=None):
    """
    Put C{resource} behind HTTP authentication with a password file.

    @param type: C{"basic"} (C{path} is an htpasswd file) or C{"digest"}
        (an htdigest file; Digest with MD5, the algorithm of that format).
    @param realm: the realm shown to users (and, for Digest, the realm of
        the file's lines that count).
    @return: an L{HTTPAuthResource}; C{request.avatar} is the user name.
    @raise PasswordFileError: the file cannot be read or is refused.
    @raise ValueError: an unknown type.
    """
    if type == "basic":
        checker = HtpasswdChecker(path, runSlow=runSlow)
        factory = BasicCredentialFactory(realm)
    elif type == "digest":
        checker = HtdigestChecker(path, realm)
        if realm not in checker.file.realms():
            log.warn("The htdigest file {path} has no user in the realm {realm!r}: "
                     "nobody can log in", path=path, realm=realm)
        factory = DigestCredentialFactory("md5", realm)
    else:
        raise ValueError(f"unknown authentication type {type!r} (known: "
                         f"{', '.join(AUTH_TYPES)})")
    return HTTPAuthResource(resource, [factory], portal.Portal(_UserNames(), [checker]),
                            (IResource,))


def protectMounts(mounts, config, runSlow=None):
    """
    Guard the mounts that a site file's C{auth} tables and C{--auth} name
    (see L{web2.config.AuthSpec}); C{--auth} wins over the file for the
    same path.

    @param mounts: C{(path, resource, source)} of every mount, as
        L{web2.mount.resolveMounts} gives them.
    @return: the same list, guarded resources in place of the originals.
    @raise web2.config.ConfigError: an C{--auth} is malformed or names a
        path where nothing is mounted, or a password file cannot be read
        or holds a password web2 refuses.
    """
    from web2.config import ConfigError, parseAuth

    specs = {spec.path: spec.auth for spec in config.mounts if spec.auth is not None}
    for text in (getattr(config, "options", None) or {}).get("auth") or ():
        spec = parseAuth(text)
        specs[spec.path] = spec
    mounted = {path for path, _, _ in mounts}
    for spec in specs.values():
        if spec.path not in mounted:
            raise ConfigError(
                f"{spec.source}: nothing is mounted at {spec.path!r}; auth guards a "
                f"mount (mounted: {', '.join(sorted(mounted)) or 'nothing'})")
    guarded = []
    for path, resource, source in mounts:
        spec = specs.get(path)
        if spec is not None:
            try:
                resource = protectResource(resource, spec.type, spec.realm, spec.file,
                                           runSlow=runSlow)
            except PasswordFileError as e:
                raise ConfigError(f"{spec.source}: {e}") from None
            log.info("{path} requires a login ({type}, realm {realm!r}, {file})",
                     path=path, type=spec.type, realm=spec.realm, file=spec.file)
        guarded.append((path, resource, source))
    return guarded
