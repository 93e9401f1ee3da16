"""compat for web2."""

from web2.compat._version import __version__

__all__ = ["__version__"]
