"""
Test helpers of web2-core.  The shared ones live in the public
L{web2.testing}; this module keeps the short names web2-core's tests use.
"""

from web2.testing import ChannelConnection as Connection
from web2.testing import LiveServer, inThread, parseResponses, rawExchange
from web2.testing import ParsedResponse as Response

__all__ = ["Connection", "LiveServer", "Response", "inThread", "parseResponses", "rawExchange"]
