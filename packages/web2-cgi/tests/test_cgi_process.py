"""
Unit tests for one script run (L{web2.cgi._process.ScriptRun}) against a
fake process transport and a Clock: output backpressure, the client
leaving, the timeout, and the declared Content-Length.
"""

from __future__ import annotations

from twisted.internet import error, task
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from web2 import http
from web2.cgi._process import ScriptRun
from web2.stream import MemoryStream


class FakeProcess:
    def __init__(self):
        self.paused = 0
        self.resumed = 0
        self.signals = []
        self.stdinClosed = False
        self.lost = False

    def pauseProducing(self):
        self.paused += 1

    def resumeProducing(self):
        self.resumed += 1

    def signalProcess(self, name):
        self.signals.append(name)

    def closeStdin(self):
        self.stdinClosed = True

    def loseConnection(self):
        self.lost = True


class Request:
    stream = MemoryStream(b"")


class ScriptRunTests(SynchronousTestCase):
    def start(self, timeout=10.0):
        self.clock = task.Clock()
        run = ScriptRun("test.cgi", "/bin/true", [b"true"], {}, "/", Request(),
                        timeout=timeout, maxHeadBytes=1024, nph=False,
                        onLocalRedirect=None, reactor=self.clock)
        self.responses = []
        run.done.addCallback(self.responses.append)
        self.process = FakeProcess()
        run.makeConnection(self.process)
        return run

    def test_outputBackpressureAndClientLeaving(self):
        run = self.start()
        self.assertTrue(self.process.stdinClosed)
        run.outReceived(b"Content-Type: a/b\n\n")
        [response] = self.responses
        for _ in range(10):
            run.outReceived(b"x" * 65536)
        self.assertEqual(self.process.paused, 1)
        while response.stream.buffered > response.stream.bufferLimit // 2:
            response.stream.read()
        self.assertEqual(self.process.resumed, 1)
        response.stream.close()  # the client went away
        self.assertEqual(self.process.signals, ["TERM"])
        self.clock.advance(run.killGrace)
        self.assertEqual(self.process.signals, ["TERM", "KILL"])
        run.processEnded(Failure(error.ProcessTerminated(signal=9)))

    def test_timeoutBeforeHead(self):
        run = self.start(timeout=3)
        run.outReceived(b"Content-Type: a/")
        self.clock.advance(3)
        [response] = self.responses
        self.assertEqual(response.code, 502)
        self.assertEqual(self.process.signals, ["TERM"])
        run.processEnded(Failure(error.ProcessTerminated(signal=15)))
        self.assertFalse(self.clock.getDelayedCalls())

    def test_silenceAfterHeadAbortsTheBody(self):
        run = self.start(timeout=3)
        run.outReceived(b"Content-Type: a/b\n\npart")
        [response] = self.responses
        self.clock.advance(3)
        self.assertEqual(self.process.signals, ["TERM"])
        run.childConnectionLost(1)
        self.assertEqual(response.stream.read(), b"part")
        failures = []
        response.stream.read().addErrback(failures.append)
        self.assertEqual(len(failures), 1)
        run.processEnded(Failure(error.ProcessTerminated(signal=15)))

    def test_shortBodyFails(self):
        run = self.start()
        run.outReceived(b"Content-Length: 10\n\n12345")
        [response] = self.responses
        self.assertEqual(response.stream.length, 10)
        run.childConnectionLost(1)
        self.assertEqual(response.stream.read(), b"12345")
        failures = []
        response.stream.read().addErrback(failures.append)
        self.assertEqual(len(failures), 1)
        run.processEnded(Failure(error.ProcessDone(0)))

    def test_nothingWritten(self):
        run = self.start()
        run.childConnectionLost(1)
        run.processEnded(Failure(error.ProcessTerminated(exitCode=2)))
        [response] = self.responses
        self.assertIsInstance(response, http.StatusResponse)
        self.assertEqual(response.code, 502)

    def test_clientGoneBeforeHead(self):
        """
        The request's connection is lost before the script's head: the
        script is stopped (TERM, KILL after the grace), and when it has
        ended the request gets a 503 that nobody reads, with no error
        logged (the script did not fail).
        """
        from twisted.logger import LogLevel, globalLogPublisher

        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        lost = []
        request = Request()
        request.connectionLost = lost.append
        run = self.start()
        run.request = request
        run._watchClient()
        run.outReceived(b"Content-Type: a/")
        request.connectionLost(Failure(error.ConnectionLost()))
        self.assertEqual(len(lost), 1)
        self.assertEqual(self.process.signals, ["TERM"])
        self.assertTrue(self.process.lost)
        self.assertEqual(self.responses, [])
        run.processEnded(Failure(error.ProcessTerminated(signal=15)))
        [response] = self.responses
        self.assertEqual(response.code, 503)
        self.assertFalse([e for e in events if e.get("log_level") in (LogLevel.error,
                                                                     LogLevel.warn)])

    def test_clientGoneAfterHeadLeavesItToTheBody(self):
        """
        After the head, the lost connection is the body stream's business
        (its consumer stops it): the request's notice changes nothing.
        """
        request = Request()
        request.connectionLost = lambda reason: None
        run = self.start()
        run.request = request
        run._watchClient()
        run.outReceived(b"Content-Type: a/b\n\n")
        request.connectionLost(Failure(error.ConnectionLost()))
        self.assertEqual(self.process.signals, [])
        run.processEnded(Failure(error.ProcessDone(0)))
