"""wsgi for web2."""

from web2.wsgi._version import __version__

__all__ = ["__version__"]
