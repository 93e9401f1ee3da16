"""
Test helpers of web2-asgi: in memory, an L{ASGIResource} on the Twisted
runner with a L{task.Clock} behind a real channel (everything runs at
once, deterministically); live, a real server on 127.0.0.1 on the asyncio
reactor the test process runs (see C{conftest.py}).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from twisted.internet import task
from zope.interface import classImplements

from web2 import server, testing
from web2.asgi import ASGIResource
from web2.iweb import IResource
from web2.mount import MountTree
from web2.testing import (
    fetch,
    inThread,
    parseResponses,
    rawExchange,
    requestBytes,
    waitFor,
)

__all__ = ["Connection", "LiveServer", "Ordinary", "WAIT", "fetch", "inThread", "parseResponses",
           "rawExchange", "requestBytes", "resource", "tempPath", "waitFor"]

WAIT = 10.0


def tempPath(testCase):
    """
    A path in a new temporary directory removed after C{testCase} (trial's
    C{mktemp} writes below the working directory under pytest).
    """
    directory = tempfile.mkdtemp(prefix="web2-asgi-test-")
    testCase.addCleanup(shutil.rmtree, directory, True)
    return os.path.join(directory, "file")


def resource(app, clock=None, **kwargs):
    """
    An L{ASGIResource} for C{app} on the Twisted runner with C{clock}.
    """
    clock = clock if clock is not None else task.Clock()
    return ASGIResource(app, reactor=clock, loop="twisted", **kwargs)


class Ordinary:
    """
    A site's root that leads to C{resource} by the ordinary path
    (traversal and rendering), being no L{web2.iweb.ISiteRoot} itself.
    """

    def __init__(self, resource):
        self.resource = resource

    def locateChild(self, request, segments):
        return self.resource, segments

    def renderHTTP(self, request):
        return self.resource


classImplements(Ordinary, IResource)


class Connection(testing.ChannelConnection):
    """
    One in-memory connection to a site serving C{app} at C{mount}.

    @cvar direct: whether an application at C{/} answers its site's
        requests directly (L{web2.asgi.request}), as in a real site; a test
        case sets it to C{False} to run its tests on the ordinary path.
    """

    direct = True

    def __init__(self, app, mount="/", wrap=None, **kwargs):
        clock = task.Clock()
        self.resource = resource(app, clock, **kwargs)
        root = self.resource if mount == "/" else MountTree({mount: self.resource})
        if not self.direct:
            root = Ordinary(root)
        if wrap is not None:
            root = wrap(root)
        super().__init__(root, clock=clock)


class LiveServer(testing.LiveServer):
    """
    A real server for C{app} (an L{ASGIResource} on the asyncio runner)
    at C{mount}.
    """

    def __init__(self, app, mount="/", wrap=None, lifespan=None, **kwargs):
        self.resource = ASGIResource(app, lifespan=lifespan, **kwargs)
        root = self.resource if mount == "/" else MountTree({mount: self.resource})
        if wrap is not None:
            root = wrap(root)
        super().__init__(site=server.Site(root))
