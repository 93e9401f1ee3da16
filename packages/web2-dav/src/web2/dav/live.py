# -*- test-case-name: test_dav_propfind -*-
"""
The live properties of a L{web2.dav.DAVFile} (RFC 4918 section 15),
computed from the file's metadata and the tree's locks.

Each is a function C{(resource, info) -> element or None} in L{LIVE}
(C{None}: it does not apply, e.g. C{getcontentlength} of a collection);
C{info} is a L{PropInfo}.  All are protected (a PROPPATCH of one is 403)
except C{displayname}, which a client may override with a dead value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from web2.dav.davxml import dav, deserialize, element
from web2.http_headers import generateDateTime


@dataclass
class PropInfo:
    """
    What the live properties of one resource are computed from.

    @ivar st: its C{os.stat} result.
    @ivar isCollection: whether it is a directory.
    @ivar key: its key in the tree.
    @ivar lockManager: the tree's L{web2.dav.locks.LockManager}, or C{None}.
    """

    st: object
    isCollection: bool
    key: str = ""
    lockManager: object = None
    _locks: list | None = field(default=None, repr=False)

    @property
    def locks(self) -> list:
        """
        The locks covering the resource, looked up when first asked for
        (only C{DAV:lockdiscovery} needs them).
        """
        if self._locks is None:
            manager = self.lockManager
            self._locks = [] if manager is None else manager.covering(self.key)
        return self._locks

    def remaining(self, lock) -> int:
        """
        Seconds left before C{lock} expires.
        """
        return self.lockManager.remaining(lock)


def _creationdate(resource, info):
    # POSIX has no portable birth time: the earlier of the change and
    # modification times is the best approximation.
    when = min(info.st.st_ctime, info.st.st_mtime)
    return element(dav("creationdate"), text=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)))


def _displayname(resource, info):
    return element(dav("displayname"), text=resource.displayName() or "")


def _getcontentlength(resource, info):
    if info.isCollection:
        return None
    return element(dav("getcontentlength"), text=str(info.st.st_size))


def _getcontenttype(resource, info):
    if info.isCollection:
        return None
    kind = resource.contentType()
    return None if kind is None else element(dav("getcontenttype"), text=kind)


def _getetag(resource, info):
    if info.isCollection:
        return None
    etag = resource.etag()
    return None if etag is None else element(dav("getetag"), text=etag.generate())


def _getlastmodified(resource, info):
    return element(dav("getlastmodified"), text=generateDateTime(int(info.st.st_mtime)))


def _resourcetype(resource, info):
    node = element(dav("resourcetype"))
    if info.isCollection:
        element(dav("collection"), node)
    return node


def _supportedlock(resource, info):
    node = element(dav("supportedlock"))
    for scope in ("exclusive", "shared"):
        entry = element(dav("lockentry"), node)
        element(dav(scope), element(dav("lockscope"), entry))
        element(dav("write"), element(dav("locktype"), entry))
    return node


def activeLock(lock, remaining: int):
    """
    The C{DAV:activelock} element describing C{lock}.
    """
    node = element(dav("activelock"))
    element(dav("write"), element(dav("locktype"), node))
    element(dav(lock.scope), element(dav("lockscope"), node))
    element(dav("depth"), node, lock.depth)
    if lock.owner is not None:
        node.append(deserialize(lock.owner))
    element(dav("timeout"), node, f"Second-{remaining}")
    element(dav("href"), element(dav("locktoken"), node), lock.token)
    element(dav("href"), element(dav("lockroot"), node), lock.rootHref)
    return node


def lockDiscovery(locks, remaining):
    node = element(dav("lockdiscovery"))
    for lock in locks:
        node.append(activeLock(lock, remaining(lock)))
    return node


def _lockdiscovery(resource, info):
    return lockDiscovery(info.locks, info.remaining)


#: Live property name -> computing function, in C{allprop} order.
LIVE = {
    dav("creationdate"): _creationdate,
    dav("displayname"): _displayname,
    dav("getcontentlength"): _getcontentlength,
    dav("getcontenttype"): _getcontenttype,
    dav("getetag"): _getetag,
    dav("getlastmodified"): _getlastmodified,
    dav("resourcetype"): _resourcetype,
    dav("lockdiscovery"): _lockdiscovery,
    dav("supportedlock"): _supportedlock,
}

#: The live properties a client may not set or remove.
PROTECTED = frozenset(LIVE) - {dav("displayname")}
