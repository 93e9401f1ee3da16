# -*- test-case-name: test_dav_xml -*-
"""
WebDAV XML: reading request bodies safely and writing multistatus and
error bodies.

Request bodies (PROPFIND, PROPPATCH, LOCK) come from untrusted clients, so
they are read with a byte cap I{before} any parsing (413 beyond it), then
parsed by a hardened lxml parser: no entity substitution, no network, no
external DTD, no huge-tree mode; a document that carries a DTD at all is
refused (WebDAV never needs one, and that closes the door on XXE and
entity-expansion bombs whatever libxml2 does with the internal subset).
Malformed XML is a 400.

Output uses the prefix C{D:} for C{DAV:} (never a default namespace, so
properties in no namespace serialize correctly) and lets lxml declare the
other namespaces of dead properties.  The bodies of PROPFIND, which can
list thousands of members, are written as text a member at a time
(L{propStatsXML}, L{MULTISTATUS_START}, L{MULTISTATUS_END}) rather than
built as one lxml tree: each member's part is self-contained (a dead
property is its stored, self-declaring serialization), so the parts can
be sent as they are made.
"""

from __future__ import annotations

import functools
import re

from lxml import etree

from web2 import http, responsecode
from web2.http_headers import MimeType
from web2.stream import StreamTooLong, readAll

DAV = "DAV:"
NSMAP = {"D": DAV}

#: The default cap on a request body parsed as XML.
MAX_XML_BODY = 1024 * 1024

XML_TYPE = MimeType("application", "xml", {"charset": "utf-8"})


def dav(name: str) -> str:
    """
    The Clark name (C{{DAV:}name}) of a DAV element.
    """
    return "{DAV:}" + name


def makeParser():
    """
    A new hardened parser; one per document, as lxml parsers keep state
    (their error log) and must not be shared between threads.
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parseXML(data: bytes):
    """
    Parse a request body.

    @return: the root element, or C{None} for an empty body.
    @raise HTTPError: 400 for malformed XML or a document with a DTD.
    """
    if not data.strip():
        return None
    try:
        root = etree.fromstring(data, makeParser())
    except (etree.XMLSyntaxError, ValueError) as e:
        raise http.HTTPError(responsecode.BAD_REQUEST, f"Malformed XML body: {e}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise http.HTTPError(responsecode.BAD_REQUEST, "XML bodies may not have a DTD.")
    return root


def readXMLBody(request, maxSize: int = MAX_XML_BODY):
    """
    Read the body of C{request} (at most C{maxSize} bytes, else 413) and
    parse it with L{parseXML}.

    @return: a Deferred firing the root element or C{None}.
    """
    length = request.stream.length
    if length is not None and length > maxSize:
        raise http.HTTPError(
            responsecode.REQUEST_ENTITY_TOO_LARGE,
            f"XML bodies are limited to {maxSize} bytes.",
        )

    def tooLong(failure):
        failure.trap(StreamTooLong)
        raise http.HTTPError(
            responsecode.REQUEST_ENTITY_TOO_LARGE,
            f"XML bodies are limited to {maxSize} bytes.",
        )

    return readAll(request.stream, maxSize).addCallbacks(parseXML, tooLong)


def element(name: str, parent=None, text=None):
    """
    A new element C{name} (Clark notation), under C{parent} if given.
    """
    if parent is None:
        node = etree.Element(name, nsmap=NSMAP)
    else:
        node = etree.SubElement(parent, name)
    if text is not None:
        node.text = text
    return node


def statusLine(code: int) -> str:
    return f"HTTP/1.1 {code} {responsecode.reasonPhrase(code)}"


# ---------------------------------------------------------------------------
# Writing XML as text

#: Characters XML 1.0 does not allow (and lone surrogates, which a file
#: name that is not UTF-8 decodes to): written as U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

#: A local name that can be written after C{D:} as it is.
_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

#: The start of a multistatus body written as text; L{MULTISTATUS_END}
#: closes it, L{propStatsXML} writes what goes between.
MULTISTATUS_START = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    f'<D:multistatus xmlns:D="{DAV}">'
)
MULTISTATUS_END = "</D:multistatus>"


def xmlText(text: str) -> str:
    """
    C{text} escaped as the content of an element: C{&}, C{<} and C{>}
    escaped, a carriage return as a character reference (so that it
    survives a parser's newline normalization), and the characters XML
    cannot carry replaced by U+FFFD.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
    return text


@functools.lru_cache(maxsize=512)
def emptyElementXML(name: str) -> str:
    """
    An empty element named C{name} (Clark notation), as text: C{<D:x/>}
    for a C{DAV:} name, else lxml's serialization, which declares its
    namespace.  Cached: a PROPFIND asks for the same few names for every
    member.

    @raise ValueError: C{name} is not a valid element name.
    """
    if name.startswith("{DAV:}") and _SIMPLE_NAME.fullmatch(name, 6):
        return f"<D:{name[6:]}/>"
    return etree.tostring(etree.Element(name), encoding="unicode")


def propertyXML(stored: str) -> str | None:
    """
    A dead property stored by L{serialize}, as text to put in a body:
    parsed and written again, so that a damaged store cannot make the
    body malformed; C{None} for a stored value that is not XML (a damaged
    store loses that property, as a damaged sidecar loses all of its).
    """
    try:
        return serialize(deserialize(stored))
    except (etree.XMLSyntaxError, ValueError, TypeError):
        return None


def propStatsXML(href: str, byStatus: dict) -> str:
    """
    One C{DAV:response} for C{href} with a C{DAV:propstat} per status, as
    text: C{byStatus} maps a status code to a list of property elements
    as text (L{emptyElementXML}, L{propertyXML}, the live properties of
    L{web2.dav.live}).
    """
    parts = ["<D:response><D:href>", xmlText(href), "</D:href>"]
    for code in sorted(byStatus):
        parts.append("<D:propstat><D:prop>")
        parts.extend(byStatus[code])
        parts.append(f"</D:prop><D:status>{statusLine(code)}</D:status></D:propstat>")
    parts.append("</D:response>")
    return "".join(parts)


def xmlTextResponse(code: int, text: str) -> http.Response:
    """
    A response whose body is the XML document C{text} (without its XML
    declaration, which is added).
    """
    body = ("<?xml version='1.0' encoding='utf-8'?>\n" + text).encode("utf-8", "replace")
    return http.Response(code, {"content-type": XML_TYPE}, body)


def xmlResponse(code: int, root) -> http.Response:
    """
    A response whose body is the XML document C{root}.
    """
    body = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return http.Response(code, {"content-type": XML_TYPE}, body)


class MultiStatus:
    """
    A 207 Multi-Status body being built: one C{DAV:response} per href.
    """

    def __init__(self):
        self.root = element(dav("multistatus"))

    def __len__(self) -> int:
        return len(self.root)

    def addStatus(self, href: str, code: int, error=None):
        """
        One C{DAV:response} with a single status for C{href}, and
        optionally a precondition element (Clark name) in C{DAV:error}.
        """
        response = element(dav("response"), self.root)
        element(dav("href"), response, href)
        element(dav("status"), response, statusLine(code))
        if error is not None:
            element(error, element(dav("error"), response))

    def addPropStats(self, href: str, byStatus: dict):
        """
        One C{DAV:response} for C{href} with a C{DAV:propstat} per status:
        C{byStatus} maps a status code to a list of property elements.
        """
        response = element(dav("response"), self.root)
        element(dav("href"), response, href)
        for code in sorted(byStatus):
            propstat = element(dav("propstat"), response)
            prop = element(dav("prop"), propstat)
            for child in byStatus[code]:
                prop.append(child)
            element(dav("status"), propstat, statusLine(code))

    def response(self) -> http.Response:
        return xmlResponse(responsecode.MULTI_STATUS, self.root)


def errorResponse(code: int, condition: str, hrefs=()) -> http.Response:
    """
    A response with a C{DAV:error} body naming a precondition or
    postcondition (RFC 4918 section 16), e.g. C{dav("lock-token-submitted")}
    with the hrefs of the locked resources.
    """
    root = element(dav("error"))
    node = element(condition, root)
    for href in hrefs:
        element(dav("href"), node, href)
    return xmlResponse(code, root)


def davError(code: int, condition: str, hrefs=()) -> http.HTTPError:
    """
    An L{http.HTTPError} carrying L{errorResponse}.
    """
    return http.HTTPError(errorResponse(code, condition, hrefs))


def serialize(node) -> str:
    """
    An element as a self-contained XML string (its namespaces declared),
    the form in which dead properties are stored.
    """
    return etree.tostring(node, encoding="unicode", with_tail=False)


def deserialize(text: str):
    """
    The element stored by L{serialize}.
    """
    return etree.fromstring(text.encode("utf-8"), makeParser())
