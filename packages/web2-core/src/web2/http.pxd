# The compiled build's declarations for http.py (an "augmenting" .pxd, read
# by Cython beside the .py; the pure-Python build never sees it).  Request
# becomes an extension type whose per-request attributes are C fields: its
# methods and those of server.Request touch them some sixty times per
# request, and compiled code looks an attribute up by name each time (no
# inline caches, unlike the interpreter).  It keeps a __dict__ (applications
# and subclasses set attributes of their own on requests) and weak
# references (web2-static holds them).  The fields are exactly the class's
# __slots__; keep the two lists the same.

cdef class Request:
    cdef public object chanRequest
    cdef public object method
    cdef public object uri
    cdef public object clientproto
    cdef public object headers
    cdef public object stream
    cdef public object response
    cdef public bint startedWriting
    cdef dict __dict__
    cdef object __weakref__
