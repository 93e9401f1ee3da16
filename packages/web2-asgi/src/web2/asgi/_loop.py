# -*- test-case-name: test_asgi_loop -*-
"""
How an ASGI application's coroutines run on the reactor.

Two runners, one interface:

  - L{AsyncioRunner}: each call of the application is an C{asyncio} task
    on the event loop under Twisted's asyncio reactor
    (L{twisted.internet.asyncioreactor}).  Everything an ASGI framework may
    use works: asyncio's own primitives, anyio (Starlette, FastAPI),
    asgiref's thread hops (Django).  This is the default and the only
    runner C{python -m web2} picks for an C{asgi:} mount.
  - L{TwistedRunner}: the coroutine is driven by Twisted itself
    (L{Deferred.fromCoroutine}) on any reactor, web2's epoll reactor
    included.  Only an application that awaits nothing but what the
    container gives it (C{receive}, C{send}) and Deferreds runs there;
    anything of asyncio's raises at once.  It is there for such plain
    applications, and was measured against the other (see the README).

A runner makes the futures the container's C{receive} and C{send} wait on
(L{future}), turns a Deferred into something the coroutine can await
(L{wait}), starts a coroutine (L{start}) and cancels it (L{cancel}).
"""

from __future__ import annotations

import asyncio

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

__all__ = ["AsyncioRunner", "TwistedRunner", "asyncioLoopOf", "runnerFor"]


def asyncioLoopOf(reactor):
    """
    The asyncio event loop C{reactor} runs on, or C{None} when it is not an
    asyncio reactor.
    """
    return getattr(reactor, "_asyncioEventloop", None)


class _DeferredFuture:
    """
    A future of the Twisted runner: a Deferred with the two methods of
    C{asyncio.Future} the container uses.
    """

    __slots__ = ("deferred", "_done")

    def __init__(self):
        self.deferred = Deferred()
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, value) -> None:
        self._done = True
        self.deferred.callback(value)

    def set_exception(self, exception) -> None:
        self._done = True
        self.deferred.errback(Failure(exception))

    def __await__(self):
        return self.deferred.__await__()


async def _guarded(coroutine, done):
    """
    Await C{coroutine} and tell C{done} how it ended.
    """
    try:
        await coroutine
    except (Exception, asyncio.CancelledError) as e:
        done(e)
    except BaseException as e:
        done(e)
        raise
    else:
        done(None)


class AsyncioRunner:
    """
    Runs coroutines as tasks of an asyncio event loop.

    @ivar loop: the event loop.
    """

    name = "asyncio"

    def __init__(self, loop):
        self.loop = loop

    def future(self):
        return self.loop.create_future()

    def wait(self, deferred):
        """
        Something to await for the result of C{deferred}.

        Cancelling the waiting task leaves C{deferred} alone (a stream's
        pending read must not be cancelled under it).
        """
        future = self.loop.create_future()

        def ok(result):
            if not future.done():
                future.set_result(result)

        def failed(failure):
            if not future.done():
                future.set_exception(failure.value)

        deferred.addCallbacks(ok, failed)
        return future

    def start(self, coroutine, done):
        """
        Run C{coroutine}; call C{done(exception)} when it ends (C{None} for
        a normal return).

        @return: the handle L{cancel} takes.
        """
        # The outcome is reported from inside the task (not by a done
        # callback, which would cost another turn of the loop).
        return self.loop.create_task(_guarded(coroutine, done))

    def cancel(self, task) -> None:
        task.cancel()

    def runUntilComplete(self, awaitable):
        """
        Run the loop until C{awaitable} is done, when the loop is not
        running yet (at startup, before the reactor runs).

        @return: C{False} when the loop is already running (the caller
            waits the ordinary way).
        """
        if self.loop.is_running():
            return False
        self.loop.run_until_complete(awaitable)
        return True


class TwistedRunner:
    """
    Runs coroutines with L{Deferred.fromCoroutine}, on any reactor.
    """

    name = "twisted"

    def future(self):
        return _DeferredFuture()

    def wait(self, deferred):
        waiting = Deferred()

        def ok(result):
            if not waiting.called:
                waiting.callback(result)

        def failed(failure):
            if not waiting.called:
                waiting.errback(failure)

        deferred.addCallbacks(ok, failed)
        return waiting

    def start(self, coroutine, done):
        deferred = Deferred.fromCoroutine(coroutine)
        deferred.addCallbacks(lambda _: done(None), lambda f: done(f.value))
        return deferred

    def cancel(self, deferred) -> None:
        deferred.cancel()

    def runUntilComplete(self, awaitable):
        return False


def runnerFor(reactor, loop: str | None = None):
    """
    The runner for C{reactor}.

    @param loop: C{"asyncio"}, C{"twisted"}, or C{None} for asyncio's when
        the reactor is an asyncio reactor.
    @raise ValueError: C{"asyncio"} was asked for (or implied) on a reactor
        that is not one; the message says how to get it.
    """
    asyncioLoop = asyncioLoopOf(reactor)
    if loop == "twisted":
        return TwistedRunner()
    if loop not in (None, "asyncio"):
        raise ValueError(f"unknown ASGI loop {loop!r} (asyncio or twisted)")
    if asyncioLoop is None:
        raise ValueError(
            f"ASGI applications run on the asyncio reactor, and this process runs "
            f"{type(reactor).__name__}: give twistd --reactor=asyncio (python -m web2 "
            f"picks it by itself unless its --reactor names another), or --asgi-loop "
            f"twisted for an application that uses nothing of asyncio")
    return AsyncioRunner(asyncioLoop)
