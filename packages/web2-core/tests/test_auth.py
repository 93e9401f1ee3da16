"""
Tests for L{web2.auth}: Basic and Digest through a real channel, including
bad credentials, replayed nonce counts, stale nonces and anonymous access.
"""

from __future__ import annotations

import base64
import hashlib

from _core_helpers import Connection
from twisted.cred import checkers, portal
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from web2 import auth, resource
from web2.iweb import IResource


class Secret(resource.Resource):
    def render(self, request):
        return f"hello {request.avatar}"


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        return interfaces[0], avatarId.decode() if isinstance(avatarId, bytes) else "anonymous", lambda: None


def makePortal(anonymous=False):
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"s3cret")
    p = portal.Portal(Realm(), [checker])
    if anonymous:
        p.registerChecker(checkers.AllowAnonymousAccess())
    return p


def guarded(factories, anonymous=False):
    return auth.HTTPAuthResource(Secret(), factories, makePortal(anonymous), (IResource,))


def fetch(conn, headers=b"", path=b"/"):
    before = len(conn.responses())
    conn.send(b"GET " + path + b" HTTP/1.1\r\nHost: h\r\n" + headers + b"\r\n")
    return conn.responses()[before]


def basic(user, password):
    return b"Authorization: Basic " + base64.b64encode(user + b":" + password) + b"\r\n"


class BasicTests(SynchronousTestCase):
    def setUp(self):
        self.conn = Connection(guarded([auth.BasicCredentialFactory("web2 test")]))

    def test_interfaces(self):
        self.assertTrue(verifyObject(auth.ICredentialFactory, auth.BasicCredentialFactory("r")))
        self.assertTrue(verifyObject(IResource, guarded([])))

    def test_challenge(self):
        r = fetch(self.conn)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("www-authenticate"), 'Basic realm="web2 test", charset="UTF-8"')

    def test_goodCredentials(self):
        r = fetch(self.conn, basic(b"alice", b"s3cret"))
        self.assertEqual((r.status, r.body), (200, b"hello alice"))

    def test_wrongPassword(self):
        self.assertEqual(fetch(self.conn, basic(b"alice", b"nope")).status, 401)

    def test_unknownUser(self):
        self.assertEqual(fetch(self.conn, basic(b"mallory", b"s3cret")).status, 401)

    def test_garbage(self):
        for value in (b"Basic !!!!", b"Basic " + base64.b64encode(b"nocolon"), b"Bearer abc", b"Basic"):
            r = fetch(self.conn, b"Authorization: " + value + b"\r\n")
            self.assertEqual(r.status, 401, value)

    def test_anonymousAllowed(self):
        conn = Connection(guarded([auth.BasicCredentialFactory("r")], anonymous=True))
        r = fetch(conn)
        self.assertEqual((r.status, r.body), (200, b"hello anonymous"))


class FakeClock:
    now = 1000.0

    def __call__(self):
        return self.now


def digestAnswer(challenge, user=b"alice", password=b"s3cret", uri="/", nc=1, algorithm="sha-256"):
    params = {}
    for part in challenge.split(" ", 1)[1].split(", "):
        name, _, value = part.partition("=")
        params[name] = value.strip('"')
    h = hashlib.sha256 if algorithm == "sha-256" else hashlib.md5

    def H(s):
        return h(s.encode()).hexdigest()

    cnonce = "0a4f113b"
    ncValue = f"{nc:08x}"
    ha1 = H(f"{user.decode()}:{params['realm']}:{password.decode()}")
    ha2 = H(f"GET:{uri}")
    response = H(f"{ha1}:{params['nonce']}:{ncValue}:{cnonce}:auth:{ha2}")
    header = (
        f'Digest username="{user.decode()}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", algorithm={params["algorithm"]}, response="{response}", '
        f'opaque="{params["opaque"]}", qop=auth, nc={ncValue}, cnonce="{cnonce}"'
    )
    return b"Authorization: " + header.encode() + b"\r\n"


class DigestTests(SynchronousTestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.factory = auth.DigestCredentialFactory("SHA-256", "web2 realm", clock=self.clock)
        self.conn = Connection(guarded([self.factory]))

    def challenge(self):
        r = fetch(self.conn)
        self.assertEqual(r.status, 401)
        return r.header("www-authenticate")

    def test_challengeFormat(self):
        c = self.challenge()
        self.assertTrue(c.startswith('Digest realm="web2 realm"'))
        self.assertIn("algorithm=SHA-256", c)
        self.assertIn('qop="auth"', c)

    def test_noncesAreRandom(self):
        self.assertNotEqual(self.challenge(), self.challenge())

    def test_goodResponse(self):
        r = fetch(self.conn, digestAnswer(self.challenge()))
        self.assertEqual((r.status, r.body), (200, b"hello alice"))

    def test_md5(self):
        factory = auth.DigestCredentialFactory("MD5", "r", clock=self.clock)
        conn = Connection(guarded([factory]))
        challenge = fetch(conn).header("www-authenticate")
        r = fetch(conn, digestAnswer(challenge, algorithm="md5"))
        self.assertEqual(r.status, 200)

    def test_wrongPassword(self):
        r = fetch(self.conn, digestAnswer(self.challenge(), password=b"wrong"))
        self.assertEqual(r.status, 401)

    def test_replayRefused(self):
        """
        The same nonce count twice is a replay; a higher count is fine.
        """
        challenge = self.challenge()
        self.assertEqual(fetch(self.conn, digestAnswer(challenge, nc=1)).status, 200)
        self.assertEqual(fetch(self.conn, digestAnswer(challenge, nc=1)).status, 401)
        self.assertEqual(fetch(self.conn, digestAnswer(challenge, nc=2)).status, 200)

    def test_staleNonce(self):
        challenge = self.challenge()
        self.clock.now += self.factory.nonceLifetime + 1
        r = fetch(self.conn, digestAnswer(challenge))
        self.assertEqual(r.status, 401)
        self.assertIn("stale=true", r.header("www-authenticate"))

    def test_uriMismatch(self):
        r = fetch(self.conn, digestAnswer(self.challenge(), uri="/other"))
        self.assertEqual(r.status, 401)

    def test_otherClientAddress(self):
        challenge = self.challenge()
        other = Connection(guarded([self.factory]))
        other.channel.transport.peerAddr = type(other.channel.transport.getPeer())("TCP", "10.9.9.9", 1)
        r = fetch(other, digestAnswer(challenge))
        self.assertEqual(r.status, 401)

    def test_badAlgorithm(self):
        self.assertRaises(ValueError, auth.DigestCredentialFactory, "SHA-1", "r")


class NonceTableTests(SynchronousTestCase):
    def test_boundedUnderChallengeFlood(self):
        """
        However many challenges are handed out, the table keeps at most
        C{maxNonces}, dropping the oldest first.
        """
        clock = FakeClock()
        factory = auth.DigestCredentialFactory("MD5", "r", clock=clock)
        factory.maxNonces = 50

        class Req:
            remoteAddr = None

        first = factory.getChallenge(Req())["nonce"]
        for _ in range(500):
            factory.getChallenge(Req())
        self.assertLessEqual(len(factory._nonces), 51)
        self.assertNotIn(first, factory._nonces)

    def test_expiredDropped(self):
        clock = FakeClock()
        factory = auth.DigestCredentialFactory("MD5", "r", clock=clock)

        class Req:
            remoteAddr = None

        for _ in range(10):
            factory.getChallenge(Req())
        clock.now += factory.nonceLifetime + 1
        factory.getChallenge(Req())
        self.assertEqual(len(factory._nonces), 1)
