"""
web2-static: files and directories from the disk, and data from memory,
served with validators, ranges, precompressed variants and optional
directory listings.

    from web2.static import File, Data
    root = File("/srv/www", listing=True)
    root.putChild("favicon.ico", Data(iconBytes, "image/vnd.microsoft.icon"))
"""

from web2.static._version import __version__
from web2.static.cache import FileCache
from web2.static.data import Data, MetaDataMixin, StaticRenderMixin
from web2.static.file import File

__all__ = [
    "Data",
    "File",
    "FileCache",
    "MetaDataMixin",
    "StaticRenderMixin",
    "__version__",
]
