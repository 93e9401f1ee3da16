# -*- test-case-name: test_dav_propfind -*-
"""
The live properties of a L{web2.dav.DAVFile} (RFC 4918 section 15),
computed from the file's metadata and the tree's locks.

Each is a function C{(resource, info) -> str or None} in L{LIVE}: the
property's element as XML text, in the C{D:} prefix of a multistatus
body (see L{web2.dav.davxml.propStatsXML}), or C{None} when it does not
apply (e.g. C{getcontentlength} of a collection); C{info} is a
L{PropInfo}.  Text rather than lxml elements because a PROPFIND of a
large collection computes thousands of them: building, then serializing,
a tree of some forty elements per member cost most of its time.  All are
protected (a PROPPATCH of one is 403) except C{displayname}, which a
client may override with a dead value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lxml import etree

from web2.dav.davxml import DAV, makeParser, xmlText
from web2.http_headers import generateDateTime
from web2.static import File


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
    return ("<D:creationdate>" + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
            + "</D:creationdate>")


def _displayname(resource, info):
    return "<D:displayname>" + xmlText(resource.displayName() or "") + "</D:displayname>"


def _getcontentlength(resource, info):
    if info.isCollection:
        return None
    return f"<D:getcontentlength>{info.st.st_size}</D:getcontentlength>"


def _getcontenttype(resource, info):
    if info.isCollection:
        return None
    if type(resource).contentType is File.contentType:
        # From the listing's stat, without another.
        kind = resource.contentTypeFromStat(info.st)
    else:
        kind = resource.contentType()
    return None if kind is None else "<D:getcontenttype>" + xmlText(kind) + "</D:getcontenttype>"


def _getetag(resource, info):
    if info.isCollection:
        return None
    if type(resource).etag is File.etag:
        # From the listing's stat: the same tag as GET's ETag, without
        # another stat (a subclass's own etag() is asked instead).
        tag = resource.etagFromStat(info.st)
    else:
        etag = resource.etag()
        if etag is None:
            return None
        tag = etag.generate()
    return "<D:getetag>" + xmlText(tag) + "</D:getetag>"


def _getlastmodified(resource, info):
    return ("<D:getlastmodified>" + generateDateTime(int(info.st.st_mtime))
            + "</D:getlastmodified>")


def _resourcetype(resource, info):
    if info.isCollection:
        return "<D:resourcetype><D:collection/></D:resourcetype>"
    return "<D:resourcetype/>"


_SUPPORTEDLOCK = (
    "<D:supportedlock>"
    + "".join(
        f"<D:lockentry><D:lockscope><D:{scope}/></D:lockscope>"
        "<D:locktype><D:write/></D:locktype></D:lockentry>"
        for scope in ("exclusive", "shared"))
    + "</D:supportedlock>"
)


def _supportedlock(resource, info):
    return _SUPPORTEDLOCK


#: The lock scopes and depths a L{web2.dav.locks.Lock} may have, as
#: written (anything else would be a bug, refused rather than written).
_SCOPES = {"exclusive": "<D:exclusive/>", "shared": "<D:shared/>"}
_DEPTHS = {"0": "0", "1": "1", "infinity": "infinity"}


def activeLockXML(lock, remaining: int) -> str:
    """
    The C{DAV:activelock} element describing C{lock}, as text.  Its owner
    is the client's C{DAV:owner} element as the LOCK request parsed and
    serialized it (self-contained: it declares its own namespaces).
    """
    return (
        "<D:activelock><D:locktype><D:write/></D:locktype>"
        f"<D:lockscope>{_SCOPES[lock.scope]}</D:lockscope>"
        f"<D:depth>{_DEPTHS[lock.depth]}</D:depth>"
        + (lock.owner or "")
        + f"<D:timeout>Second-{int(remaining)}</D:timeout>"
        "<D:locktoken><D:href>" + xmlText(lock.token) + "</D:href></D:locktoken>"
        "<D:lockroot><D:href>" + xmlText(lock.rootHref) + "</D:href></D:lockroot>"
        "</D:activelock>"
    )


def lockDiscoveryXML(locks, remaining) -> str:
    """
    The C{DAV:lockdiscovery} element listing C{locks}, as text;
    C{remaining(lock)} gives the seconds each has left.
    """
    if not locks:
        return "<D:lockdiscovery/>"
    return ("<D:lockdiscovery>" + "".join(activeLockXML(lock, remaining(lock)) for lock in locks)
            + "</D:lockdiscovery>")


def activeLock(lock, remaining: int):
    """
    The C{DAV:activelock} element describing C{lock} (L{activeLockXML}
    parsed).
    """
    return _parsed(activeLockXML(lock, remaining))


def lockDiscovery(locks, remaining):
    """
    The C{DAV:lockdiscovery} element listing C{locks} (L{lockDiscoveryXML}
    parsed).
    """
    return _parsed(lockDiscoveryXML(locks, remaining))


def _parsed(text: str):
    wrapper = etree.fromstring(
        f'<D:prop xmlns:D="{DAV}">{text}</D:prop>'.encode(), makeParser())
    return wrapper[0]


def _lockdiscovery(resource, info):
    return lockDiscoveryXML(info.locks, info.remaining)


#: Live property name -> computing function, in C{allprop} order.
LIVE = {
    "{DAV:}creationdate": _creationdate,
    "{DAV:}displayname": _displayname,
    "{DAV:}getcontentlength": _getcontentlength,
    "{DAV:}getcontenttype": _getcontenttype,
    "{DAV:}getetag": _getetag,
    "{DAV:}getlastmodified": _getlastmodified,
    "{DAV:}resourcetype": _resourcetype,
    "{DAV:}lockdiscovery": _lockdiscovery,
    "{DAV:}supportedlock": _supportedlock,
}

#: The live properties a client may not set or remove.
PROTECTED = frozenset(LIVE) - {"{DAV:}displayname"}
