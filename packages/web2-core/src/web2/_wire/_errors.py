# -*- test-case-name: test_wire_reader -*-
"""
The one exception of the wire layer.
"""


class ProtocolError(Exception):
    """
    The peer broke HTTP/1.1 (or a limit); the connection cannot go on.

    @ivar status: the status code to answer with (400, 413, 414, 417, 431,
        501 or 505), or to log if no answer can be sent.
    @ivar reason: a short, log-ready description of what was wrong.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.status} {self.reason}"
