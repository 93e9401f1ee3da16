"""
An ASGI application whose lifespan startup never answers, for the
launcher tests.
"""

import asyncio


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await asyncio.Event().wait()
