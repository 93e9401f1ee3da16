"""
The twistd dropins of web2: C{twistd web2} (and C{twist web2}) runs
L{web2.tap}; C{twistd --reactor=web2} installs L{web2.epollreactor},
C{--reactor=web2-asyncio} L{web2.asyncioreactor}.

This directory is part of Twisted's C{twisted.plugins} namespace: it must
never contain an C{__init__.py}.
"""

from twisted.application.reactors import Reactor
from twisted.application.service import ServiceMaker

web2 = ServiceMaker(
    "web2",
    "web2.tap",
    "An HTTP/1.1 server and web framework: serve a site assembled from web2 plugins.",
    "web2",
)

web2Reactor = Reactor(
    "web2",
    "web2.epollreactor",
    "epoll without a logging context per event (web2's default, Linux only)",
)

web2AsyncioReactor = Reactor(
    "web2-asyncio",
    "web2.asyncioreactor",
    "asyncio without a logging context per event (web2's choice for ASGI sites)",
)

web2UvloopReactor = Reactor(
    "web2-uvloop",
    "web2.asyncioreactor._uvloopInstaller",
    "web2-asyncio on a uvloop event loop (needs the uvloop package)",
)
