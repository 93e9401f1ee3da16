# The compiled build's declarations for server.py (an "augmenting" .pxd; see
# http.pxd): Request, an extension type extending http.Request's, with the
# fields traversal and rendering use on every request.  The fields are
# exactly the class's __slots__; keep the two lists the same.

# (The base is cimported by name, and server.py names it the same way: Cython
# cannot cimport the namespace package web2 itself.)
from web2.http cimport Request as _MessageRequest


cdef class Request(_MessageRequest):
    cdef public object site
    cdef public object responseFilters
    cdef public object resources
    cdef public object _depths
    cdef public object prepath
    cdef public object postpath
    cdef public object startTime
    cdef public object path
    cdef public object querystring
    cdef public object host
    cdef public object port
