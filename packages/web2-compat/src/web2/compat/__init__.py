"""
web2-compat: run applications written for twisted.web inside a web2 site.

Importing this package registers L{OldResourceAdapter} as the adapter from
C{twisted.web.resource.IResource} to L{web2.iweb.IResource}, so a
twisted.web resource can be used wherever web2 takes a resource.
"""

from web2.compat._version import __version__
from web2.compat._writer import ShortBody
from web2.compat.request import CACHED, OldRequest
from web2.compat.resource import OldResourceAdapter, oldRequestFor
from web2.compat.session import SessionStore

__all__ = [
    "__version__",
    "CACHED",
    "OldRequest",
    "OldResourceAdapter",
    "SessionStore",
    "ShortBody",
    "oldRequestFor",
]
