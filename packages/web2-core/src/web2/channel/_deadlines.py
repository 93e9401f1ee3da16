# -*- test-case-name: test_channel_deadlines -*-
"""
Coarse deadlines shared by many connections.

Every connection has a deadline (the head must arrive, an idle keep-alive
ends, a stalled body is cut off), and nearly every connection ends long
before it: a DelayedCall made and cancelled per connection is work thrown
away, measured at a few percent of a C{Connection: close} request.  Here
the deadlines falling in the same I{slot} of L{RESOLUTION} seconds share
one DelayedCall; joining and leaving a slot are dictionary operations.

A slot fires at its end: a deadline is met at most L{RESOLUTION} seconds
late, never early.  The resolution is a power of two, so slot times are
exact in floating point and a deadline on a slot boundary fires exactly
then (what tests on L{twisted.internet.task.Clock} expect).
"""

from __future__ import annotations

import math

from twisted.logger import Logger

log = Logger(namespace=__name__)

__all__ = ["RESOLUTION", "Deadlines"]

#: Seconds per slot.
RESOLUTION = 0.25


class Deadlines:
    """
    The slots of one reactor (an L{HTTPFactory} shares one among its
    connections).  A member is any object with a C{deadlineReached()}
    method; each is in at most one slot, which its owner keeps as the
    handle L{add} returns.
    """

    def __init__(self, reactor):
        self._reactor = reactor
        # slot number -> (DelayedCall, {member: None}); the dict keeps
        # members in the order they joined.
        self._slots: dict[int, tuple] = {}

    def add(self, member, when: float, now: float):
        """
        Call C{member.deadlineReached()} at the end of the slot holding
        C{when}; C{now} is the reactor's time.  A deadline reached already
        is met at the end of the next slot (so a member re-added while its
        slot fires never joins it again: that slot's end is not after now).

        @return: the slot, for L{remove} and L{fireTime}; C{None}, and
            nothing scheduled, for a deadline that never comes (an infinite
            timeout, or one so far off that its slot has no number).
        """
        if not math.isfinite(when / RESOLUTION):
            return None
        slot = -int(-when // RESOLUTION)
        if slot * RESOLUTION <= now:
            slot = int(now // RESOLUTION) + 1
        entry = self._slots.get(slot)
        if entry is None:
            call = self._reactor.callLater(slot * RESOLUTION - now, self._fire, slot)
            entry = self._slots[slot] = (call, {})
        entry[1][member] = None
        return slot

    def remove(self, member, slot: int) -> None:
        """
        Take C{member} out of C{slot}; the slot's DelayedCall goes with its
        last member.
        """
        entry = self._slots.get(slot)
        if entry is None:
            return
        members = entry[1]
        members.pop(member, None)
        if not members:
            del self._slots[slot]
            call = entry[0]
            if call.active():
                call.cancel()

    @staticmethod
    def fireTime(slot: int) -> float:
        """
        When C{slot} fires, in reactor seconds.
        """
        return slot * RESOLUTION

    def _fire(self, slot: int) -> None:
        entry = self._slots.get(slot)
        if entry is None:
            return
        members = entry[1]
        try:
            # One at a time: a member's deadline may end other members of
            # the slot (they leave it through remove()).
            while members:
                member = next(iter(members))
                del members[member]
                try:
                    member.deadlineReached()
                except Exception:
                    log.failure("A connection's timeout failed")
        finally:
            if self._slots.get(slot) is entry:
                del self._slots[slot]
