"""
Tests for L{web2.stream.ProcessStreamer}, with real child processes on the
real reactor.
"""

import os

from test_stream import ChunkStream, ManualStream
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ProcessTerminated
from twisted.trial.unittest import TestCase

from web2 import stream

CAT = "/bin/cat"
SH = "/bin/sh"


def later(result, delay=0.01):
    """
    A Deferred that fires with C{result} after C{delay} seconds.
    """
    d = Deferred()
    reactor.callLater(delay, d.callback, result)
    return d


class ProcessStreamerTests(TestCase):
    """
    L{stream.ProcessStreamer}.
    """

    timeout = 20

    def setUp(self):
        for path in (CAT, SH):
            if not os.access(path, os.X_OK):
                self.skipTest(f"{path} is not available")

    @inlineCallbacks
    def test_catEchoesInput(self):
        """
        The input stream reaches the child's stdin and its stdout comes
        back as C{outStream}; exit status 0 fires C{run()} with C{None}.
        """
        data = os.urandom(300000)
        p = stream.ProcessStreamer(stream.MemoryStream(data), CAT, [CAT])
        done = p.run()
        out = yield stream.readAll(p.outStream)
        err = yield stream.readAll(p.errStream)
        result = yield done
        self.assertIsNone(result)
        self.assertEqual(out, data)
        self.assertEqual(err, b"")

    @inlineCallbacks
    def test_stderrAndEnvironment(self):
        """
        stderr is its own stream; the environment is exactly the one given
        (none of ours by default).
        """
        script = 'echo "out:$GREETING"; echo "err:${HOME:-unset}" >&2'
        p = stream.ProcessStreamer(
            None, SH, [SH, "-c", script], env={"GREETING": "hi"}
        )
        done = p.run()
        out = yield stream.readAll(p.outStream)
        err = yield stream.readAll(p.errStream)
        yield done
        self.assertEqual(out, b"out:hi\n")
        self.assertEqual(err, b"err:unset\n")

    @inlineCallbacks
    def test_badExit(self):
        """
        A non-zero exit fails C{run()} with L{ProcessTerminated}, after the
        output streams are finished.
        """
        p = stream.ProcessStreamer(None, SH, [SH, "-c", "echo partial; exit 3"])
        done = p.run()
        out = yield stream.readAll(p.outStream)
        self.assertEqual(out, b"partial\n")
        f = yield self.assertFailure(done, ProcessTerminated)
        self.assertEqual(f.exitCode, 3)

    @inlineCallbacks
    def test_slowInput(self):
        """
        Input that arrives in pieces, later, is written as it arrives.
        """
        source = ManualStream()
        p = stream.ProcessStreamer(source, CAT, [CAT])
        done = p.run()
        yield later(None)
        for piece in (b"one ", b"two ", None):
            self.assertIsNotNone(source.pending)
            source.deliver(piece)
            yield later(None)
        out = yield stream.readAll(p.outStream)
        yield done
        self.assertEqual(out, b"one two ")

    @inlineCallbacks
    def test_inputError(self):
        """
        An error of the input stream kills the child and fails C{run()}
        with that error.
        """
        source = ChunkStream([b"abc", ValueError("bad upload")])
        p = stream.ProcessStreamer(source, CAT, [CAT])
        yield self.assertFailure(p.run(), ValueError)

    @inlineCallbacks
    def test_childClosesItsInput(self):
        """
        A child that exits without reading its input is no error: its exit
        status decides, and the input stream is closed.
        """
        source = ChunkStream([b"x" * 65536] * 64)
        p = stream.ProcessStreamer(source, SH, [SH, "-c", "exec 0<&-; echo done"])
        done = p.run()
        out = yield stream.readAll(p.outStream)
        yield done
        self.assertEqual(out, b"done\n")
        self.assertTrue(source.closed)

    @inlineCallbacks
    def test_outputBackpressure(self):
        """
        While nobody reads the output, the child is paused once the output
        buffer passes its limit, instead of being read into memory.
        """
        p = stream.ProcessStreamer(
            None, SH, [SH, "-c", "head -c 4000000 /dev/zero"]
        )
        p.outStream.bufferLimit = 65536
        done = p.run()
        for _ in range(20):
            yield later(None, 0.02)
        self.assertLess(p.outStream.buffered, 1000000)
        out = yield stream.readAll(p.outStream)
        yield done
        self.assertEqual(len(out), 4000000)
