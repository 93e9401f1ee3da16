"""
Tests for L{web2.compat.session.SessionStore} and C{request.getSession()}:
sessions carried across requests by their cookie, expiry, and the bound on
their number.
"""

from __future__ import annotations

import pytest
from _compat_helpers import Connection
from twisted.internet import task
from twisted.web import resource, server
from zope.interface import Attribute, Interface, implementer

from web2 import resource as web2resource
from web2.compat import OldResourceAdapter, SessionStore


class ICounter(Interface):
    value = Attribute("a number")


@implementer(ICounter)
class Counter:
    def __init__(self, session):
        self.value = 0


class Counting(resource.Resource):
    """
    Counts the requests of each session; C{/expire} logs out.
    """

    isLeaf = True

    def render_GET(self, request):
        session = request.getSession()
        counter = session.getComponent(ICounter)
        if counter is None:
            counter = Counter(session)
            session.setComponent(ICounter, counter)
        if request.postpath == [b"expire"]:
            session.expire()
            return b"bye"
        counter.value += 1
        assert request.getSession() is session
        assert request.getSession(ICounter) is counter
        return b"%d %s" % (counter.value, session.uid)


def _cookie(response):
    [setCookie] = response.headerValues("set-cookie")
    return setCookie.split(";")[0], setCookie


def _store():
    return SessionStore(reactor=task.Clock())


def test_sessionAcrossRequests():
    store = _store()
    conn = Connection(Counting(), sessionStore=store)
    first = conn.request("/")
    cookie, setCookie = _cookie(first)
    name, uid = cookie.split("=")
    assert name == "TWISTED_SESSION"
    assert first.body == b"1 " + uid.encode()
    assert len(uid) == 64
    assert "HttpOnly" in setCookie and "SameSite=lax" in setCookie
    assert "Path=/" in setCookie and "Secure" not in setCookie
    second = conn.request("/", headers=[("Cookie", cookie)])
    assert second.body == b"2 " + uid.encode()
    assert second.headerValues("set-cookie") == []
    assert list(store.sessions) == [uid.encode()]


def test_unknownCookieGetsNewSession():
    store = _store()
    conn = Connection(Counting(), sessionStore=store)
    r = conn.request("/", headers=[("Cookie", "TWISTED_SESSION=forged")])
    cookie, _ = _cookie(r)
    assert cookie != "TWISTED_SESSION=forged"
    assert r.body.startswith(b"1 ")
    assert b"forged" not in store.sessions


def test_sessionExpires():
    clock = task.Clock()
    store = SessionStore(reactor=clock, sessionTimeout=60)
    conn = Connection(Counting(), sessionStore=store)
    cookie, _ = _cookie(conn.request("/"))
    expired = []
    [session] = store.sessions.values()
    session.notifyOnExpire(lambda: expired.append(True))
    clock.advance(59)
    assert conn.request("/", headers=[("Cookie", cookie)]).body.startswith(b"2 ")
    clock.advance(59)  # touched by the last request: still alive
    assert expired == []
    clock.advance(2)
    assert expired == [True]
    assert store.sessions == {}
    r = conn.request("/", headers=[("Cookie", cookie)])
    assert r.body.startswith(b"1 ")
    assert _cookie(r)[0] != cookie


def test_logout():
    store = _store()
    conn = Connection(Counting(), sessionStore=store)
    cookie, _ = _cookie(conn.request("/"))
    assert conn.request("/expire", headers=[("Cookie", cookie)]).body == b"bye"
    assert store.sessions == {}


def test_cookieNamedAfterMountPoint():
    class Mounts(web2resource.Resource):
        pass

    store = _store()
    root = Mounts()
    root.putChild("app", OldResourceAdapter(Counting(), sessionStore=store))
    conn = Connection(root)
    r = conn.request("/app/x")
    assert _cookie(r)[0].startswith("TWISTED_SESSION_app=")


def test_sessionsPerSiteByDefault():
    one = Connection(Counting())
    two = Connection(Counting())
    cookie, _ = _cookie(one.request("/"))
    assert one.request("/", headers=[("Cookie", cookie)]).body.startswith(b"2 ")
    # Another site does not know that session.
    assert two.request("/", headers=[("Cookie", cookie)]).body.startswith(b"1 ")


def test_maxSessionsEvictsLeastRecentlyUsed():
    store = SessionStore(reactor=task.Clock(), maxSessions=3)
    sessions = [store.makeSession() for _ in range(3)]
    expired = []
    sessions[0].notifyOnExpire(lambda: expired.append(0))
    sessions[1].notifyOnExpire(lambda: expired.append(1))
    store.getSession(sessions[0].uid)  # now the most recently used
    store.makeSession()
    assert expired == [1]
    assert len(store) == 3
    assert sessions[0].uid in store.sessions


def test_storeBasics():
    clock = task.Clock()
    store = SessionStore(reactor=clock)
    session = store.makeSession()
    assert isinstance(session, server.Session)
    assert session.site is store
    assert session.sessionTimeout == 900
    assert store.getSession(session.uid) is session
    with pytest.raises(KeyError):
        store.getSession(b"nope")
    assert store.makeSession().uid != session.uid
    store.expireAll()
    assert store.sessions == {}
    assert clock.getDelayedCalls() == []
    with pytest.raises(ValueError):
        SessionStore(reactor=clock, maxSessions=0)


def test_secureSessionCookie():
    class Secure(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHost(b"example.com", 443, ssl=True)
            secure = request.getSession()
            plain = request.getSession(forceNotSecure=True)
            return b"%s %s" % (secure.uid, plain.uid)

    conn = Connection(Secure(), sessionStore=_store())
    r = conn.request("/")
    secure, plain = r.body.split()
    cookies = r.headerValues("set-cookie")
    assert cookies[0].startswith("TWISTED_SECURE_SESSION=" + secure.decode())
    assert "; Secure" in cookies[0]
    assert cookies[1].startswith("TWISTED_SESSION=" + plain.decode())
    assert "; Secure" not in cookies[1]


def test_sessionExpiredDuringRequest():
    clock = task.Clock()
    store = SessionStore(reactor=clock, sessionTimeout=10)
    seen = []

    class Slow(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            first = request.getSession()
            clock.advance(11)  # expires while the request runs
            second = request.getSession()
            seen.extend([first, second])
            return b"ok"

    conn = Connection(Slow(), sessionStore=store)
    assert conn.request("/").body == b"ok"
    first, second = seen
    assert first is not second
    assert list(store.sessions) == [second.uid]
