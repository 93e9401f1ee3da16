"""
A chat room: one page, and a WebSocket that every open page joins.

Run it from this directory (web2-core with its C{websocket} extra)::

    python -m web2 --mount /=class:chat.ChatRoot

and open http://localhost:8080/ in two browser windows.  What one types,
every one sees.

What it shows of L{web2.websocket}:

  - an C{async def} handler that accepts the handshake and loops on the
    messages with C{async for};
  - an origin policy (L{sameOrigin}): a page of another site cannot join
    the room with the visitor's cookies (403);
  - backpressure in a broadcast: a member whose sends pile up (a client
    that stopped reading) is closed with 1008 instead of holding the room
    or the server's memory;
  - limits: a message over 4 KiB closes its sender's connection with 1009.
"""

from __future__ import annotations

import json

from web2 import http, resource
from web2.http_headers import MimeType
from web2.websocket import CloseCode, WebSocketResource, sameOrigin

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>web2 chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font-family: sans-serif; max-width: 40em; margin: 1em auto; padding: 0 1em; }
 #log { border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }
 #log p { margin: .2em 0; } .note { color: #777; font-style: italic; }
 form { display: flex; gap: .5em; margin-top: .5em; } #text { flex: 1; }
</style></head>
<body>
<h1>web2 chat</h1>
<p id="status">connecting...</p>
<div id="log"></div>
<form id="form"><input id="name" size="8" value="guest" aria-label="name">
<input id="text" autocomplete="off" aria-label="message" autofocus>
<button>Send</button></form>
<script>
const log = document.getElementById("log");
function show(line, note) {
  const p = document.createElement("p");
  p.textContent = line;           // text, never markup
  if (note) p.className = "note";
  log.appendChild(p);
  log.scrollTop = log.scrollHeight;
}
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
const ws = new WebSocket(url);
ws.onopen = () => { document.getElementById("status").textContent = "connected"; };
ws.onclose = (e) => {
  document.getElementById("status").textContent = "disconnected (" + e.code + ")";
};
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.kind === "note") show(m.text, true); else show(m.name + ": " + m.text);
};
document.getElementById("form").onsubmit = (e) => {
  e.preventDefault();
  const text = document.getElementById("text");
  if (text.value && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({name: document.getElementById("name").value, text: text.value}));
    text.value = "";
  }
};
</script>
</body></html>
"""


class Room:
    """
    The members of the chat and what is said to them.

    @ivar members: each member's L{WebSocket} and the number of its sends
        still waiting for the client to read.
    """

    #: A member with more messages than this waiting for it is dropped.
    maxPending = 64

    def __init__(self):
        self.members: dict = {}

    def broadcast(self, message: dict) -> None:
        data = json.dumps(message)
        for ws in list(self.members):
            d = ws.send(data)
            if d.called:
                d.addErrback(lambda failure: None)
                continue
            # The client is not keeping up: count what waits for it.
            self.members[ws] += 1
            d.addBoth(self._sent, ws)
            if self.members[ws] > self.maxPending:
                del self.members[ws]
                ws.close(CloseCode.POLICY_VIOLATION, "too slow")

    def _sent(self, result, ws):
        if ws in self.members:
            self.members[ws] -= 1

    async def join(self, handshake):
        """
        The handler of the room's WebSocket: one call per member.
        """
        ws = handshake.accept()
        self.members[ws] = 0
        self.broadcast({"kind": "note", "text": f"{len(self.members)} here"})
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                    name = str(message["name"])[:32] or "guest"
                    text = str(message["text"])
                except (ValueError, KeyError, TypeError):
                    await ws.close(CloseCode.UNSUPPORTED_DATA, "expected JSON {name, text}")
                    break
                self.broadcast({"kind": "say", "name": name, "text": text})
        finally:
            self.members.pop(ws, None)
            self.broadcast({"kind": "note", "text": f"someone left; {len(self.members)} here"})


class ChatRoot(resource.Resource):
    """
    The page at C{/} and the room's WebSocket at C{/ws}.
    """

    addSlash = True

    def __init__(self):
        self.room = Room()
        self.putChild("ws", WebSocketResource(
            self.room.join, origins=sameOrigin, maxMessageSize=4096))

    def render(self, request):
        return http.Response(
            200, {"content-type": MimeType("text", "html", {"charset": "utf-8"})}, PAGE)
