"""
Tests of the eager start of an application's task (Python 3.12 and later):
an application that answers without waiting for anything has answered
when the site's call of the resource returns, as a native resource has,
and it runs as a real asyncio task all the same.
"""

from __future__ import annotations

import asyncio

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase

from web2 import testing
from web2.asgi import ASGIResource
from web2.asgi._loop import EAGER_TASKS, AsyncioRunner


class _LoopClock(task.Clock):
    """
    A clock for the timers, with the asyncio loop an asyncio reactor has.
    """

    def __init__(self, loop):
        super().__init__()
        self._asyncioEventloop = loop


class EagerStartTests(SynchronousTestCase):

    def setUp(self):
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)

    def inLoop(self, function):
        """
        Call C{function} from inside the running loop (an eager start
        needs one) and give its result.
        """

        async def call():
            return function()

        return self.loop.run_until_complete(call())

    def test_runnerStartsEagerly(self):
        """
        C{start(eager=True)} runs the coroutine to its first suspension
        inside the call, as a task; C{eager=False} in the next turn.
        """
        if not EAGER_TASKS:
            raise self.skipTest("eager tasks need Python 3.12")
        runner = AsyncioRunner(self.loop)
        seen = []

        async def app():
            seen.append(asyncio.current_task())

        def start(eager):
            handle = runner.start(app(), seen.append, eager=eager)
            return handle, list(seen)

        handle, atReturn = self.inLoop(lambda: start(True))
        self.assertEqual(atReturn, [handle, None])
        del seen[:]
        handle, atReturn = self.inLoop(lambda: start(False))
        self.assertEqual(atReturn, [])
        self.assertEqual(seen, [handle, None])

    def test_responseBeforeTheCallReturns(self):
        """
        A request to an application that answers at once is answered when
        the channel's handling of its bytes returns, and the application
        saw itself running in an asyncio task (anyio and sniffio need
        one).
        """
        if not EAGER_TASKS:
            raise self.skipTest("eager tasks need Python 3.12")
        tasks = []

        async def app(scope, receive, send):
            tasks.append(asyncio.current_task())
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"at once"})

        clock = _LoopClock(self.loop)
        resource = ASGIResource(app, reactor=clock)
        conn = testing.ChannelConnection(resource, clock=clock)

        def request():
            conn.sendRequest("/")
            return conn.output()

        output = self.inLoop(request)
        self.assertTrue(output.startswith(b"HTTP/1.1 200 "), output)
        self.assertTrue(output.endswith(b"\r\n\r\nat once"), output)
        [current] = tasks
        self.assertIsInstance(current, asyncio.Task)
        self.assertTrue(current.done())
        self.assertEqual(resource._waiting, {})

    def test_waitingApplicationStillAnswers(self):
        """
        An application that waits before answering is answered after the
        wait, from its task, as without an eager start.
        """
        gate = []

        async def app(scope, receive, send):
            future = asyncio.get_running_loop().create_future()
            gate.append(future)
            await future
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"later"})

        clock = _LoopClock(self.loop)
        conn = testing.ChannelConnection(ASGIResource(app, reactor=clock), clock=clock)

        async def exchange():
            conn.sendRequest("/")
            await asyncio.sleep(0)
            before = conn.output()
            gate[0].set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
            return before, conn.output()

        before, after = self.loop.run_until_complete(exchange())
        self.assertEqual(before, b"")
        self.assertTrue(after.endswith(b"\r\n\r\nlater"), after)
