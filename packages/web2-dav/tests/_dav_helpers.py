"""
Test helpers of web2-dav.  The in-memory channel, the response parser,
C{runNow} and C{makeTree} come from the public L{web2.testing}; what is
left here is about WebDAV: a client for a mounted L{web2.dav.DAVFile},
multistatus readers and request bodies.
"""

from __future__ import annotations

from lxml import etree
from twisted.internet import task

from web2 import server
from web2.resource import Resource
from web2.testing import ChannelConnection, ParsedResponse, makeTree, runNow

__all__ = [
    "D",
    "PROPFIND_ALL",
    "Client",
    "Response",
    "davFile",
    "lockBody",
    "makeTree",
    "propStatus",
    "propfindBody",
    "proppatchBody",
    "responsesByHref",
    "runNow",
]

D = "{DAV:}"

#: Methods whose requests always say their (perhaps empty) body's length.
_LENGTH_METHODS = frozenset({"PUT", "PROPPATCH", "PROPFIND", "LOCK", "MKCOL"})


class Response(ParsedResponse):
    """
    A L{ParsedResponse} whose body may be read as XML.
    """

    def xml(self):
        return etree.fromstring(self.body)


class Client:
    """
    Requests to C{resource} (mounted at C{/dav} unless C{mount} is None),
    each on a fresh L{ChannelConnection}.
    """

    def __init__(self, resource, mount="dav", factoryArgs=None):
        if mount:
            top = Resource()
            top.putChild(mount, resource)
            self.prefix = "/" + mount
        else:
            top = resource
            self.prefix = ""
        self.site = server.Site(top)
        self.clock = task.Clock()
        self.factoryArgs = factoryArgs or {}

    def request(self, method, path, body=b"", headers=(), raw=None) -> Response:
        """
        One request; C{path} is below the mount unless it is absolute.
        C{raw} bytes, if given, are sent instead of the request built.
        """
        conn = ChannelConnection(site=self.site, clock=self.clock, **self.factoryArgs)
        if isinstance(body, str):
            body = body.encode("utf-8")
        target = path if path.startswith("http") or path == "*" else self.prefix + path
        framed = body or method in _LENGTH_METHODS
        if raw is None:
            response = conn.request(target, method, headers, body if framed else None)
        else:
            response = conn.exchange(raw, head=method == "HEAD")
        return Response(**vars(response))

    def href(self, path):
        return self.prefix + path


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
