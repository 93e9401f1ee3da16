"""
Test helpers of web2-compat.  The in-memory channel and the response parser
come from the public L{web2.testing}; what is left here adapts a
twisted.web resource with the connection's clock.
"""

from __future__ import annotations

from twisted.internet import task

from web2.compat import OldResourceAdapter
from web2.testing import ChannelConnection, parseResponses
from web2.testing import ParsedResponse as Response

__all__ = ["Connection", "Response", "get", "parseResponses"]


class Connection(ChannelConnection):
    """
    A web2 channel for C{root} on a L{StringTransport}; a twisted.web
    resource is first adapted with this connection's clock.
    """

    def __init__(self, root, sessionStore=None, **adapterOptions):
        clock = task.Clock()
        if not hasattr(root, "locateChild"):
            root = OldResourceAdapter(root, sessionStore=sessionStore,
                                      reactor=clock, **adapterOptions)
        self.root = root
        super().__init__(root, clock=clock)


def get(root, target, method="GET", headers=(), body=None, **options):
    """
    One request to C{root} on a fresh connection.
    """
    return Connection(root, **options).request(target, method, headers, body)
