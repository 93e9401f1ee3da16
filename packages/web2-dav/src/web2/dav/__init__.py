"""dav for web2."""

from web2.dav._version import __version__

__all__ = ["__version__"]
