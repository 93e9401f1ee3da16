"""cgi for web2."""

from web2.cgi._version import __version__

__all__ = ["__version__"]
