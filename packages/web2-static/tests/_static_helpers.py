"""
Test helpers of web2-static.  The in-memory channel, the response parser,
C{runNow} and C{makeTree} come from the public L{web2.testing}; what is
left here is about L{web2.static.File}.
"""

from __future__ import annotations

from web2.testing import ChannelConnection as Connection
from web2.testing import ParsedResponse as Response
from web2.testing import makeTree, parseResponses, runNow

__all__ = ["Connection", "Response", "get", "makeTree", "parseResponses", "runNow", "static"]


def get(root, target, method="GET", **headers):
    """
    One request to C{root} on a fresh connection; header names given as
    keyword arguments use underscores for dashes.
    """
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Connection(root).request(target, method, pairs)


def static(path, **kwargs):
    """
    A L{web2.static.File} whose thread work runs synchronously.
    """
    from web2.static import File

    kwargs.setdefault("runInThread", runNow)
    return File(path, **kwargs)
