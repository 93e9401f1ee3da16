# -*- test-case-name: test_epollreactor,test_asyncioreactor -*-
"""
What web2's lean reactors share to send the responses of one wake-up
together: L{PollSends}.

A response sent the moment it is made wakes its client's event loop for
that one response; on another CPU that wake-up is an inter-processor
interrupt, which under a hypervisor costs as much as a small request does.
Sent together once the reactor has dispatched what one poll found, the
responses of that wake-up reach the clients as one burst, which a
client's single wake-up takes in.  The connections ask through the
reactor's C{sendAfterPoll} (L{web2.channel.http.HTTPChannel} does when its
reactor has it) and are called back with C{sendCollected()}.
"""

from __future__ import annotations

from twisted.logger import Logger

__all__ = ["PollSends"]

log = Logger()


class PollSends:
    """
    The connections whose output waits for the end of the reactor's poll.

    A reactor mixing this in calls L{_startPollSends} from its
    C{__init__} and L{_sendWaiting} once a poll's events are dispatched.

    @cvar maxSendsWaiting: how many connections may wait at once; the
        next one to ask sends those first, so that the first response of
        a busy poll waits for the work of this many, not of the whole
        poll.
    """

    maxSendsWaiting = 32

    def _startPollSends(self):
        self._sendsWaiting = []

    def _queueSend(self, connection) -> bool:
        """
        Let C{connection} wait for L{_sendWaiting}.

        @return: whether it is the first to wait since the last
            L{_sendWaiting} (a reactor that must schedule that call does
            so then).
        """
        waiting = self._sendsWaiting
        if len(waiting) >= self.maxSendsWaiting:
            self._sendWaiting()
            waiting = self._sendsWaiting
        waiting.append(connection)
        return len(waiting) == 1

    def _sendWaiting(self):
        """
        Tell every waiting connection to send what it collected.  One
        failing is logged; the others still send.
        """
        waiting = self._sendsWaiting
        if waiting:
            self._sendsWaiting = []
            for connection in waiting:
                try:
                    connection.sendCollected()
                except Exception:
                    log.failure("Unhandled error sending for {connection!r}",
                                connection=connection)
