# The compiled build's declarations for http_headers.py (an "augmenting"
# .pxd, read by Cython beside the .py; the pure-Python build never sees it).
# Headers becomes an extension type whose attributes are C fields: its
# methods touch them some forty times per response, and compiled code looks
# a slot up by name each time (the interpreter has inline caches for that;
# Cython's generic attribute access does not).  The fields are exactly the
# class's __slots__; keep the two lists the same.  Special methods must be
# defined with def in the class (an alias such as __contains__ = hasHeader
# would not fill the extension type's slot).

cdef class Headers:
    cdef public object _wire
    cdef public object _raw
    cdef public object _parsed
    cdef public object handler
    cdef public bint _immutable
