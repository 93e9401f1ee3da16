"""
Tests for the XML layer: hostile request bodies (XXE, entity expansion,
DTDs, depth, size) are refused before they cost anything, and generated
multistatus bodies use proper namespaces.
"""

from __future__ import annotations

import pytest
from _dav_helpers import Client, D, davFile, makeTree, proppatchBody
from lxml import etree

from web2 import http
from web2.dav import davxml

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">&xxe;</x></D:prop></D:set>
</D:propertyupdate>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<D:propfind xmlns:D="DAV:"><D:prop><x xmlns="urn:x">&lol9;</x></D:prop></D:propfind>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE D:propfind SYSTEM "http://127.0.0.1:9/evil.dtd">
<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"""


def test_parseEmpty():
    assert davxml.parseXML(b"") is None
    assert davxml.parseXML(b"  \r\n") is None


@pytest.mark.parametrize("body", [XXE, LAUGHS, EXTERNAL_DTD, b"<a><b></a>", b"\xff\xfe<"])
def test_parseRefuses(body):
    with pytest.raises(http.HTTPError) as e:
        davxml.parseXML(body)
    assert e.value.response.code == 400


def test_parseRefusesDeepNesting():
    body = b"<a>" * 5000 + b"</a>" * 5000
    with pytest.raises(http.HTTPError) as e:
        davxml.parseXML(body)
    assert e.value.response.code == 400


def test_parseDropsCommentsAndProcessingInstructions():
    root = davxml.parseXML(b'<D:prop xmlns:D="DAV:"><!-- c --><?pi x?><x/></D:prop>')
    assert [child.tag for child in root] == ["x"]


@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {"f.txt": b"data"})
    return tmp_path


@pytest.mark.parametrize("method", ["PROPFIND", "PROPPATCH", "LOCK"])
@pytest.mark.parametrize("body", [XXE, LAUGHS, EXTERNAL_DTD])
def test_hostileBodiesOverHTTP(tree, method, body):
    client = Client(davFile(tree))
    r = client.request(method, "/f.txt", body, [("Depth", "0")])
    assert r.status == 400
    assert b"root:" not in r.body
    assert not (tree / ".web2dav-props.json").exists()


def test_bodyCapByContentLength(tree):
    client = Client(davFile(tree, maxXMLBody=100))
    body = proppatchBody(['<x xmlns="urn:x">' + "y" * 200 + "</x>"])
    assert client.request("PROPPATCH", "/f.txt", body).status == 413
    assert client.request("PROPFIND", "/f.txt", b" " * 101, [("Depth", "0")]).status == 413


def test_bodyCapChunked(tree):
    client = Client(davFile(tree, maxXMLBody=100))
    chunk = b"<" + b"a" * 80 + b">"
    raw = (b"PROPFIND /dav/f.txt HTTP/1.1\r\nHost: example.com\r\nDepth: 0\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n"
           + b"%x\r\n" % len(chunk) + chunk + b"\r\n"
           + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
    assert client.request("PROPFIND", "/f.txt", raw=raw).status == 413


def test_defaultCapIsOneMebibyte(tree):
    client = Client(davFile(tree))
    body = b" " * (1024 * 1024 + 1)
    assert client.request("PROPFIND", "/f.txt", body, [("Depth", "0")]).status == 413


def test_multistatusNamespaces():
    ms = davxml.MultiStatus()
    ms.addPropStats("/a", {200: [etree.Element("plain"), etree.Element("{urn:x}y")],
                           404: [davxml.element(davxml.dav("getetag"))]})
    ms.addStatus("/b", 423, davxml.dav("lock-token-submitted"))
    response = ms.response()
    assert response.code == 207
    body = response.stream.read()
    root = etree.fromstring(body)
    assert root.tag == D + "multistatus"
    assert root.nsmap == {"D": "DAV:"}
    first, second = root.findall(D + "response")
    props = [p.tag for p in first.iter() if p.getparent() is not None
             and p.getparent().tag == D + "prop"]
    assert props == ["plain", "{urn:x}y", D + "getetag"]
    assert second.findtext(D + "status") == "HTTP/1.1 423 Locked"
    assert second.find(f"{D}error/{D}lock-token-submitted") is not None


def test_serializeRoundTrip():
    node = etree.fromstring(b'<a xmlns="urn:a" xmlns:b="urn:b"><b:c k="v">t</b:c></a>')[0]
    node.tail = "tail"
    text = davxml.serialize(node)
    assert "tail" not in text
    again = davxml.deserialize(text)
    assert (again.tag, again.get("k"), again.text) == ("{urn:b}c", "v", "t")
