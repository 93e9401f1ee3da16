"""
web2-dav: a WebDAV (RFC 4918, classes 1 and 2) server library for web2.

    from web2.dav import DAVFile
    root = DAVFile("/srv/dav")            # GET/HEAD from web2.static.File,
                                          # PROPFIND ... LOCK/UNLOCK from here

Dead properties live in one JSON sidecar per directory
(L{web2.dav.props.SidecarPropertyStore}); locks in memory
(L{web2.dav.locks.LockManager}).
"""

from web2.dav._version import __version__
from web2.dav.locks import Lock, LockManager
from web2.dav.props import SidecarPropertyStore
from web2.dav.resource import DAVFile

__all__ = ["DAVFile", "Lock", "LockManager", "SidecarPropertyStore", "__version__"]
