# -*- test-case-name: test_dav_locks -*-
"""
WebDAV write locks (RFC 4918 sections 6 and 7) and the evaluation of the
C{If} header (section 10.4).

Locks live in memory, in a L{LockManager} shared by one DAV tree; they do
not survive a restart (clients re-lock, and a lock is only ever a lease
with a timeout).  Resources are named by their I{key}: the path below the
tree's root, segments joined with C{/}, C{""} for the root.  A lock
covers its root key, and with Depth infinity everything below it.

Every check of a request asks the manager about one key, and a PROPFIND
asks once per member, so no question may cost a scan of all the locks
(thousands of them made a Depth 1 PROPFIND take seconds, on the reactor
thread).  The manager therefore keeps its locks indexed by path:

  1. the locks rooted at each key, and separately its Depth infinity ones,
     so that L{LockManager.covering} looks at the key and its ancestors
     only: work proportional to the depth of the key (and the locks found);
  2. for each key, how many locks are rooted at or below it and which of
     its children lead to them, so that L{LockManager.below} walks only
     the part of the subtree that holds locks;
  3. a heap of expiry times, so that expired locks are found without
     looking at the others.  Expired locks are dropped lazily, whenever the
     manager is consulted, so no timer is kept per lock; a refresh pushes a
     new entry and leaves the old one to be skipped, and the heap is
     rebuilt once such stale entries outnumber the live locks.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from dataclasses import dataclass, field

#: The state token that never names a lock (RFC 4918 10.4.8).
NO_LOCK = "DAV:no-lock"


def isBelow(key: str, ancestor: str) -> bool:
    """
    Whether C{key} is strictly inside the collection C{ancestor}.
    """
    if ancestor == "":
        return key != ""
    return key.startswith(ancestor + "/")


def _chain(key: str) -> list[str]:
    """
    The keys from the root down to C{key}: C{["", "a", "a/b"]} for
    C{"a/b"}.
    """
    if key == "":
        return [""]
    chain = [""]
    end = key.find("/")
    while end != -1:
        chain.append(key[:end])
        end = key.find("/", end + 1)
    chain.append(key)
    return chain


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
    @ivar expires: when it expires, on the manager's clock (change it only
        through L{LockManager.refresh}, which keeps the expiry index).
    @ivar rootHref: the URL path of the lock root, for C{DAV:lockroot}.
    @ivar serial: the order of creation in its manager (results are listed
        in that order).
    """

    token: str
    key: str
    depth: str
    scope: str
    owner: str | None
    timeout: int
    expires: float
    rootHref: str = ""
    serial: int = field(default=0, compare=False, repr=False)

    def covers(self, key: str) -> bool:
        return key == self.key or (self.depth == "infinity" and isBelow(key, self.key))


def _bySerial(lock: Lock) -> int:
    return lock.serial


class LockManager:
    """
    The active locks of one tree, indexed by path (see the module
    docstring): asking about one key costs work proportional to the depth
    of the key and the number of locks in the answer, never to the number
    of locks held.

    @ivar defaultTimeout: seconds granted when the client asks for none.
    @ivar maxTimeout: the longest timeout granted (C{Infinite} gets this).
    @ivar maxLocks: the most live locks of the tree; LOCK refuses more
        (503, see L{web2.dav._lockmethods}).  Each lock costs memory, and a
        LOCK of an unmapped URL creates an empty file, so without a cap one
        client could fill both.
    """

    def __init__(self, clock=None, defaultTimeout: int = 3600,
                 maxTimeout: int = 7 * 24 * 3600, maxLocks: int = 10000):
        """
        @param clock: an C{IReactorTime} (the reactor by default).
        @param defaultTimeout: seconds granted when a LOCK asks for none
            (1 hour).
        @param maxTimeout: the longest timeout granted (7 days).
        @param maxLocks: the most live locks (10000: far more than the
            files a group of people keeps open at once, and a few
            megabytes of memory).
        """
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.defaultTimeout = defaultTimeout
        self.maxTimeout = maxTimeout
        self.maxLocks = maxLocks
        self._locks: dict[str, Lock] = {}
        # key -> {token: lock}: the locks rooted at key; and its Depth
        # infinity ones alone (what covers the keys below).
        self._rooted: dict[str, dict[str, Lock]] = {}
        self._deep: dict[str, dict[str, Lock]] = {}
        # key -> number of locks rooted at or below it (keys with none are
        # absent); key -> its children that have some.
        self._counts: dict[str, int] = {}
        self._children: dict[str, set[str]] = {}
        # A heap of (expires, entry, token); an entry is current while
        # _entries[token] is its number.
        self._deadlines: list[tuple[float, int, str]] = []
        self._entries: dict[str, int] = {}
        self._serials = itertools.count(1)
        #: LOCKs refused for the cap since a lock was last granted.
        self.refusals = 0

    def _now(self) -> float:
        return self.clock.seconds()

    # The indexes

    def _add(self, lock: Lock):
        token, key = lock.token, lock.key
        self._locks[token] = lock
        self._rooted.setdefault(key, {})[token] = lock
        if lock.depth == "infinity":
            self._deep.setdefault(key, {})[token] = lock
        counts = self._counts
        parent = None
        for k in _chain(key):
            count = counts.get(k, 0)
            counts[k] = count + 1
            if count == 0 and parent is not None:
                self._children.setdefault(parent, set()).add(k)
            parent = k
        self._schedule(lock)

    def _drop(self, lock: Lock):
        token, key = lock.token, lock.key
        if self._locks.pop(token, None) is None:
            return
        self._entries.pop(token, None)
        _discard(self._rooted, key, token)
        _discard(self._deep, key, token)
        counts = self._counts
        parent = None
        for k in _chain(key):
            count = counts[k] - 1
            if count:
                counts[k] = count
            else:
                del counts[k]
                if parent is not None:
                    siblings = self._children[parent]
                    siblings.discard(k)
                    if not siblings:
                        del self._children[parent]
            parent = k

    def _schedule(self, lock: Lock):
        entry = next(self._serials)
        self._entries[lock.token] = entry
        heapq.heappush(self._deadlines, (lock.expires, entry, lock.token))
        self._compact()

    def _compact(self):
        """
        Rebuild the expiry heap once stale entries (left by refreshes and
        removals) outnumber the live locks, so it stays within a constant
        factor of them.
        """
        if len(self._deadlines) > 2 * len(self._locks) + 64:
            entries = self._entries
            self._deadlines[:] = [d for d in self._deadlines if entries.get(d[2]) == d[1]]
            heapq.heapify(self._deadlines)

    def _purge(self):
        """
        Drop the expired locks: only the heap's front is looked at.
        """
        deadlines = self._deadlines
        if not deadlines:
            return
        now = self._now()
        entries = self._entries
        while deadlines and deadlines[0][0] <= now:
            _, entry, token = heapq.heappop(deadlines)
            if entries.get(token) == entry:
                self._drop(self._locks[token])

    # Questions

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

    def secondsUntilExpiry(self) -> float | None:
        """
        Seconds until the first live lock expires (and frees its place
        under L{maxLocks}), or C{None} when no lock is held.
        """
        self._purge()
        deadlines, entries = self._deadlines, self._entries
        while deadlines and entries.get(deadlines[0][2]) != deadlines[0][1]:
            heapq.heappop(deadlines)
        if not deadlines:
            return None
        return max(0.0, deadlines[0][0] - self._now())

    def covering(self, key: str) -> list[Lock]:
        """
        The locks whose scope includes C{key}, in order of creation: those
        rooted at C{key} and the Depth infinity ones of its ancestors.
        """
        self._purge()
        if not self._locks:
            return []
        chain = _chain(key)
        found: list[Lock] = []
        deep = self._deep
        for ancestor in chain[:-1]:
            locks = deep.get(ancestor)
            if locks:
                found.extend(locks.values())
        locks = self._rooted.get(key)
        if locks:
            found.extend(locks.values())
        if len(found) > 1:
            found.sort(key=_bySerial)
        return found

    def below(self, key: str) -> list[Lock]:
        """
        The locks rooted strictly inside the collection C{key}, in order of
        creation.  Only the branches that hold locks are walked.
        """
        self._purge()
        found: list[Lock] = []
        pending = list(self._children.get(key, ()))
        rooted, children = self._rooted, self._children
        while pending:
            k = pending.pop()
            locks = rooted.get(k)
            if locks:
                found.extend(locks.values())
            pending.extend(children.get(k, ()))
        if len(found) > 1:
            found.sort(key=_bySerial)
        return found

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

    # Changes

    def create(self, key, depth, scope, owner, timeout, rootHref="") -> Lock:
        """
        Record a new lock (the caller checked L{conflicts} and
        L{maxLocks}).
        """
        lock = Lock(
            token="urn:uuid:" + str(uuid.uuid4()),
            key=key, depth=depth, scope=scope, owner=owner,
            timeout=timeout, expires=self._now() + timeout, rootHref=rootHref,
            serial=next(self._serials),
        )
        self._add(lock)
        self.refusals = 0
        return lock

    def refresh(self, lock: Lock, timeout: int):
        lock.timeout = timeout
        lock.expires = self._now() + timeout
        if self._locks.get(lock.token) is lock:
            self._schedule(lock)

    def remove(self, token: str):
        lock = self._locks.get(token)
        if lock is not None:
            self._drop(lock)
            self._compact()

    def removeTree(self, key: str):
        """
        Drop the locks rooted at C{key} or below (the resource was deleted
        or moved away).
        """
        doomed = list(self._rooted.get(key, {}).values()) + self.below(key)
        for lock in doomed:
            self._drop(lock)
        self._compact()

    def remaining(self, lock: Lock) -> int:
        return max(0, int(lock.expires - self._now()))


def _discard(index: dict, key: str, token: str):
    locks = index.get(key)
    if locks is not None:
        locks.pop(token, None)
        if not locks:
            del index[key]


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
