"""static for web2."""

from web2.static._version import __version__

__all__ = ["__version__"]
