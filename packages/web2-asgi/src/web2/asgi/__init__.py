"""
web2-asgi: run ASGI 3 applications (Starlette, FastAPI, Django, Quart, or a
plain coroutine) in a web2 site: the C{http}, C{websocket} and C{lifespan}
scopes.

    from web2.asgi import ASGIResource
    root = ASGIResource(app)                # or mount it at any path

From the command line (C{python -m web2} runs ASGI sites on Twisted's
asyncio reactor; under C{twistd}, add C{--reactor=asyncio})::

    python -m web2 --asgi myproject.asgi:application
    twistd -n --reactor=asyncio web2 --mount /api=asgi:api:app
"""

from web2.asgi._version import __version__
from web2.asgi.cycle import ASGIProtocolError, ClientDisconnected
from web2.asgi.lifespan import Lifespan
from web2.asgi.resource import ASGIResource

__all__ = [
    "__version__",
    "ASGIProtocolError",
    "ASGIResource",
    "ClientDisconnected",
    "Lifespan",
]
