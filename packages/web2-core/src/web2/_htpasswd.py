# -*- test-case-name: test_auth_files -*-
"""
Password files in Apache's formats, for L{web2.auth}: an C{htpasswd} file
(C{user:HASH}) for Basic and an C{htdigest} file (C{user:realm:HA1}) for
Digest, each re-read when it changes.

Rules, in the order they matter:

  1. Only hashes worth the name are accepted: bcrypt (C{$2y$}, C{$2b$},
     C{$2a$}; needs the optional C{bcrypt} package, the C{bcrypt} extra of
     web2-core), Apache's MD5 (C{$apr1$}) and SHA-1 (C{{SHA}}).  A line in
     any other form (plain text, DES C{crypt()}, C{$1$}, C{$5$}, C{$6$}) is
     an error naming the file, the line and the user, at startup and on
     every reload: web2 never guesses that a string is a password.
  2. A user who is not in the file costs as much as one who is: the
     password is checked against a dummy hash of the file's own kind, so
     the time of an answer does not say which names exist.  Hashes are
     compared with L{hmac.compare_digest}.
  3. bcrypt is slow on purpose (tens of milliseconds), so it never runs
     on the reactor thread: it goes to a thread pool, and a successful
     check is remembered (keyed by a keyed hash of the user and password,
     never the password itself) until the file changes, so that a client
     sending Basic credentials with every request does not pay it each
     time.
  4. The file is looked at (C{stat}) at most once a second and re-read
     when its modification time, size or inode changed.  A new version
     that cannot be read or parsed is logged and the last good one is
     kept: a half-written file never locks everyone out nor lets anyone
     in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections import OrderedDict

from twisted.logger import Logger

log = Logger(namespace="web2.auth")

__all__ = ["HtdigestFile", "HtpasswdFile", "PasswordFileError", "apr1", "verifyHash"]


class PasswordFileError(ValueError):
    """
    A password file cannot be read or holds something web2 refuses; the
    message names the file (and the line) and says what to do.
    """


_ITOA64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _to64(value: int, count: int) -> bytes:
    out = bytearray()
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return bytes(out)


def apr1(password: bytes, salt: bytes, magic: bytes = b"$apr1$") -> bytes:
    """
    Apache's MD5 password hash (C{htpasswd -m}): the MD5-based C{crypt}
    of FreeBSD with the prefix C{$apr1$}.

    @param salt: up to 8 characters of C{./0-9A-Za-z}.
    @return: C{$apr1$SALT$HASH}.
    """
    salt = salt[:8]
    alternate = hashlib.md5(password + salt + password).digest()
    ctx = hashlib.md5(password + magic + salt)
    left = len(password)
    while left > 0:
        ctx.update(alternate[:min(16, left)])
        left -= 16
    bits = len(password)
    while bits:
        ctx.update(b"\0" if bits & 1 else password[:1])
        bits >>= 1
    digest = ctx.digest()
    for round_ in range(1000):
        step = hashlib.md5()
        step.update(password if round_ & 1 else digest)
        if round_ % 3:
            step.update(salt)
        if round_ % 7:
            step.update(password)
        step.update(digest if round_ & 1 else password)
        digest = step.digest()
    encoded = b"".join(
        _to64((digest[a] << 16) | (digest[b] << 8) | digest[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    ) + _to64(digest[11], 2)
    return magic + salt + b"$" + encoded


def _bcrypt():
    try:
        import bcrypt
    except ImportError:
        return None
    return bcrypt


BCRYPT, APR1, SHA1 = "bcrypt", "apr1", "sha1"


def hashScheme(stored: str) -> str | None:
    """
    The scheme of a stored hash, or C{None} for one web2 refuses.
    """
    if stored.startswith(("$2y$", "$2b$", "$2a$")) and len(stored) == 60:
        return BCRYPT
    if stored.startswith("$apr1$") and stored.count("$") == 3:
        return APR1
    if stored.startswith("{SHA}") and len(stored) == 33:
        return SHA1
    return None


def verifyHash(stored: str, password: bytes) -> bool:
    """
    Whether C{password} matches the stored hash C{stored} (of a scheme
    L{hashScheme} accepts), in time that does not depend on where they
    differ.  For bcrypt this is slow: call it off the reactor thread.
    """
    scheme = hashScheme(stored)
    if scheme == SHA1:
        expected = base64.b64encode(hashlib.sha1(password).digest())
        return hmac.compare_digest(expected, stored[5:].encode("ascii"))
    if scheme == APR1:
        salt = stored.split("$")[2].encode("ascii")
        return hmac.compare_digest(apr1(password, salt), stored.encode("ascii"))
    if scheme == BCRYPT:
        bcrypt = _bcrypt()
        if bcrypt is None:
            return False
        # The same algorithm whatever the letter; the library knows $2b$.
        # bcrypt reads 72 bytes of a password (htpasswd -B stores a longer
        # one so), and the library refuses more instead of ignoring them.
        try:
            return bcrypt.checkpw(password[:72], ("$2b$" + stored[4:]).encode("ascii"))
        except ValueError:
            return False
    return False


def _dummyHash(scheme: str, like: str | None) -> str:
    """
    A hash of a random password in C{scheme}, as costly to check as
    C{like} (a real entry of the same file), for users who are not there.
    """
    secret = secrets.token_bytes(16)
    if scheme == BCRYPT:
        rounds = int(like.split("$")[2]) if like else 10
        return _bcrypt().hashpw(secret, _bcrypt().gensalt(rounds)).decode("ascii")
    if scheme == APR1:
        salt = bytes(_ITOA64[b % 64] for b in secrets.token_bytes(8))
        return apr1(secret, salt).decode("ascii")
    return "{SHA}" + base64.b64encode(hashlib.sha1(secret).digest()).decode("ascii")


def _refused(stored: str) -> str:
    if stored.startswith(("$2y$", "$2b$", "$2a$", "$apr1$", "{SHA}")):
        return "a malformed hash"
    if stored.startswith("$1$"):
        return "an MD5 crypt() hash ($1$)"
    if stored.startswith(("$5$", "$6$")):
        return "a SHA crypt() hash ($5$/$6$)"
    if len(stored) == 13:
        return "a DES crypt() hash or a plain-text password"
    return "a plain-text password or an unknown hash"


class _WatchedFile:
    """
    A file parsed by C{_parse}, re-read when it changes (rule 4).

    @ivar path: the file.
    @ivar checkInterval: seconds between two looks at the file.
    """

    checkInterval = 1.0
    kind = "password file"

    def __init__(self, path: str, clock=time.monotonic):
        self.path = path
        self.clock = clock
        self._lastCheck = None
        self._signature = None
        self._broken = None
        self.entries = self._load(self._stat())
        self._lastCheck = clock()

    def _stat(self):
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise PasswordFileError(
                f"cannot read the {self.kind} {self.path!r}: {e.strerror}") from None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load(self, signature):
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise PasswordFileError(
                f"cannot read the {self.kind} {self.path!r}: {e.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PasswordFileError(f"{self.path}: not UTF-8 text") from None
        entries = self._parse(text)
        self._signature = signature
        return entries

    def current(self):
        """
        The entries, re-read first if the file changed since it was last
        looked at (at most every C{checkInterval} seconds).
        """
        now = self.clock()
        if self._lastCheck is not None and now - self._lastCheck < self.checkInterval:
            return self.entries
        self._lastCheck = now
        try:
            signature = self._stat()
            if signature != self._signature:
                self.entries = self._load(signature)
                self._broken = None
                log.info("Re-read the {kind} {path}", kind=self.kind, path=self.path)
        except PasswordFileError as e:
            if str(e) != self._broken:
                self._broken = str(e)
                log.error("{error}; still using its last good version", error=str(e))
        return self.entries


def _lines(text):
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


class HtpasswdFile(_WatchedFile):
    """
    An C{htpasswd} file: C{user:HASH} lines (C{#} comments and blank lines
    allowed), as C{htpasswd -B} (bcrypt), C{-m} (MD5) or C{-s} (SHA-1)
    write them.

    @ivar entries: user name -> stored hash.
    @ivar dummy: a hash of the file's most common kind for unknown users.
    """

    kind = "htpasswd file"

    def _parse(self, text):
        entries = {}
        for number, line in _lines(text):
            user, sep, stored = line.partition(":")
            where = f"{self.path}:{number}"
            if not sep or not user:
                raise PasswordFileError(f"{where}: expected USER:HASH")
            if hashScheme(stored) is None:
                raise PasswordFileError(
                    f"{where}: user {user!r} has {_refused(stored)}, which web2 refuses; "
                    "store it with htpasswd -B (bcrypt), -m (MD5) or -s (SHA-1)")
            if hashScheme(stored) == BCRYPT and _bcrypt() is None:
                raise PasswordFileError(
                    f"{where}: user {user!r} has a bcrypt hash, which needs the bcrypt "
                    "package: pip install 'web2-core[bcrypt]'")
            entries[user] = stored
        counts: dict[str, int] = {}
        for stored in entries.values():
            counts[hashScheme(stored)] = counts.get(hashScheme(stored), 0) + 1
        scheme = max(counts, key=counts.get) if counts else APR1
        like = next((s for s in entries.values() if hashScheme(s) == scheme), None)
        previous = getattr(self, "dummy", None)
        # A bcrypt dummy costs one bcrypt to make: a reload (on the reactor
        # thread) keeps the one it has while the kind and cost are the same.
        if not (previous and hashScheme(previous) == scheme
                and (scheme != BCRYPT or previous[4:7] == (like or "")[4:7])):
            self.dummy = _dummyHash(scheme, like)
        return entries


class HtdigestFile(_WatchedFile):
    """
    An C{htdigest} file: C{user:realm:HA1} lines, HA1 being the hex MD5 of
    C{user:realm:password} (what C{htdigest} writes).

    @ivar entries: C{(user, realm)} -> HA1 (lower-case hex).
    """

    kind = "htdigest file"

    def _parse(self, text):
        entries = {}
        for number, line in _lines(text):
            parts = line.split(":")
            where = f"{self.path}:{number}"
            if len(parts) != 3 or not parts[0]:
                raise PasswordFileError(f"{where}: expected USER:REALM:HA1 (as htdigest "
                                        "writes)")
            user, realm, ha1 = parts
            ha1 = ha1.lower()
            if len(ha1) != 32 or any(c not in "0123456789abcdef" for c in ha1):
                raise PasswordFileError(
                    f"{where}: user {user!r}: the third field must be the 32 hex digits "
                    "of MD5(user:realm:password)")
            entries[(user, realm)] = ha1
        return entries

    def realms(self):
        """
        The realms the file has users for.
        """
        return {realm for _, realm in self.entries}


class VerifiedCache:
    """
    Successful slow checks, remembered by a keyed hash of user and
    password (rule 3); at most C{maxEntries}, the oldest forgotten first.
    """

    def __init__(self, maxEntries: int = 1024):
        self.maxEntries = maxEntries
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, str] = OrderedDict()

    def _name(self, user: str, password: bytes) -> bytes:
        return hmac.new(self._key, user.encode("utf-8") + b"\0" + password,
                        hashlib.sha256).digest()

    def holds(self, user: str, password: bytes, stored: str) -> bool:
        """
        Whether this user and password were found to match C{stored}.
        """
        remembered = self._entries.get(self._name(user, password))
        return remembered is not None and hmac.compare_digest(remembered, stored)

    def add(self, user: str, password: bytes, stored: str) -> None:
        name = self._name(user, password)
        self._entries[name] = stored
        self._entries.move_to_end(name)
        while len(self._entries) > self.maxEntries:
            self._entries.popitem(last=False)
