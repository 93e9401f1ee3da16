"""
Tests for L{web2._htpasswd} and the password-file checkers of L{web2.auth}:
Apache's hash formats (checked against C{htpasswd} itself where it is
installed), refused formats, re-reading a changed file, unknown users
checked like known ones, bcrypt off the reactor thread.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest
from twisted.cred import credentials, error
from twisted.internet import defer

from web2 import _htpasswd, auth
from web2._htpasswd import (
    HtdigestFile,
    HtpasswdFile,
    PasswordFileError,
    apr1,
    verifyHash,
)

HTPASSWD = shutil.which("htpasswd")
needsHtpasswd = pytest.mark.skipif(HTPASSWD is None, reason="htpasswd (apache2-utils) absent")
try:
    import bcrypt
except ImportError:
    bcrypt = None
needsBcrypt = pytest.mark.skipif(bcrypt is None, reason="the bcrypt extra is not installed")


def htpasswdLine(flag, user, password, *extra):
    out = subprocess.run([HTPASSWD, "-nb" + flag, *extra, user, password],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def login(checker, user, password):
    d = checker.requestAvatarId(credentials.UsernamePassword(user, password))
    outcome = []
    d.addBoth(outcome.append)
    assert outcome, "not fired"
    value = outcome[0]
    if hasattr(value, "check"):
        assert value.check(error.UnauthorizedLogin), value
        return None
    return value


def test_apr1KnownVector():
    """
    The MD5 hash C{htpasswd -m} wrote for "pw" with the salt 1VYXI4p/.
    """
    assert apr1(b"pw", b"1VYXI4p/") == b"$apr1$1VYXI4p/$lPtF599YNrAR/5CrIbzHW."
    assert verifyHash("$apr1$1VYXI4p/$lPtF599YNrAR/5CrIbzHW.", b"pw")
    assert not verifyHash("$apr1$1VYXI4p/$lPtF599YNrAR/5CrIbzHW.", b"pW")


@needsHtpasswd
@pytest.mark.parametrize("password", ["pw", "", "a" * 40, "pässwörd", "with:colon"])
def test_apr1AndShaMatchHtpasswd(password):
    for flag in ("m", "s"):
        line = htpasswdLine(flag, "u", password)
        stored = line.partition(":")[2]
        assert verifyHash(stored, password.encode()), (flag, line)
        assert not verifyHash(stored, password.encode() + b"x"), (flag, line)


@needsHtpasswd
@needsBcrypt
def test_bcryptMatchesHtpasswd():
    stored = htpasswdLine("B", "u", "s3cret", "-C", "4").partition(":")[2]
    assert stored.startswith("$2y$")
    assert verifyHash(stored, b"s3cret")
    assert not verifyHash(stored, b"s3creT")


@needsHtpasswd
@needsBcrypt
def test_bcryptLongPassword():
    """
    A password longer than bcrypt's 72 bytes works as with Apache (the
    first 72 bytes count) instead of making the bcrypt library raise.
    """
    password = "p" * 72 + "tail-ignored"
    stored = htpasswdLine("B", "u", password, "-C", "4").partition(":")[2]
    assert verifyHash(stored, password.encode())
    assert verifyHash(stored, b"p" * 72 + b"other-tail")
    assert not verifyHash(stored, b"p" * 71)
    assert not verifyHash(stored, b"p\0" * 50)


def test_shaFormat():
    import base64

    stored = "{SHA}" + base64.b64encode(hashlib.sha1(b"x").digest()).decode()
    assert verifyHash(stored, b"x") and not verifyHash(stored, b"y")


@pytest.mark.parametrize("stored, said", [
    ("plaintext", "a plain-text password or an unknown hash"),
    ("uwtjj4ogPe1QI", "a DES crypt() hash or a plain-text password"),
    ("$1$abcdefgh$0123456789012345678901", "an MD5 crypt() hash ($1$)"),
    ("$6$salt$" + "x" * 86, "a SHA crypt() hash ($5$/$6$)"),
    ("$apr1$broken", "a malformed hash"),
    ("", "a plain-text password or an unknown hash"),
])
def test_refusedAtLoad(tmp_path, stored, said):
    """
    A password stored in a form web2 refuses stops the server at startup,
    naming the file, the line and the user.
    """
    path = tmp_path / "users"
    path.write_text(f"# staff\n\nok:{apr1(b'x', b'salt').decode()}\nbob:{stored}\n")
    with pytest.raises(PasswordFileError) as e:
        HtpasswdFile(str(path))
    assert str(e.value) == (f"{path}:4: user 'bob' has {said}, which web2 refuses; store "
                            "it with htpasswd -B (bcrypt), -m (MD5) or -s (SHA-1)")


def test_malformedLine(tmp_path):
    path = tmp_path / "users"
    path.write_text("no colon here\n")
    with pytest.raises(PasswordFileError, match=r"users:1: expected USER:HASH"):
        HtpasswdFile(str(path))


def test_unreadable(tmp_path):
    with pytest.raises(PasswordFileError) as e:
        HtpasswdFile(str(tmp_path / "missing"))
    assert str(e.value) == (f"cannot read the htpasswd file '{tmp_path / 'missing'}': "
                            "No such file or directory")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.write_text("")
        locked.chmod(0)
        with pytest.raises(PasswordFileError, match="Permission denied"):
            HtpasswdFile(str(locked))


def test_bcryptWithoutTheLibrary(tmp_path, monkeypatch):
    monkeypatch.setattr(_htpasswd, "_bcrypt", lambda: None)
    path = tmp_path / "users"
    path.write_text("u:$2y$05$d3qStlwCZW1cDA5Qc0R1Bukie4qIR7DcEaHVBnGudGAuhMlNhGZ.6\n")
    with pytest.raises(PasswordFileError) as e:
        HtpasswdFile(str(path))
    assert "needs the bcrypt package: pip install 'web2-core[bcrypt]'" in str(e.value)


def _rewrite(path, text, clock):
    """
    Change the file and make sure its signature changes, then let the
    check interval pass.
    """
    before = os.stat(path).st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))
    clock.now += 1.5


def test_reloadedWhenChanged(tmp_path):
    clock = Clock()
    path = tmp_path / "users"
    path.write_text(f"alice:{apr1(b'one', b'saltsalt').decode()}\n")
    checker = auth.HtpasswdChecker(str(path), clock=clock)
    assert login(checker, b"alice", b"one") == "alice"
    _rewrite(path, f"alice:{apr1(b'two', b'saltsalt').decode()}\nbob:"
                   f"{apr1(b'b', b'x').decode()}\n", clock)
    assert login(checker, b"alice", b"one") is None
    assert login(checker, b"alice", b"two") == "alice"
    assert login(checker, b"bob", b"b") == "bob"


def test_notLookedAtMoreThanOnceASecond(tmp_path):
    clock = Clock()
    path = tmp_path / "users"
    path.write_text(f"alice:{apr1(b'one', b'saltsalt').decode()}\n")
    watched = HtpasswdFile(str(path), clock=clock)
    path.unlink()
    clock.now += 0.5
    assert "alice" in watched.current()  # no stat yet


def test_brokenReloadKeepsTheLastGoodFile(tmp_path):
    """
    A new version that is refused (or a file that went away) is logged
    and the last good version stays in force.
    """
    clock = Clock()
    path = tmp_path / "users"
    path.write_text(f"alice:{apr1(b'one', b'saltsalt').decode()}\n")
    checker = auth.HtpasswdChecker(str(path), clock=clock)
    _rewrite(path, "alice:plaintext\n", clock)
    assert login(checker, b"alice", b"one") == "alice"
    assert login(checker, b"alice", b"plaintext") is None
    path.unlink()
    clock.now += 1.5
    assert login(checker, b"alice", b"one") == "alice"


def test_unknownUserCostsTheSame(tmp_path, monkeypatch):
    """
    An unknown user's password is checked against a dummy hash of the
    file's kind (so the answer takes as long as for a known user with a
    wrong password), and refused.
    """
    path = tmp_path / "users"
    path.write_text(f"alice:{apr1(b'one', b'saltsalt').decode()}\n"
                    f"bob:{apr1(b'two', b'pepper').decode()}\n")
    checker = auth.HtpasswdChecker(str(path))
    checked = []
    real = auth.verifyHash
    monkeypatch.setattr(auth, "verifyHash", lambda s, p: checked.append(s) or real(s, p))
    assert login(checker, b"mallory", b"one") is None
    assert login(checker, b"alice", b"wrong") is None
    assert len(checked) == 2
    assert checked[0] == checker.file.dummy and checked[0].startswith("$apr1$")
    assert checked[0] not in path.read_text()


@needsBcrypt
def test_bcryptOffTheReactorThreadAndRemembered(tmp_path):
    """
    bcrypt checks go to C{runSlow} (a thread pool in a server), unknown
    users included; a successful check is remembered, a failed one is
    not, and a changed hash is checked again.
    """
    path = tmp_path / "users"
    path.write_text("alice:" + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode() + "\n")
    slow = []

    def runSlow(f, *args):
        slow.append(args[0])
        return defer.succeed(f(*args))

    checker = auth.HtpasswdChecker(str(path), runSlow=runSlow)
    assert checker.file.dummy.startswith("$2b$04$")  # the file's cost
    assert login(checker, b"alice", b"s3cret") == "alice"
    assert login(checker, b"alice", b"s3cret") == "alice"
    assert len(slow) == 1
    assert login(checker, b"alice", b"nope") is None
    assert login(checker, b"alice", b"nope") is None
    assert len(slow) == 3
    assert login(checker, b"nobody", b"s3cret") is None
    assert slow[-1] == checker.file.dummy
    # A reload with the same cost keeps the dummy (making one costs a bcrypt).
    dummy = checker.file.dummy
    checker.file._load(None)
    assert checker.file.dummy == dummy
    path.write_text("alice:" + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(5)).decode() + "\n")
    checker.file._load(None)
    assert checker.file.dummy.startswith("$2b$05$")


def test_htdigestFile(tmp_path):
    path = tmp_path / "digest"
    ha1 = hashlib.md5(b"dave:Staff:diver").hexdigest()
    path.write_text(f"dave:Staff:{ha1}\neve:Other:{ha1.upper()}\n")
    watched = HtdigestFile(str(path))
    assert watched.entries == {("dave", "Staff"): ha1, ("eve", "Other"): ha1}
    assert watched.realms() == {"Staff", "Other"}
    for bad, said in [("dave:Staff", "expected USER:REALM:HA1"),
                      ("dave:Staff:diver", "the third field must be the 32 hex digits")]:
        path.write_text(bad + "\n")
        with pytest.raises(PasswordFileError, match=said):
            HtdigestFile(str(path))


class _Request:
    method = "GET"
    uri = "/private/x"

    class remoteAddr:
        host = "127.0.0.1"


def _digestAnswer(factory, user, password, realm="Staff", nc="00000001"):
    challenge = factory.getChallenge(_Request())

    def h(text):
        return hashlib.md5(text.encode()).hexdigest()

    fields = dict(username=user, realm=realm, nonce=challenge["nonce"], uri=_Request.uri,
                  qop="auth", nc=nc, cnonce="abc", opaque=challenge["opaque"],
                  algorithm="MD5")
    fields["response"] = h(f"{h(f'{user}:{realm}:{password}')}:{fields['nonce']}:{nc}:abc:"
                           f"auth:{h('GET:' + _Request.uri)}")
    return factory.decode(fields, _Request())


def test_htdigestChecker(tmp_path):
    path = tmp_path / "digest"
    path.write_text(f"dave:Staff:{hashlib.md5(b'dave:Staff:diver').hexdigest()}\n"
                    f"eve:Other:{hashlib.md5(b'eve:Other:x').hexdigest()}\n")
    checker = auth.HtdigestChecker(str(path), "Staff")
    factory = auth.DigestCredentialFactory("md5", "Staff")

    def outcome(creds):
        out = []
        checker.requestAvatarId(creds).addBoth(out.append)
        return out[0] if isinstance(out[0], str) else None

    assert outcome(_digestAnswer(factory, "dave", "diver")) == "dave"
    assert outcome(_digestAnswer(factory, "dave", "wrong")) is None
    assert outcome(_digestAnswer(factory, "eve", "x")) is None  # another realm
    assert outcome(_digestAnswer(factory, "nobody", "diver")) is None
    creds = _digestAnswer(factory, "dave", "diver")
    assert outcome(creds) == "dave"
    assert outcome(creds) is None  # the same nonce count again: a replay
