# The compiled build's declarations for _request.py (an "augmenting" .pxd,
# read by Cython beside the .py; the pure-Python build never sees it).
# HTTPChannelRequest becomes an extension type whose attributes are C fields:
# its methods touch them some forty times per request, and compiled code
# looks a slot up by name each time (Cython's generic attribute access has
# no inline cache, unlike the interpreter).  The fields are exactly the
# class's __slots__; keep the two lists the same.

cdef class HTTPChannelRequest:
    cdef public object channel
    cdef public object head
    cdef public object request
    cdef public bint persistent
    cdef public bint continueExpected
    cdef public bint bodyComplete
    cdef public bint headersWritten
    cdef public bint finished
    cdef public bint superseded
    cdef public bint completed
    cdef public object bytesSent
    cdef public object _framing
    cdef public object _pendingHead
    cdef public object _continueHead
