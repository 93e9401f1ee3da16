"""
web2-wsgi: run PEP 3333 (WSGI) applications in a web2 site.

    from web2.wsgi import WSGIResource
    root = WSGIResource(app)                # or mount it at any path

Each request runs the application in a bounded thread pool of its own
(L{WSGIThreadPool}); a full pool answers 503.  From the command line::

    twistd -n web2 --wsgi myproject.wsgi:application
    python -m web2 --mount /app=wsgi:myproject.wsgi:application
"""

from web2.wsgi._version import __version__
from web2.wsgi.errorstream import ErrorStream
from web2.wsgi.input import ClientDisconnected, InputStream
from web2.wsgi.job import ApplicationFailed
from web2.wsgi.pool import WSGIThreadPool
from web2.wsgi.resource import WSGIResource
from web2.wsgi.response import FileWrapper, WSGIResponse, WSGIResponseError

__all__ = [
    "__version__",
    "ApplicationFailed",
    "ClientDisconnected",
    "ErrorStream",
    "FileWrapper",
    "InputStream",
    "WSGIResource",
    "WSGIResponse",
    "WSGIResponseError",
    "WSGIThreadPool",
]
