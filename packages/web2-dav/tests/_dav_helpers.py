"""
Shared test helpers for web2-dav: a real web2 channel on a StringTransport
(requests with bodies go through the whole Site), a response parser, a
synchronous C{runInThread}, a tree builder and multistatus readers.
"""

from __future__ import annotations

import os

from lxml import etree
from twisted.internet import address, defer, task
from twisted.internet.testing import StringTransport

from web2 import server
from web2.channel import HTTPFactory
from web2.resource import Resource

D = "{DAV:}"


def runNow(f, *args):
    """
    A synchronous C{runInThread}: call C{f} now; a fired Deferred.
    """
    return defer.maybeDeferred(f, *args)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return values[-1] if values else default

    def xml(self):
        return etree.fromstring(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:300]!r}>"


def parseResponse(data: bytes, head=False) -> Response:
    top, _, rest = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]]
    names = {n.lower(): v for n, v in headers}
    if head or status in (204, 304) or status < 200:
        body = b""
    elif names.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            sizeLine, _, rest = rest.partition(b"\r\n")
            size = int(sizeLine, 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2:]
    else:
        body = rest[: int(names.get("content-length", len(rest)))]
    return Response(status, headers, body)


class Client:
    """
    Requests to C{root} (mounted at C{/dav} unless C{mount} is None), each
    on a fresh channel over a L{StringTransport}.
    """

    def __init__(self, resource, mount="dav", factoryArgs=None):
        if mount:
            top = Resource()
            top.putChild(mount, resource)
            self.prefix = "/" + mount
        else:
            top = resource
            self.prefix = ""
        self.site = server.Site(top, accessLogging=False)
        self.clock = task.Clock()
        self.factoryArgs = factoryArgs or {}

    def request(self, method, path, body=b"", headers=(), raw=None) -> Response:
        factory = HTTPFactory(self.site, reactor=self.clock, **self.factoryArgs)
        peer = address.IPv4Address("TCP", "127.0.0.1", 54321)
        host = address.IPv4Address("TCP", "127.0.0.1", 8080)
        channel = factory.buildProtocol(peer)
        transport = StringTransport(hostAddress=host, peerAddress=peer)
        channel.makeConnection(transport)
        if isinstance(body, str):
            body = body.encode("utf-8")
        target = path if path.startswith("http") or path == "*" else self.prefix + path
        lines = [f"{method} {target} HTTP/1.1", "Host: example.com"]
        lines += [f"{name}: {value}" for name, value in headers]
        if body or method in ("PUT", "PROPPATCH", "PROPFIND", "LOCK", "MKCOL"):
            lines.append(f"Content-Length: {len(body)}")
        data = raw if raw is not None else ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
        channel.dataReceived(data)
        for _ in range(50):
            producer = transport.producer
            if producer is None:
                break
            producer.resumeProducing()
        return parseResponse(transport.value(), head=method == "HEAD")

    def href(self, path):
        return self.prefix + path


def makeTree(base, spec: dict):
    """
    Files and directories under C{base} from a nested dict: C{bytes} is a
    file, a C{dict} a directory.
    """
    for name, value in spec.items():
        path = os.path.join(base, name)
        if isinstance(value, dict):
            os.mkdir(path)
            makeTree(path, value)
        else:
            with open(path, "wb") as f:
                f.write(value)
    return base


def davFile(path, **kwargs):
    """
    A L{web2.dav.DAVFile} whose thread work runs synchronously and whose
    locks use a L{task.Clock}.
    """
    from web2.dav import DAVFile, LockManager

    kwargs.setdefault("runInThread", runNow)
    kwargs.setdefault("lockManager", LockManager(clock=task.Clock()))
    return DAVFile(path, **kwargs)


def responsesByHref(response: Response) -> dict:
    """
    A multistatus body as C{{href: DAV:response element}}.
    """
    root = response.xml()
    assert root.tag == D + "multistatus", response
    return {node.findtext(D + "href"): node for node in root.findall(D + "response")}


def propStatus(responseElement) -> dict:
    """
    C{{propertyName: (statusCode, element)}} of one DAV:response.
    """
    result = {}
    for propstat in responseElement.findall(D + "propstat"):
        code = int(propstat.findtext(D + "status").split()[1])
        for prop in propstat.find(D + "prop"):
            result[prop.tag] = (code, prop)
    return result


PROPFIND_ALL = b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'


def propfindBody(*names) -> bytes:
    inner = "".join(f"<{n}/>" if not n.startswith("{") else
                    '<x:{1} xmlns:x="{0}"/>'.format(*n[1:].split("}")) for n in names)
    return f'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>{inner}</D:prop></D:propfind>'.encode()


def proppatchBody(sets=(), removes=()) -> bytes:
    """
    C{sets}: raw XML property elements; C{removes}: raw XML names.
    """
    body = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:">'
    if sets:
        body += "<D:set><D:prop>" + "".join(sets) + "</D:prop></D:set>"
    if removes:
        body += "<D:remove><D:prop>" + "".join(removes) + "</D:prop></D:remove>"
    return (body + "</D:propertyupdate>").encode()


def lockBody(scope="exclusive", owner="<D:href>mailto:me@example.com</D:href>") -> bytes:
    return (
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
        f"<D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype>"
        f"<D:owner>{owner}</D:owner></D:lockinfo>"
    ).encode()
