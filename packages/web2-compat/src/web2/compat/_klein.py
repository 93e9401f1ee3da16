# -*- test-case-name: test_compat_klein -*-
"""
Klein applications without code of the user's.

Klein's resource adapts the request it renders to C{IKleinRequest} (where
it keeps the URL mapper and the branch segments of the request), and Klein
registers that adapter for C{twisted.web.server.Request} only, so under
web2-compat every route failed with "Could not adapt OldRequest to
IKleinRequest".  L{registerKlein} registers, for L{OldRequest}, the
adapter Klein registered for C{twisted.web.server.Request}: whatever Klein
version is installed, its own adapter is used, and since L{OldRequest} is
C{Componentized} as twisted.web's request is, the adapted object is kept
for the request's lifetime, as Klein expects.

It is lazy and costs nothing without Klein: web2-compat never imports
Klein (it is not a dependency).  L{registerKlein} is called each time an
L{OldRequest} is made (see L{web2.compat.resource.oldRequestFor}) and acts
the first time it finds C{klein} already imported; a Klein application is
imported before its first request, so its routes always find the adapter.
Once done, or if the application registered the adapter itself, it does
nothing further.
"""

from __future__ import annotations

import sys

from twisted.python import components

from web2.compat.request import OldRequest

__all__ = ["registerKlein"]

_done = False


def registerKlein() -> bool:
    """
    Register Klein's request adapter for L{OldRequest}, if Klein is
    imported and it is not registered yet.

    @return: whether the adapter is registered (now or before).
    """
    global _done
    if _done:
        return True
    if "klein" not in sys.modules:
        return False
    try:
        from klein.interfaces import IKleinRequest
        from twisted.web.server import Request
    except ImportError:  # a broken or half-imported Klein
        return False
    if components.getAdapterFactory(OldRequest, IKleinRequest, None) is None:
        factory = components.getAdapterFactory(Request, IKleinRequest, None)
        if factory is None:
            return False
        components.registerAdapter(factory, OldRequest, IKleinRequest)
    _done = True
    return True
