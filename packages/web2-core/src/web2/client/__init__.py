# -*- test-case-name: test_client -*-
"""
web2's HTTP/1.1 client, on the response side of the sans-I/O wire layer.

    from web2.client import Client

    client = Client()
    response = await client.get("https://example.org/")
    print(response.code, response.headers.getHeader("content-type"))
    data = await response.content(maxLength=10_000_000)

Responses are L{web2.http.Response}s (L{ClientResponse}) whose C{stream}
delivers the body as it arrives, paused at the server when it is not read;
request bodies are L{web2.iweb.IByteStream}s, sent with backpressure.  Every
wait is bounded (connect, response head, body inactivity), every limit of
the server's reader applies to responses, and each failure has its own
exception (L{ConnectError}, L{ResponseTimeout}, L{BodyTimeout},
L{BadResponse}, L{ConnectionClosed}...).  Connections are pooled per
C{(scheme, host, port)} with a bound per host and an idle expiry.  TLS
verifies certificates by default; redirects are followed only when asked;
no proxy is taken from the environment.

Modules: C{_protocol} (one connection, its rules at its top), C{_pool},
C{_client} (URLs, the pool, redirects, convenience calls), C{_errors}.
"""

from ._client import URL, Client, HTTPStatusError, get, json, post
from ._errors import (
    BadResponse,
    BodyTimeout,
    ClientError,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    RequestBodyError,
    RequestCancelled,
    ResponseTimeout,
    TooManyRedirects,
)
from ._pool import HTTPConnectionPool
from ._protocol import ClientResponse, HTTP11ClientProtocol, Tunnel

__all__ = [
    "URL",
    "BadResponse",
    "BodyTimeout",
    "Client",
    "ClientError",
    "ClientResponse",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosed",
    "HTTP11ClientProtocol",
    "HTTPConnectionPool",
    "HTTPStatusError",
    "RequestBodyError",
    "RequestCancelled",
    "ResponseTimeout",
    "TooManyRedirects",
    "Tunnel",
    "get",
    "json",
    "post",
]
