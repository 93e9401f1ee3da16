# -*- test-case-name: test_channel_turns -*-
"""
Turns: how pipelining connections share the reactor.

A connection may answer the first request of each batch it reads at once
(one round trip's worth, what a browser or any non-pipelining client
sends).  Every further request it answers in the same run draws on a
I{round}: a number of requests, and a slice of time (L{ROUND_SECONDS}),
shared by all connections and renewed once per reactor iteration.  The
time matters as much as the count: a request that costs a hundred
microseconds (a large error page, a file opened) makes a round of a
hundred requests ten milliseconds long.  A connection that finds the round spent, or
that has answered C{maxRequestsPerTurn} requests in a row, waits in one
queue; each new round serves the queue in order, from the start of the
reactor iteration, before the iteration reads anything new.

So the work done in one reactor iteration is bounded by the number of
connections with something to read plus one round, whatever the number
of pipelined requests waiting: a fresh request on a quiet connection (a
health check) waits for at most that, where it once waited for every busy
connection's whole turn.
"""

from __future__ import annotations

from collections import deque

__all__ = ["DRAWS_PER_CLOCK_READING", "ROUND_SECONDS", "TurnQueue"]

#: Seconds of the reactor's clock a round lasts at most, from its first
#: draw: requests drawn later wait for the next round.
ROUND_SECONDS = 0.01

#: The most requests one draw grants: the clock is read once a draw
#: (reading it for every pipelined request cost a few percent of a hello's
#: time), so a round overruns its time by at most these few requests.
DRAWS_PER_CLOCK_READING = 8


class TurnQueue:
    """
    The rounds and the queue of one L{HTTPFactory}'s connections.  A
    member is a channel with a C{_closing} flag and a C{_takeTurn()}
    method, which answers its waiting requests drawing on L{draw} for
    them.
    """

    def __init__(self, reactor, requestsPerRound: int, secondsPerRound: float = ROUND_SECONDS,
                 drawsPerClockReading: int = DRAWS_PER_CLOCK_READING):
        """
        @param requestsPerRound: how many requests beyond their first the
            connections answer in one reactor iteration, together.
        @param secondsPerRound: how long after its first draw a round
            still grants requests (by C{reactor.seconds()}).
        @param drawsPerClockReading: the most requests one draw grants
            (the round's time is checked once a draw).
        """
        self._reactor = reactor
        self.requestsPerRound = requestsPerRound
        self.secondsPerRound = secondsPerRound
        self.drawsPerClockReading = drawsPerClockReading
        self._left = requestsPerRound
        # When the round's first draw was made (None: not yet).
        self._roundStart = None
        #: How many rounds have begun (see L{free}).
        self.round = 0
        self._waiting: deque = deque()
        self._roundCall = None

    def draw(self, wanted: int) -> int:
        """
        Draw up to C{wanted} requests on this round, and no more than
        C{drawsPerClockReading}: the clock is read once a draw, so a round
        overruns its time by at most that many requests.  A connection
        draws for a run of its pipelined requests at once and gives back
        (L{giveBack}) what it did not start, so a pipelined request costs
        a subtraction, not a call.

        @return: how many were granted; none, and the caller waits
            (L{wait}).
        """
        if self._roundStart is None:
            # The round's first draw: it must be renewed next iteration,
            # and its time runs from now.
            self._renewSoon()
            self._roundStart = self._reactor.seconds()
        elif (self._left > 0
                and self._reactor.seconds() - self._roundStart >= self.secondsPerRound):
            self._left = 0
        granted = min(wanted, self.drawsPerClockReading, self._left)
        self._left -= granted
        return granted

    def giveBack(self, unused: int) -> None:
        """
        Return to this round requests drawn (L{draw}) and not started.
        """
        self._left += unused

    def free(self, member) -> int:
        """
        How many requests C{member} may start without a draw as it reads:
        one per round.  For a transport that hands one read of the socket
        over in several calls (TLS: one a record, so one a request if the
        client makes it so), where a free request per call would let a
        client answer a whole read's requests outside the rounds.

        @param member: has a C{_freeRound} attribute, kept here.
        """
        if member._freeRound == self.round:
            return 0
        member._freeRound = self.round
        self._renewSoon()
        return 1

    def wait(self, member) -> None:
        """
        Queue C{member} for a turn in a coming round.
        """
        self._waiting.append(member)
        self._renewSoon()

    def _renewSoon(self) -> None:
        if self._roundCall is None:
            self._roundCall = self._reactor.callLater(0, self._nextRound)

    def __len__(self) -> int:
        return len(self._waiting)

    def _nextRound(self):
        self._roundCall = None
        self._roundStart = None
        self._left = self.requestsPerRound
        self.round += 1
        waiting = self._waiting
        # Only those queued before this round: a member that waits again
        # goes to the back, for the next one.
        for _ in range(len(waiting)):
            if self._left <= 0:
                break
            member = waiting.popleft()
            if not member._closing:
                member._takeTurn()
        if waiting and self._roundCall is None:
            self._roundCall = self._reactor.callLater(0, self._nextRound)
