"""
What the tests of web2's lean reactors (C{test_epollreactor.py},
C{test_asyncioreactor.py}) share: a selectable that records what the
reactor tells it, and a look for an error in the log.
"""


class Selectable:
    """
    A descriptor whose C{doRead} does what the test says and records what
    the reactor tells it.
    """

    def __init__(self, sock, onRead=lambda self: None):
        self.sock = sock
        self.onRead = onRead
        self.closed = False
        self.lost = []
        self.writes = 0

    def fileno(self):
        return -1 if self.closed else self.sock.fileno()

    def logPrefix(self):
        return "Selectable"

    def doRead(self):
        return self.onRead(self)

    def doWrite(self):
        self.writes += 1

    def connectionLost(self, reason):
        self.lost.append(reason)


def loggedError(events, text) -> bool:
    """
    Whether C{events} (legacy log events) hold an error whose failure
    mentions C{text}.
    """
    return any(e.get("isError") and text in str(e.get("failure", "")) for e in events)
