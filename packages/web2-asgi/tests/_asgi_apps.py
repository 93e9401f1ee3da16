"""
Real applications for web2-asgi's tests: a Starlette one and a FastAPI
one, each with a page, a streamed response, a file upload, a WebSocket
route and a lifespan that records its startup and shutdown (in C{EVENTS})
and puts a value in the lifespan state.
"""

import asyncio
import contextlib
import hashlib

#: What the lifespans did, in order: ("starlette", "startup"), ...
EVENTS: list[tuple[str, str]] = []


def starletteApp():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute

    @contextlib.asynccontextmanager
    async def lifespan(app):
        EVENTS.append(("starlette", "startup"))
        await asyncio.sleep(0)
        yield {"greeting": "hello from the lifespan"}
        EVENTS.append(("starlette", "shutdown"))

    async def home(request):
        return JSONResponse({
            "greeting": request.state.greeting,
            "path": request.url.path,
            "root_path": request.scope["root_path"],
            "url": str(request.url),
            "client": request.client.host,
        })

    async def stream(request):
        count = int(request.query_params.get("n", "5"))
        size = int(request.query_params.get("size", "10"))

        async def chunks():
            for i in range(count):
                await asyncio.sleep(0)
                yield b"%d" % (i % 10) * size

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def upload(request):
        form = await request.form()
        upload = form["file"]
        data = await upload.read()
        return JSONResponse({"name": upload.filename, "size": len(data),
                             "sha256": hashlib.sha256(data).hexdigest(),
                             "note": form.get("note")})

    async def echo(websocket):
        await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                EVENTS.append(("starlette", f"ws-disconnect {message.get('code')}"))
                return
            if message.get("text") == "close":
                await websocket.close(code=4001, reason="asked to")
                return
            if message.get("text") is not None:
                await websocket.send_text("echo " + message["text"])
            else:
                await websocket.send_bytes(message["bytes"][::-1])

    async def slow(request):
        await asyncio.sleep(0.05)
        return PlainTextResponse("slow")

    return Starlette(routes=[
        Route("/", home),
        Route("/stream", stream),
        Route("/upload", upload, methods=["POST"]),
        Route("/slow", slow),
        WebSocketRoute("/ws", echo),
    ], lifespan=lifespan)


def fastapiApp():
    from fastapi import (
        FastAPI,
        File,
        Form,
        Request,
        UploadFile,
        WebSocket,
        WebSocketDisconnect,
    )
    from fastapi.responses import StreamingResponse

    @contextlib.asynccontextmanager
    async def lifespan(app):
        EVENTS.append(("fastapi", "startup"))
        yield {"answer": 42}
        EVENTS.append(("fastapi", "shutdown"))

    app = FastAPI(lifespan=lifespan)

    @app.get("/items/{item}")
    async def item(item: int, q: str | None = None):
        return {"item": item, "q": q}

    @app.get("/state")
    def state(request: Request):
        # A plain def: FastAPI runs it in a worker thread (anyio).
        return {"answer": request.state.answer}

    @app.get("/stream")
    async def stream(n: int = 3):
        async def lines():
            for i in range(n):
                yield f"line {i}\n"

        return StreamingResponse(lines(), media_type="text/plain")

    @app.post("/upload")
    async def upload(file: UploadFile = File(...), note: str = Form("")):  # noqa: B008
        data = await file.read()
        return {"name": file.filename, "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "note": note}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_json()
                await websocket.send_json({"got": data})
        except WebSocketDisconnect as e:
            EVENTS.append(("fastapi", f"ws-disconnect {e.code}"))

    return app
