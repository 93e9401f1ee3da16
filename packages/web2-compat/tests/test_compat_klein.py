"""
Tests of what web2-compat provides for Klein, without Klein installed:
L{OldRequest.render} and L{OldRequest.processingFailed} (twisted.web
request methods Klein calls), and L{web2.compat._klein.registerKlein}
against a stand-in C{klein} module.  Klein itself, through a real server,
is tested in the repository's C{tests/test_launch_klein.py}.
"""

from __future__ import annotations

import sys
import types

import pytest
from _compat_helpers import Connection, get
from twisted.logger import globalLogPublisher
from twisted.python import components
from twisted.web import resource, server, static
from zope.interface import Interface, implementedBy, implementer

from web2.compat import _klein
from web2.compat.request import OldRequest


class Renders(resource.Resource):
    """
    A leaf that answers with C{request.render(other)}, now or when
    C{later} (a clock) says.
    """

    isLeaf = True

    def __init__(self, other, later=None):
        super().__init__()
        self.other = other
        self.later = later

    def render(self, request):
        if self.later is None:
            request.render(self.other)
        else:
            self.later.callLater(1, request.render, self.other)
        return server.NOT_DONE_YET


def test_renderAnotherResource():
    r = get(Renders(static.Data(b"other data", "text/plain")), "/")
    assert (r.status, r.body) == (200, b"other data")
    assert r.headerValues("content-type") == ["text/plain"]
    assert r.headerValues("content-length") == ["10"]


def test_renderAnotherResourceLater():
    conn = Connection(Renders(static.Data(b"later data", "text/plain")))
    conn.root.original.later = conn.clock
    conn.sendRequest("/")
    conn.pump()
    assert conn.responses() == []
    conn.clock.advance(1)
    [r] = conn.responses()
    assert (r.status, r.body) == (200, b"later data")


def test_renderHeadKeepsTheResourcesLength():
    conn = Connection(Renders(static.Data(b"0123456789", "text/plain")))
    r = conn.request("/", "HEAD")
    assert (r.status, r.body) == (200, b"")
    assert r.headerValues("content-length") == ["10"]


class GetOnly(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"got"


def test_renderUnsupportedMethod():
    conn = Connection(Renders(GetOnly()))
    r = conn.request("/", "DELETE")
    assert r.status == 405
    assert sorted(r.headerValues("allow")[0].split(", ")) == ["GET", "HEAD"]
    r = conn.request("/", "HEAD")
    assert (r.status, r.body) == (200, b"")


class Fails(resource.Resource):
    isLeaf = True

    def __init__(self, writeFirst=False):
        super().__init__()
        self.writeFirst = writeFirst

    def render(self, request):
        if self.writeFirst:
            request.write(b"partial")
        try:
            raise RuntimeError("route failed")
        except RuntimeError:
            from twisted.python.failure import Failure

            request.processingFailed(Failure())
        return server.NOT_DONE_YET


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def test_processingFailedAnswers500(logged):
    r = get(Fails(), "/")
    assert r.status == 500
    assert b"it was logged" in r.body
    assert b"route failed" not in r.body
    [event] = [e for e in logged if "log_failure" in e]
    assert event["log_failure"].check(RuntimeError)


def test_processingFailedAfterWritingAborts(logged):
    conn = Connection(Fails(writeFirst=True))
    conn.sendRequest("/")
    conn.pump()
    assert conn.closed
    assert b"route failed" not in conn.output()
    assert any("log_failure" in e for e in logged)


# registerKlein, with a stand-in for Klein


class IFakeKleinRequest(Interface):
    pass


@implementer(IFakeKleinRequest)
class FakeKleinRequest:
    def __init__(self, request):
        self.request = request


@pytest.fixture
def fakeKlein(monkeypatch):
    """
    A C{klein} whose C{klein.interfaces.IKleinRequest} is adapted from
    twisted.web's Request, as Klein registers it; C{registerKlein}'s
    memory of having run is reset, and its adapter for L{OldRequest}
    removed afterwards.
    """
    package = types.ModuleType("klein")
    interfaces = types.ModuleType("klein.interfaces")
    interfaces.IKleinRequest = IFakeKleinRequest
    package.interfaces = interfaces
    monkeypatch.setattr(_klein, "_done", False)
    registry = components.getRegistry()
    if components.getAdapterFactory(server.Request, IFakeKleinRequest, None) is None:
        components.registerAdapter(FakeKleinRequest, server.Request, IFakeKleinRequest)
    yield package, interfaces
    registry.register([implementedBy(OldRequest)], IFakeKleinRequest, "", None)
    monkeypatch.setattr(_klein, "_done", False)


def test_registerKleinOnlyOnceKleinIsImported(fakeKlein, monkeypatch):
    package, interfaces = fakeKlein
    monkeypatch.delitem(sys.modules, "klein", raising=False)
    monkeypatch.delitem(sys.modules, "klein.interfaces", raising=False)
    assert _klein.registerKlein() is False
    assert components.getAdapterFactory(OldRequest, IFakeKleinRequest, None) is None
    monkeypatch.setitem(sys.modules, "klein", package)
    monkeypatch.setitem(sys.modules, "klein.interfaces", interfaces)
    assert _klein.registerKlein() is True
    assert components.getAdapterFactory(OldRequest, IFakeKleinRequest, None) is FakeKleinRequest
    assert _klein.registerKlein() is True  # once is enough


def test_requestAdaptsOnceKleinIsImported(fakeKlein, monkeypatch):
    """
    The first request made after Klein is imported registers the adapter;
    the adapted object is kept for the request (it is Componentized), as
    Klein expects.
    """
    package, interfaces = fakeKlein
    monkeypatch.setitem(sys.modules, "klein", package)
    monkeypatch.setitem(sys.modules, "klein.interfaces", interfaces)
    seen = []

    class Leaf(resource.Resource):
        isLeaf = True

        def render(self, request):
            seen.append((IFakeKleinRequest(request), IFakeKleinRequest(request), request))
            return b"ok"

    assert get(Leaf(), "/").body == b"ok"
    [(first, second, request)] = seen
    assert first is second
    assert isinstance(first, FakeKleinRequest) and first.request is request


def test_kleinAdapterRegisteredByHandIsKept(fakeKlein, monkeypatch):
    """
    An application that registered the adapter itself (the old workaround)
    does not make registerKlein fail.
    """
    package, interfaces = fakeKlein
    monkeypatch.setitem(sys.modules, "klein", package)
    monkeypatch.setitem(sys.modules, "klein.interfaces", interfaces)

    @implementer(IFakeKleinRequest)
    class Own:
        def __init__(self, request):
            pass

    components.registerAdapter(Own, OldRequest, IFakeKleinRequest)
    assert _klein.registerKlein() is True
    assert components.getAdapterFactory(OldRequest, IFakeKleinRequest, None) is Own
