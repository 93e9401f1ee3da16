"""
Tests for OPTIONS, GET through DAVFile, PROPFIND and PROPPATCH.
"""

from __future__ import annotations

import json
import os

import pytest
from _dav_helpers import (
    PROPFIND_ALL,
    Client,
    D,
    davFile,
    lockBody,
    makeTree,
    propfindBody,
    proppatchBody,
    propStatus,
    responsesByHref,
)

from web2.dav.props import SIDECAR


@pytest.fixture
def tree(tmp_path):
    makeTree(tmp_path, {
        "a.txt": b"hello",
        "sub": {"b.html": b"<p>b</p>", "deeper": {"c.txt": b"c"}},
    })
    return tmp_path


@pytest.fixture
def client(tree):
    return Client(davFile(tree))


def test_options(client):
    r = client.request("OPTIONS", "/a.txt")
    assert r.status == 200
    assert r.header("DAV") == "1, 2"
    assert r.header("MS-Author-Via") == "DAV"
    allow = {m.strip() for m in r.header("Allow").split(",")}
    assert {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
            "PUT", "DELETE", "GET", "HEAD", "OPTIONS"} <= allow


def test_optionsReadOnly(tree):
    client = Client(davFile(tree, readOnly=True))
    r = client.request("OPTIONS", "/")
    assert r.header("DAV") == "1"
    allow = {m.strip() for m in r.header("Allow").split(",")}
    assert "PUT" not in allow and "LOCK" not in allow and "PROPFIND" in allow
    r = client.request("PUT", "/new.txt", b"x")
    assert r.status == 405
    assert not os.path.exists(tree / "new.txt")
    assert client.request("PROPFIND", "/", headers=[("Depth", "0")]).status == 207


def test_getStillServedByFile(client):
    r = client.request("GET", "/a.txt")
    assert (r.status, r.body) == (200, b"hello")
    assert r.header("ETag")


def test_propfindDepth0AllProp(client):
    r = client.request("PROPFIND", "/a.txt", PROPFIND_ALL, [("Depth", "0")])
    assert r.status == 207
    assert r.header("Content-Type").startswith("application/xml")
    responses = responsesByHref(r)
    assert list(responses) == ["/dav/a.txt"]
    props = propStatus(responses["/dav/a.txt"])
    assert props[D + "getcontentlength"][1].text == "5"
    assert props[D + "getcontenttype"][1].text.startswith("text/plain")
    assert props[D + "resourcetype"][1].find(D + "collection") is None
    assert props[D + "displayname"][1].text == "a.txt"
    assert props[D + "getetag"][1].text == client.request("HEAD", "/a.txt").header("ETag")
    assert props[D + "creationdate"][1].text.endswith("Z")
    assert props[D + "getlastmodified"][1].text.endswith("GMT")
    entries = props[D + "supportedlock"][1].findall(D + "lockentry")
    assert len(entries) == 2
    assert all(code == 200 for code, _ in props.values())


def test_propfindEmptyBodyIsAllProp(client):
    r = client.request("PROPFIND", "/sub/", b"", [("Depth", "0")])
    props = propStatus(responsesByHref(r)["/dav/sub/"])
    assert props[D + "resourcetype"][1].find(D + "collection") is not None
    assert D + "getcontentlength" not in props


def test_propfindDepth1(client):
    r = client.request("PROPFIND", "/sub/", PROPFIND_ALL, [("Depth", "1")])
    assert set(responsesByHref(r)) == {"/dav/sub/", "/dav/sub/b.html", "/dav/sub/deeper/"}


def test_propfindRootDepth1HidesSidecar(client, tree):
    client.request("PROPPATCH", "/", proppatchBody(['<x:p xmlns:x="urn:x">1</x:p>']))
    assert os.path.exists(tree / SIDECAR)
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")])
    assert set(responsesByHref(r)) == {"/dav/", "/dav/a.txt", "/dav/sub/"}
    assert client.request("GET", "/" + SIDECAR).status == 404
    assert client.request("PUT", "/" + SIDECAR, b"{}").status == 404


def test_propfindNamedProps(client):
    r = client.request("PROPFIND", "/a.txt", propfindBody("D:getcontentlength", "{urn:x}missing"),
                       [("Depth", "0")])
    props = propStatus(responsesByHref(r)["/dav/a.txt"])
    assert props[D + "getcontentlength"][0] == 200
    assert props["{urn:x}missing"][0] == 404


def test_propfindPropname(client):
    body = b'<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>'
    r = client.request("PROPFIND", "/a.txt", body, [("Depth", "0")])
    props = propStatus(responsesByHref(r)["/dav/a.txt"])
    assert D + "getetag" in props
    assert all(len(el) == 0 and not el.text for _, el in props.values())


def test_propfindInfinityRefused(client):
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "infinity")])
    assert r.status == 403
    assert r.xml().find(D + "propfind-finite-depth") is not None
    # No Depth header means infinity (RFC 4918 9.1).
    assert client.request("PROPFIND", "/", PROPFIND_ALL).status == 403


def test_propfindInfinityWhenEnabled(tree):
    client = Client(davFile(tree, allowInfiniteDepth=True))
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "infinity")])
    assert "/dav/sub/deeper/c.txt" in responsesByHref(r)


def test_propfindResourceCap(tree):
    client = Client(davFile(tree, maxPropfindResources=2))
    assert client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")]).status == 507


def test_propfindBadDepthAndMissing(client):
    assert client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "2")]).status == 400
    assert client.request("PROPFIND", "/nope", PROPFIND_ALL, [("Depth", "0")]).status == 404


def test_propfindBadBodies(client):
    assert client.request("PROPFIND", "/", b"<nope", [("Depth", "0")]).status == 400
    assert client.request("PROPFIND", "/", b"<foo/>", [("Depth", "0")]).status == 400
    body = b'<D:propfind xmlns:D="DAV:"><D:other/></D:propfind>'
    assert client.request("PROPFIND", "/", body, [("Depth", "0")]).status == 400


def test_proppatchSetGetRemove(client, tree):
    value = '<x:color xmlns:x="urn:x" xmlns:y="urn:y" a="1">blue <y:shade>dark</y:shade></x:color>'
    r = client.request("PROPPATCH", "/a.txt", proppatchBody([value]))
    assert r.status == 207
    assert propStatus(responsesByHref(r)["/dav/a.txt"])["{urn:x}color"][0] == 200
    r = client.request("PROPFIND", "/a.txt", propfindBody("{urn:x}color"), [("Depth", "0")])
    code, el = propStatus(responsesByHref(r)["/dav/a.txt"])["{urn:x}color"]
    assert code == 200
    assert el.text == "blue " and el.get("a") == "1"
    assert el.find("{urn:y}shade").text == "dark"
    stored = json.loads((tree / SIDECAR).read_text())
    assert "{urn:x}color" in stored["entries"]["a.txt"]
    r = client.request("PROPPATCH", "/a.txt", proppatchBody(removes=['<x:color xmlns:x="urn:x"/>']))
    assert r.status == 207
    r = client.request("PROPFIND", "/a.txt", propfindBody("{urn:x}color"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/a.txt"])["{urn:x}color"][0] == 404
    assert not (tree / SIDECAR).exists()


def test_proppatchIsAtomic(client):
    body = proppatchBody(['<x:ok xmlns:x="urn:x">1</x:ok>', "<D:getetag>bad</D:getetag>"])
    r = client.request("PROPPATCH", "/a.txt", body)
    props = propStatus(responsesByHref(r)["/dav/a.txt"])
    assert props[D + "getetag"][0] == 403
    assert props["{urn:x}ok"][0] == 424
    r = client.request("PROPFIND", "/a.txt", propfindBody("{urn:x}ok"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/a.txt"])["{urn:x}ok"][0] == 404


def test_proppatchDisplayNameOverride(client):
    client.request("PROPPATCH", "/sub/", proppatchBody(["<D:displayname>Stuff</D:displayname>"]))
    r = client.request("PROPFIND", "/sub/", PROPFIND_ALL, [("Depth", "0")])
    props = propStatus(responsesByHref(r)["/dav/sub/"])
    assert props[D + "displayname"][1].text == "Stuff"


def test_proppatchDeadPropertyInAllprop(client):
    client.request("PROPPATCH", "/sub/", proppatchBody(['<z:n xmlns:z="urn:z">v</z:n>']))
    r = client.request("PROPFIND", "/sub/", PROPFIND_ALL, [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/sub/"])["{urn:z}n"][1].text == "v"


def test_proppatchBadBodies(client):
    assert client.request("PROPPATCH", "/a.txt", b"").status == 400
    assert client.request("PROPPATCH", "/a.txt", b"<D:propertyupdate xmlns:D='DAV:'/>").status == 400
    assert client.request("PROPPATCH", "/nope", proppatchBody(["<x/>"])).status == 404


def test_proppatchPropertyLimit(tree):
    from web2.dav import SidecarPropertyStore

    client = Client(davFile(tree, propertyStore=SidecarPropertyStore(maxProperties=2)))
    body = proppatchBody([f'<x:p{i} xmlns:x="urn:x"/>' for i in range(3)])
    r = client.request("PROPPATCH", "/a.txt", body)
    codes = {code for code, _ in propStatus(responsesByHref(r)["/dav/a.txt"]).values()}
    assert codes == {507}


# The multistatus written as text (issue #14): what lxml used to build, and
# what it refused.


def test_propfindNameWithControlCharacters(tmp_path):
    """
    A file whose name holds characters XML cannot carry (a control
    character, bytes that are not UTF-8) is listed with U+FFFD in its
    display name, and its href percent-encoded; before, the whole PROPFIND
    failed with 500 (lxml refused the text).
    """
    makeTree(tmp_path, {"d": {"ok.txt": b"1"}})
    os.close(os.open(os.path.join(os.fsencode(tmp_path), b"d", b"a\x01b\xff.txt"),
                     os.O_CREAT | os.O_WRONLY))
    client = Client(davFile(tmp_path))
    r = client.request("PROPFIND", "/d/", PROPFIND_ALL, [("Depth", "1")])
    assert r.status == 207, r
    names = {href: propStatus(node)[D + "displayname"][1].text
             for href, node in responsesByHref(r).items()}
    assert names == {"/dav/d/": "d", "/dav/d/ok.txt": "ok.txt",
                     "/dav/d/a%01b%FF.txt": "a\ufffdb\ufffd.txt"}


def test_propfindEscapesText(tmp_path):
    """
    Markup characters in names, dead properties and lock owners come back
    as the same text, and each member's dead properties keep their own
    namespaces and language.
    """
    makeTree(tmp_path, {"d": {"a&<b>.txt": b"x"}})
    client = Client(davFile(tmp_path))
    patch = proppatchBody(['<z:n xmlns:z="urn:z" xml:lang="fr">a &amp; <z:i>b</z:i> &lt;c</z:n>'])
    assert client.request("PROPPATCH", "/d/a%26%3Cb%3E.txt", patch).status == 207
    owner = "<D:href>mailto:a&amp;b@example.com</D:href> &lt;me&gt;"
    lock = client.request("LOCK", "/d/a%26%3Cb%3E.txt", lockBody(owner=owner))
    assert lock.status == 200, lock
    r = client.request("PROPFIND", "/d/", PROPFIND_ALL, [("Depth", "1")])
    props = propStatus(responsesByHref(r)["/dav/d/a&%3Cb%3E.txt"])
    assert props[D + "displayname"][1].text == "a&<b>.txt"
    dead = props["{urn:z}n"][1]
    assert (dead.text, dead.find("{urn:z}i").text, dead.find("{urn:z}i").tail) == (
        "a & ", "b", " <c")
    assert dead.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    [active] = props[D + "lockdiscovery"][1]
    ownerNode = active.find(D + "owner")
    assert ownerNode.findtext(D + "href") == "mailto:a&b@example.com"
    assert ownerNode.find(D + "href").tail == " <me>"
    assert active.findtext(f"{D}locktoken/{D}href") == lock.header("Lock-Token")[1:-1]


def test_propfindSkipsADamagedDeadProperty(tree):
    """
    A stored value that is not XML (a sidecar edited by hand) loses that
    property: the others are listed, and the answer stays well-formed.
    """
    client = Client(davFile(tree))
    body = proppatchBody(['<x:good xmlns:x="urn:x">1</x:good>', '<x:bad xmlns:x="urn:x">2</x:bad>'])
    assert client.request("PROPPATCH", "/a.txt", body).status == 207
    sidecar = tree / SIDECAR
    data = json.loads(sidecar.read_text())
    data["entries"]["a.txt"]["{urn:x}bad"] = "<x:bad oops"
    sidecar.write_text(json.dumps(data))
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")])
    props = propStatus(responsesByHref(r)["/dav/a.txt"])
    assert props["{urn:x}good"][1].text == "1" and "{urn:x}bad" not in props
    r = client.request("PROPFIND", "/a.txt", propfindBody("{urn:x}bad"), [("Depth", "0")])
    assert propStatus(responsesByHref(r)["/dav/a.txt"])["{urn:x}bad"][0] == 404


def test_propfindEtagIsGetsETag(client):
    """
    The listing's C{getetag} (from the listing's own stat) is the ETag a
    GET of each member sends.
    """
    r = client.request("PROPFIND", "/sub/", PROPFIND_ALL, [("Depth", "1")])
    props = propStatus(responsesByHref(r)["/dav/sub/b.html"])
    assert props[D + "getetag"][1].text == client.request("GET", "/sub/b.html").header("ETag")


def test_propfindAsksASubclassForItsOwnETagAndType(tree):
    """
    A subclass's own C{etag()} and C{contentType()} are what PROPFIND
    reports (the listing's shortcut from its stat is for the built-in
    ones only).
    """
    from web2.dav import DAVFile
    from web2.http_headers import ETag

    class Custom(DAVFile):
        def etag(self):
            return ETag("custom")

        def contentType(self):
            return "application/x-custom"

    client = Client(Custom(str(tree), **_davArgs()))
    r = client.request("PROPFIND", "/", PROPFIND_ALL, [("Depth", "1")])
    props = propStatus(responsesByHref(r)["/dav/a.txt"])
    assert props[D + "getetag"][1].text == '"custom"'
    assert props[D + "getcontenttype"][1].text == "application/x-custom"


def _davArgs():
    from twisted.internet import task

    from web2.dav import LockManager
    from web2.testing import runNow

    return {"runInThread": runNow, "lockManager": LockManager(clock=task.Clock())}
