# The compiled build's declarations for _reader.py (an "augmenting" .pxd:
# Cython reads it beside the .py when it compiles the module; the pure-Python
# build never sees it).  RequestReader becomes an extension type whose
# attributes are C fields, not slots looked up by name: the reader touches
# them some fifty times per request, and the generic attribute lookup of
# compiled code (no inline caches, unlike the interpreter's) made them about
# a third of the reader's time.  The fields are exactly the class's
# __slots__; keep the two lists the same.

cdef class RequestReader:
    cdef public object _limits
    cdef public object _buf
    cdef public Py_ssize_t _pos
    cdef public Py_ssize_t _scan
    cdef public int _state
    cdef public object _body
    cdef public bint _eof
    cdef public object _error
    cdef public bint _discard
    cdef public bint _keep_alive
    cdef public int _empty_lines
    cdef public bint _line_checked
