"""The version of web2-core."""

__version__ = "0.1.0"
