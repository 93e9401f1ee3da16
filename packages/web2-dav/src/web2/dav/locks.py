# -*- test-case-name: test_dav_locks -*-
"""
WebDAV write locks (RFC 4918 sections 6 and 7) and the evaluation of the
C{If} header (section 10.4).

Locks live in memory, in a L{LockManager} shared by one DAV tree; they do
not survive a restart (clients re-lock, and a lock is only ever a lease
with a timeout).  Resources are named by their I{key}: the path below the
tree's root, segments joined with C{/}, C{""} for the root.  A lock
covers its root key, and with Depth infinity everything below it.

Expired locks are dropped lazily, whenever the manager is consulted, so
no timer is kept per lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

#: The state token that never names a lock (RFC 4918 10.4.8).
NO_LOCK = "DAV:no-lock"


def isBelow(key: str, ancestor: str) -> bool:
    """
    Whether C{key} is strictly inside the collection C{ancestor}.
    """
    if ancestor == "":
        return key != ""
    return key.startswith(ancestor + "/")


@dataclass
class Lock:
    """
    One active lock.

    @ivar token: the lock token, a URI (C{urn:uuid:...}).
    @ivar key: the key of the lock root.
    @ivar depth: C{"0"} or C{"infinity"}.
    @ivar scope: C{"exclusive"} or C{"shared"}.
    @ivar owner: the client's C{DAV:owner} element, serialized, or C{None}.
    @ivar timeout: the granted timeout in seconds.
    @ivar expires: when it expires, on the manager's clock.
    @ivar rootHref: the URL path of the lock root, for C{DAV:lockroot}.
    """

    token: str
    key: str
    depth: str
    scope: str
    owner: str | None
    timeout: int
    expires: float
    rootHref: str = ""

    def covers(self, key: str) -> bool:
        return key == self.key or (self.depth == "infinity" and isBelow(key, self.key))


class LockManager:
    """
    The active locks of one tree.

    @ivar defaultTimeout: seconds granted when the client asks for none.
    @ivar maxTimeout: the longest timeout granted (C{Infinite} gets this).
    @ivar maxLocks: the most locks held at once (more: 503 from the caller).
    """

    def __init__(self, clock=None, defaultTimeout: int = 3600,
                 maxTimeout: int = 7 * 24 * 3600, maxLocks: int = 10000):
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.defaultTimeout = defaultTimeout
        self.maxTimeout = maxTimeout
        self.maxLocks = maxLocks
        self._locks: dict[str, Lock] = {}

    def _now(self) -> float:
        return self.clock.seconds()

    def _purge(self):
        now = self._now()
        expired = [t for t, lock in self._locks.items() if lock.expires <= now]
        for token in expired:
            del self._locks[token]

    def __len__(self) -> int:
        self._purge()
        return len(self._locks)

    def get(self, token: str) -> Lock | None:
        self._purge()
        return self._locks.get(token)

    def grantedTimeout(self, requested) -> int:
        """
        The timeout to grant for a parsed C{Timeout} header (a list of
        seconds and C{"Infinite"}, or C{None}).
        """
        if not requested:
            return min(self.defaultTimeout, self.maxTimeout)
        first = requested[0]
        if first == "Infinite":
            return self.maxTimeout
        return max(1, min(int(first), self.maxTimeout))

    def covering(self, key: str) -> list[Lock]:
        """
        The locks whose scope includes C{key}.
        """
        self._purge()
        return [lock for lock in self._locks.values() if lock.covers(key)]

    def below(self, key: str) -> list[Lock]:
        """
        The locks rooted strictly inside the collection C{key}.
        """
        self._purge()
        return [lock for lock in self._locks.values() if isBelow(lock.key, key)]

    def conflicts(self, key: str, depth: str, scope: str) -> list[Lock]:
        """
        The locks that forbid a new lock of C{scope} and C{depth} on
        C{key}: any exclusive lock in the way, or any lock at all if the
        new one is exclusive.
        """
        candidates = self.covering(key)
        if depth == "infinity":
            candidates += self.below(key)
        return [
            lock for lock in candidates
            if scope == "exclusive" or lock.scope == "exclusive"
        ]

    def create(self, key, depth, scope, owner, timeout, rootHref="") -> Lock:
        """
        Record a new lock (the caller checked L{conflicts}).
        """
        lock = Lock(
            token="urn:uuid:" + str(uuid.uuid4()),
            key=key, depth=depth, scope=scope, owner=owner,
            timeout=timeout, expires=self._now() + timeout, rootHref=rootHref,
        )
        self._locks[lock.token] = lock
        return lock

    def refresh(self, lock: Lock, timeout: int):
        lock.timeout = timeout
        lock.expires = self._now() + timeout

    def remove(self, token: str):
        self._locks.pop(token, None)

    def removeTree(self, key: str):
        """
        Drop the locks rooted at C{key} or below (the resource was deleted
        or moved away).
        """
        for token in [t for t, lock in self._locks.items()
                      if lock.key == key or isBelow(lock.key, key)]:
            del self._locks[token]

    def remaining(self, lock: Lock) -> int:
        return max(0, int(lock.expires - self._now()))


# ---------------------------------------------------------------------------
# The If header


def submittedTokens(ifValue) -> set[str]:
    """
    The lock tokens a request submits: every state token named without
    C{Not} anywhere in its parsed C{If} header.
    """
    tokens = set()
    for _tag, lists in ifValue or ():
        for conditions in lists:
            for negated, kind, value in conditions:
                if kind == "token" and not negated:
                    tokens.add(value)
    return tokens


def evaluateIf(ifValue, requestKey, keyForTag, stateOf) -> bool:
    """
    Whether the parsed C{If} header holds (RFC 4918 10.4): true when at
    least one of its lists holds, a list holding when all its conditions
    do.  A list applies to its tagged resource, or to the request's.

    @param requestKey: the key of the request's resource.
    @param keyForTag: C{f(url) -> key}, C{None} for a URL outside the tree
        (whose conditions are all false).
    @param stateOf: C{f(key) -> (etag or None, tokens)}: the resource's
        current entity tag and the tokens of the locks covering it.
    """
    cache = {}

    def state(key):
        if key not in cache:
            cache[key] = stateOf(key)
        return cache[key]

    for tag, lists in ifValue:
        key = requestKey if tag is None else keyForTag(tag)
        for conditions in lists:
            if all(_holds(cond, key, state) for cond in conditions):
                return True
    return False


def _holds(condition, key, state) -> bool:
    negated, kind, value = condition
    if key is None:
        result = False
    else:
        etag, tokens = state(key)
        if kind == "token":
            result = value in tokens
        else:
            result = etag is not None and value.match(etag, False)
    return result != negated
