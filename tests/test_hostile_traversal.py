"""
Hostile clients, issue #14, attack 7: path traversal.  A list of spellings
of "the parent directory" (encoded, double-encoded, backslashes, NUL,
overlong and full-width UTF-8, absolute paths, a symbolic link) against a
static mount, a DAV tree and a CGI directory.

A file with a secret lies beside each served tree, and the site file
(outside them too) carries the same secret: no answer may ever contain
it, whatever its status.
"""

from urllib.parse import quote

import pytest
from _hostile import (
    PROMPT,
    SECRET,
    HostileServer,
    exchange,
)

#: What follows the mount path; each tries to reach C{../secret.txt} (or,
#: for the last ones, the site file or C{/etc/passwd}).
TRAVERSALS = [
    "../secret.txt",
    "..%2fsecret.txt",
    "..%2Fsecret.txt",
    "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt",
    "%2E%2E%2Fsecret.txt",
    ".%2e/secret.txt",
    "%2e./secret.txt",
    "..%5csecret.txt",
    "..\\secret.txt",
    "%2e%2e%5csecret.txt",
    "sub/../../secret.txt",
    "sub/%2e%2e/%2e%2e/secret.txt",
    "sub%2f..%2f..%2fsecret.txt",
    "sub/..%5c..%5csecret.txt",
    "%252e%252e%252fsecret.txt",
    "..%255csecret.txt",
    "..%00/secret.txt",
    "%00../secret.txt",
    "../secret.txt%00",
    "../secret.txt%00.html",
    "%c0%ae%c0%ae/secret.txt",
    "%c0%ae%c0%ae%c0%afsecret.txt",
    "..%c0%afsecret.txt",
    "..%c1%9csecret.txt",
    "%e0%80%ae%e0%80%ae/secret.txt",
    "%ef%bc%8e%ef%bc%8e/secret.txt",
    "%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt",
    "%u002e%u002e/secret.txt",
    "....//secret.txt",
    ".../secret.txt",
    "..;/secret.txt",
    "/../secret.txt",
    "%2f..%2fsecret.txt",
    "./../secret.txt",
    "sub/./../../secret.txt",
    "link.txt",
    "link.txt/",
    "link.txt%00",
    "../site.toml",
    "../../site.toml",
    "..%2f..%2fsite.toml",
    "../../../../../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
]

MOUNTS = ["/static", "/dav", "/cgi"]


def targets(server):
    """
    Every traversal under every mount, plus absolute paths of the secret
    files and the site file, encoded as one segment.
    """
    found = [f"{mount}/{t}" for mount in MOUNTS for t in TRAVERSALS]
    for path in [*server.layout.secrets, server.config]:
        encoded = quote(str(path), safe="")
        found += [f"{mount}/{encoded}" for mount in MOUNTS]
        found += [f"{mount}/{quote(str(path))}" for mount in MOUNTS]
        found += [f"{mount}/{str(path).replace('/', chr(92))}" for mount in MOUNTS]
    found += ["http://a/static/../secret.txt", "http://a/static/%2e%2e/secret.txt",
              "/static/../../site/secret.txt", "/static/..", "/dav/..", "/cgi/.."]
    return found


def leaks(received: bytes) -> bool:
    return SECRET.encode() in received or b"root:x:0:0" in received


@pytest.mark.parametrize("method", ["GET", "PROPFIND"])
def test_traversalsNeverLeaveTheRoot(tmp_path, method):
    """
    No spelling reaches a file outside the mounts' roots: the secret never
    appears in an answer; every answer comes promptly.
    """
    with HostileServer(tmp_path) as server:
        # A control: these requests reach files when they name one inside.
        control = exchange(server.port, b"GET /static/%69ndex.html HTTP/1.1\r\nHost: a\r\n"
                           b"Connection: close\r\n\r\n")
        assert b"200 OK" in control.data and b"hostile site" in control.data, control
        problems = []
        for target in targets(server):
            request = (f"{method} {target} HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n"
                       "Connection: close\r\n\r\n").encode("latin-1")
            received = exchange(server.port, request, timeout=PROMPT + 4.0)
            status = received.data.split(b"\r\n", 1)[0]
            if leaks(received.data):
                problems.append(f"LEAK: {target!r} -> {status!r}")
            elif not received.closed:
                problems.append(f"{target!r}: no answer within {received.seconds:.1f}s "
                                f"({status!r})")
            elif not status.startswith(b"HTTP/1.1 "):
                problems.append(f"{target!r}: no status line: {received.data[:80]!r}")
        assert not problems, "\n".join(problems)
        server.stop()


def test_linksOutOfTheTreesAreNotFollowed(tmp_path):
    """
    The symbolic links inside both trees, to the secrets beside them, are
    neither served nor listed with their targets' content.
    """
    with HostileServer(tmp_path) as server:
        for request in (b"GET /static/link.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                        b"GET /dav/link.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                        b"PROPFIND /dav/ HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n"
                        b"Connection: close\r\n\r\n",
                        b"COPY /dav/link.txt HTTP/1.1\r\nHost: a\r\n"
                        b"Destination: /dav/copied.txt\r\nConnection: close\r\n\r\n",
                        b"GET /dav/copied.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"):
            received = exchange(server.port, request, timeout=PROMPT + 4.0)
            assert received.closed and not leaks(received.data), (request, received)
        server.stop()
