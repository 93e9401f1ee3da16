"""
Sample ASGI applications for the plugin tests.
"""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = f"sample {scope['root_path']}|{scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def create_app():
    return app


class Holder:
    app = app


notCallable = 42
