# The compiled build's declarations for http.py (an "augmenting" .pxd, read
# by Cython beside the .py; the pure-Python build never sees it).
# HTTPChannel becomes an extension type whose per-connection state is C
# fields: its methods touch that state some sixty times a request, and
# compiled code looks an attribute up by name each time (no inline caches,
# unlike the interpreter).  It keeps a __dict__ (the factory's settings are
# class attributes of a subclass; tests and subclasses set attributes of
# their own) and weak references.  The fields are exactly the class's
# __slots__; keep the two lists the same.

cdef class HTTPChannel:
    cdef public object transport
    cdef public object connected
    cdef public object draining
    cdef public object _answered
    cdef public object _current
    cdef public object _slot
    cdef public object _abortCall
    cdef public object _waitingTurn
    cdef public object _freeRound
    cdef public object _reader
    cdef public object _outgoing
    cdef public object _outgoingSize
    cdef public object _sendAfterPoll
    cdef public object _waitingForPollEnd
    cdef public object _outputQueued
    cdef public object _sendHeld
    cdef public object _sendHeldUnsent
    cdef public object _drainWatch
    cdef public object _sink
    cdef public object _phase
    cdef public object _phaseStart
    cdef public object _bodyWaitStart
    cdef public object _paused
    cdef public object _bodyPaused
    cdef public object _inLoop
    cdef public object _closeAfterLoop
    cdef public object _fromReactor
    cdef public object _discardBody
    cdef public object _drained
    cdef public object _bodyReceived
    cdef public object _bodyWaited
    cdef public object _closing
    cdef public object _readClosed
    cdef public object _hostInfo
    cdef public object _peer
    cdef public object _secure
    cdef dict __dict__
    cdef object __weakref__
