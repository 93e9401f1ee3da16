# -*- test-case-name: test_client -*-
"""
The exceptions of L{web2.client}: every way an exchange can fail has its
own class, so that a caller (the reverse proxy, for one) can tell a server
that cannot be reached from one that answered garbage or stalled.
"""


class ClientError(Exception):
    """
    The base of every L{web2.client} failure.
    """


class ConnectError(ClientError):
    """
    No connection could be made (refused, unreachable, DNS, TLS handshake
    or certificate verification failed, or the connect timeout passed).
    """


class ConnectTimeout(ConnectError):
    """
    The connection was not established within the connect timeout.
    """


class ResponseTimeout(ClientError):
    """
    The request was sent and no response head came within the response
    timeout.
    """


class BodyTimeout(ClientError):
    """
    The server sent nothing for the body timeout while a response body was
    being read (and the reader was reading), or did not take any of the
    request body for that long.
    """


class BadResponse(ClientError):
    """
    The server's response broke HTTP/1.1 or a limit (a malformed head, too
    many or too large header fields, a bad chunk, a wrong Content-Length).

    @ivar reason: what was wrong, ready for a log line.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConnectionClosed(ClientError):
    """
    The server closed the connection before the response was complete.

    @ivar beforeResponse: whether nothing of the response had arrived.
    """

    def __init__(self, message: str, beforeResponse: bool = False) -> None:
        super().__init__(message)
        self.beforeResponse = beforeResponse


class RequestBodyError(ClientError):
    """
    The request body stream failed, or gave more or fewer bytes than its
    C{length} said.
    """


class TooManyRedirects(ClientError):
    """
    More redirects than allowed were followed.
    """


class RequestCancelled(ClientError):
    """
    The caller cancelled the request (or closed the response body).
    """
