# -*- test-case-name: test_stream_process -*-
"""
L{ProcessStreamer}: run a child process with a stream as its standard
input and streams of its standard output and error, with backpressure in
both directions.
"""

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost, ProcessDone
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ProcessProtocol
from zope.interface import implementer

from web2._stream_producer import ProducerStream, StreamProducer


@implementer(IPushProducer)
class _PipeValve:
    """
    The producer that one output stream of the child sees.  The child's
    pipes are read together, so the process is paused while either output
    stream is full, and resumed only when neither is.
    """

    def __init__(self, streamer):
        self._streamer = streamer
        self.paused = False

    def pauseProducing(self):
        self.paused = True
        self._streamer._valvesChanged()

    def resumeProducing(self):
        self.paused = False
        self._streamer._valvesChanged()

    def stopProducing(self):
        # The reader closed this output: what the child still writes there
        # is discarded (ProducerStream ignores writes once closed), and the
        # child must not be held up by it.
        self.resumeProducing()


class _StreamerProtocol(ProcessProtocol):
    def __init__(self, streamer):
        self.streamer = streamer

    def connectionMade(self):
        self.streamer._started(self.transport)

    def outReceived(self, data):
        self.streamer.outStream.write(data)

    def errReceived(self, data):
        self.streamer.errStream.write(data)

    def processEnded(self, reason):
        self.streamer._ended(reason)


class ProcessStreamer:
    """
    Run C{program} with C{inputStream} written to its standard input, and
    its standard output and error readable as streams.

    @ivar outStream: a L{ProducerStream} of the child's standard output.
    @ivar errStream: a L{ProducerStream} of the child's standard error.
    """

    def __init__(self, inputStream, program, args, env=None, reactor=None, path=None):
        """
        @param inputStream: the stream for the child's stdin, or C{None}
            for an empty stdin.
        @param program: the executable's path.
        @param args: the whole argument vector, C{args[0]} included.
        @param env: the child's environment; C{None} means an empty one
            (nothing of the server's environment leaks to the child).
        @param reactor: the reactor that spawns the process (default: the
            global one).
        @param path: the child's working directory (default: ours).
        """
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._inputStream = inputStream
        self._program = program
        self._args = args
        self._env = {} if env is None else env
        self._path = path
        self.outStream = ProducerStream()
        self.errStream = ProducerStream()
        self._valves = (_PipeValve(self), _PipeValve(self))
        self._transport = None
        self._processPaused = False
        self._inputFailure = None
        self._done = None

    def run(self):
        """
        Start the process.

        @return: a Deferred firing C{None} when the process exits with
            status 0 (its output streams are then finished), or failing
            with L{twisted.internet.error.ProcessTerminated} otherwise, or
            with the input stream's error (the child is then killed).
        """
        self._done = Deferred()
        self.outStream.registerProducer(self._valves[0], True)
        self.errStream.registerProducer(self._valves[1], True)
        self._reactor.spawnProcess(
            _StreamerProtocol(self), self._program, self._args,
            env=self._env, path=self._path,
        )
        return self._done

    def _started(self, transport):
        self._transport = transport
        self._valvesChanged()
        if self._inputStream is None:
            transport.closeStdin()
            return
        d = StreamProducer(self._inputStream).beginProducing(transport)
        d.addCallbacks(self._inputDone, self._inputFailed)

    def _inputDone(self, _):
        self._transport.closeStdin()

    def _inputFailed(self, failure):
        if failure.check(ConnectionLost, ConnectionDone):
            # The child closed its stdin before reading it all: that is
            # its business, its exit status tells the outcome.
            return
        self._inputFailure = failure
        self._transport.closeStdin()
        try:
            self._transport.signalProcess("KILL")
        except Exception:
            pass

    def _valvesChanged(self):
        transport = self._transport
        if transport is None:
            return
        paused = any(valve.paused for valve in self._valves)
        if paused and not self._processPaused:
            self._processPaused = True
            transport.pauseProducing()
        elif not paused and self._processPaused:
            self._processPaused = False
            transport.resumeProducing()

    def _ended(self, reason):
        self._transport = None
        for out in (self.outStream, self.errStream):
            out.unregisterProducer()
            out.finish()
        done, self._done = self._done, None
        if self._inputFailure is not None:
            done.errback(self._inputFailure)
        elif reason.check(ProcessDone):
            done.callback(None)
        else:
            done.errback(reason)

