"""
The twistd dropin of web2: makes C{twistd web2} (and C{twist web2}) run
L{web2.tap}.

This directory is part of Twisted's C{twisted.plugins} namespace: it must
never contain an C{__init__.py}.
"""

from twisted.application.service import ServiceMaker

web2 = ServiceMaker(
    "web2",
    "web2.tap",
    "An HTTP/1.1 server and web framework: serve a site assembled from web2 plugins.",
    "web2",
)
