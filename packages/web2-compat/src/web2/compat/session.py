# -*- test-case-name: test_compat_session -*-
"""
The session store of twisted.web resources running inside web2.

twisted.web keeps sessions on its C{Site}; here a L{SessionStore} plays
that part.  It offers what C{twisted.web.server.Session} and the code
around it expect of a site (C{sessions}, C{reactor}, C{makeSession()},
C{getSession(uid)}, C{sessionFactory}), so the real
C{twisted.web.server.Session} (or an application's subclass of it) is
used unchanged, with its expiry timer and C{notifyOnExpire} callbacks.
"""

from __future__ import annotations

import secrets

from twisted.logger import Logger
from twisted.web.server import Session

log = Logger()


class SessionStore:
    """
    Sessions in memory, keyed by their C{bytes} uid, in least recently used
    order.

    @ivar sessions: uid -> session; a session removes itself on expiry.
    @ivar sessionFactory: makes a session from C{(store, uid)}; by default
        C{twisted.web.server.Session}.
    @ivar sessionTimeout: seconds of inactivity after which a session
        expires, or C{None} for the factory's own default (900 for
        twisted.web's).
    @ivar maxSessions: the most sessions kept; making one more expires the
        least recently used, so that clients that never send their cookie
        back cannot fill the memory.
    @ivar reactor: the L{IReactorTime} that times the expiry.
    """

    def __init__(
        self,
        reactor=None,
        sessionTimeout: float | None = None,
        maxSessions: int = 10000,
        sessionFactory=Session,
    ):
        """
        @param reactor: see L{reactor}; the global reactor by default.
        @param sessionTimeout: see L{sessionTimeout}.
        @param maxSessions: see L{maxSessions}; at least 1.
        @param sessionFactory: see L{sessionFactory}.
        """
        if reactor is None:
            from twisted.internet import reactor
        if maxSessions < 1:
            raise ValueError(f"maxSessions must be at least 1, not {maxSessions}")
        self.reactor = reactor
        self.sessionTimeout = sessionTimeout
        self.maxSessions = maxSessions
        self.sessionFactory = sessionFactory
        self.sessions: dict[bytes, object] = {}

    def _mkuid(self) -> bytes:
        """
        A new unguessable session id: 32 random bytes, in hex.
        """
        return secrets.token_hex(32).encode("ascii")

    def makeSession(self):
        """
        Create a session, start its expiry timer and keep it.

        @return: the new session.
        """
        while len(self.sessions) >= self.maxSessions:
            oldest = next(iter(self.sessions.values()))
            log.info("Too many sessions ({count}): expiring the least recently used",
                     count=len(self.sessions))
            oldest.expire()
            if self.sessions and next(iter(self.sessions.values())) is oldest:
                # A factory whose expire() does not remove the session.
                del self.sessions[oldest.uid]
        uid = self._mkuid()
        session = self.sessionFactory(self, uid)
        if self.sessionTimeout is not None:
            session.sessionTimeout = self.sessionTimeout
        self.sessions[uid] = session
        session.startCheckingExpiration()
        return session

    def getSession(self, uid: bytes):
        """
        The live session C{uid}, now the most recently used.

        @raise KeyError: there is none (it expired, or never existed).
        """
        session = self.sessions.pop(uid)
        self.sessions[uid] = session
        return session

    def expireAll(self) -> None:
        """
        Expire every session (calling their expiry callbacks), e.g. when the
        server stops.
        """
        for session in list(self.sessions.values()):
            session.expire()
        self.sessions.clear()

    def __len__(self) -> int:
        return len(self.sessions)

    def __repr__(self) -> str:
        return f"<SessionStore {len(self.sessions)} sessions>"
