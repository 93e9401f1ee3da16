"""
Channels: the transports that turn bytes into requests.  C{HTTPFactory}
serves HTTP/1.x; the CGI/SCGI/FastCGI gateways live in C{web2.cgi}.
"""

from web2.channel.http import HTTPChannel, HTTPChannelRequest, HTTPFactory

__all__ = ["HTTPFactory", "HTTPChannel", "HTTPChannelRequest"]
