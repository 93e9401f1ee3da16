"""
A password file guarding a mount, as an operator configures it: a mount's
C{auth} table in a site file and C{--auth PATH=TYPE:REALM:FILE}, assembled
by L{web2.tap.buildService} and answered through a real channel; and the
startup errors for what is wrong.
"""

from __future__ import annotations

import base64
import textwrap

import pytest
from twisted.internet.testing import MemoryReactorClock

from web2 import tap
from web2._htpasswd import apr1
from web2.config import ConfigError, parseAuth
from web2.plugins import build_plugin_manager
from web2.testing import ChannelConnection


def _service(tmp_path, siteFile=None, argv=()):
    options = tap.makeOptionsClass(build_plugin_manager(load_entrypoints=False))()
    args = list(argv)
    if siteFile is not None:
        (tmp_path / "site.toml").write_text(textwrap.dedent(siteFile))
        args += ["--config", str(tmp_path / "site.toml")]
    options.parseOptions(args)
    return tap.buildService(options, MemoryReactorClock())


def _basic(user, password):
    return [("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode())
             .decode())]


@pytest.fixture
def users(tmp_path):
    (tmp_path / "users.htpasswd").write_text(
        f"alice:{apr1(b'wonder', b'q1w2e3r4').decode()}\n")
    return tmp_path / "users.htpasswd"


SITE = """
    [mounts]
    "/" = "text:public"
    [mounts."/private"]
    kind = "text"
    argument = "secret"
    auth = { type = "basic", realm = "Staff only", htpasswd = "users.htpasswd" }
"""


def test_siteFileAuthTable(tmp_path, users):
    """
    The mount with an C{auth} table answers 401 with a Basic challenge
    for its realm, and its content with the right password; the file's
    path is relative to the site file; other mounts are open.
    """
    service = _service(tmp_path, SITE)
    conn = ChannelConnection(site=service.site)
    response = conn.request("/private")
    assert response.status == 401
    assert response.header("www-authenticate") == 'Basic realm="Staff only", charset="UTF-8"'
    assert conn.request("/private/deeper", headers=_basic("alice", "wonder")).body == b"secret"
    assert conn.request("/private", headers=_basic("alice", "wrong")).status == 401
    assert conn.request("/private", headers=_basic("bob", "wonder")).status == 401
    assert conn.request("/").body == b"public"


def test_commandLineAuth(tmp_path, users):
    service = _service(tmp_path, argv=["--mount", "/=text:public", "--mount", "/p=text:secret",
                                       "--auth", f"/p=basic:Private:{users}"])
    conn = ChannelConnection(site=service.site)
    assert conn.request("/p").header("www-authenticate") == \
        'Basic realm="Private", charset="UTF-8"'
    assert conn.request("/p", headers=_basic("alice", "wonder")).body == b"secret"
    assert conn.request("/").body == b"public"


def test_digestChallenge(tmp_path):
    (tmp_path / "users.htdigest").write_text("dave:Staff:" + "0" * 32 + "\n")
    service = _service(tmp_path, """
        [mounts."/d"]
        kind = "text"
        argument = "x"
        auth = { type = "digest", realm = "Staff", htdigest = "users.htdigest" }
    """)
    challenge = ChannelConnection(site=service.site).request("/d").header("www-authenticate")
    assert challenge.startswith('Digest realm="Staff", qop="auth", algorithm=MD5, nonce="')


def test_parseAuth():
    spec = parseAuth("/private/=digest:My realm:/etc/web2/users:colon")
    assert (spec.path, spec.type, spec.realm, spec.file) == (
        "/private", "digest", "My realm", "/etc/web2/users:colon")


@pytest.mark.parametrize("argv, message", [
    (["--auth", "/p=basic:R"], "--auth /p=basic:R: expected PATH=basic:REALM:HTPASSWD-FILE "
                                "or PATH=digest:REALM:HTDIGEST-FILE"),
    (["--auth", "/p=ntlm:R:f"], "expected PATH=basic:REALM:HTPASSWD-FILE"),
    (["--auth", "p=basic:R:f"], "--auth p=basic:R:f: mount path 'p' must start with '/'"),
    (["--auth", "/nothing=basic:R:USERS"], "--auth /nothing=basic:R:USERS: nothing is mounted "
                                           "at '/nothing'; auth guards a mount (mounted: /p)"),
    (["--auth", "/p=basic:R:/nonexistent/users"],
     "--auth /p=basic:R:/nonexistent/users: cannot read the htpasswd file "
     "'/nonexistent/users': No such file or directory"),
])
def test_commandLineErrors(tmp_path, users, argv, message):
    argv = [a.replace("USERS", str(users)) for a in argv]
    message = message.replace("USERS", str(users))
    with pytest.raises(ConfigError) as e:
        _service(tmp_path, argv=["--mount", "/p=text:x", *argv])
    assert message in str(e.value)


@pytest.mark.parametrize("table, message", [
    ('{ type = "basic", realm = "R" }', "auth: missing key 'htpasswd' (the password file)"),
    ('{ type = "digest", htpasswd = "u" }', "auth: digest takes an htdigest file, not htpasswd"),
    ('{ type = "form", htpasswd = "u" }', "auth: type 'form' is not basic or digest"),
    ('{ htpasswd = "u", colour = "red" }', "auth: unknown key 'colour'"),
    ('"basic"', "auth: expected a table"),
    ('{ htpasswd = "plain.txt" }', "plain.txt:1: user 'bob' has a plain-text password or an "
                                   "unknown hash, which web2 refuses"),
])
def test_siteFileErrors(tmp_path, table, message):
    (tmp_path / "plain.txt").write_text("bob:hunter2\n")
    with pytest.raises(ConfigError) as e:
        _service(tmp_path, f"""
            [mounts."/p"]
            kind = "text"
            auth = {table}
        """)
    assert message in str(e.value)
    assert "[mounts] '/p'" in str(e.value)


@pytest.mark.parametrize("value", [
    "Basic !!!!",
    "Basic " + base64.b64encode(b"no colon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\x00\x01").decode(),
    "Basic " + base64.b64encode(b"alice:" + b"w" * 5000).decode(),
    "Digest username=alice",
    'Digest username="alice", realm="Staff only", nonce="x", uri="/private", '
    'response="0", qop=auth, nc=zz, cnonce="c"',
    "Bearer abc",
    "Basic",
    "",
])
def test_hostileCredentials(tmp_path, users, value):
    """
    Malformed, oversized or foreign credentials on a guarded mount get 401
    with the challenge, never a 500.
    """
    service = _service(tmp_path, SITE)
    response = ChannelConnection(site=service.site).request(
        "/private", headers=[("Authorization", value)])
    assert response.status == 401
    assert response.header("www-authenticate").startswith('Basic realm="Staff only"')
