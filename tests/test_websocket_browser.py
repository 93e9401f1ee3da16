"""
WebSocket in a real browser: headless Chromium (Debian package
C{chromium}) loads a page from a web2 site on 127.0.0.1 whose script opens
a WebSocket, sends text (with non-ASCII characters) and a binary message,
and writes the echoes into the page; we read back the DOM.

Chromium offers permessage-deflate, so the echo goes through the
compressed path both ways.  The page's load waits for an iframe that the
server answers only once the script has acknowledged both echoes over the
socket, so C{--dump-dom} (which prints the DOM at the load event) sees the
result.

Skipped only when no Chromium is installed (C{apt-get install chromium};
CI's C{.ci/run} installs it).
"""

from __future__ import annotations

import pytest

pytest.importorskip("wsproto")

from _browser import BROWSER, dumpDOM, parse  # noqa: E402
from twisted.internet import defer, reactor, threads  # noqa: E402
from twisted.trial.unittest import TestCase  # noqa: E402

from web2 import http, resource, server  # noqa: E402
from web2.channel import HTTPFactory  # noqa: E402
from web2.websocket import WebSocketResource  # noqa: E402

pytestmark = pytest.mark.slow

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<p id="text">no text echo</p><p id="binary">no binary echo</p><p id="ext">?</p>
<script>
const ws = new WebSocket("ws://" + location.host + "/ws");
ws.binaryType = "arraybuffer";
let got = 0;
ws.onopen = () => {
  document.getElementById("ext").textContent = "ext:" + ws.extensions;
  ws.send("h\\u00e9llo \\u2603 " + "z".repeat(5000));
  ws.send(new Uint8Array([0, 1, 2, 255]).buffer);
};
ws.onmessage = (e) => {
  if (typeof e.data === "string") {
    document.getElementById("text").textContent =
      "text:" + e.data.slice(0, 9) + ":" + e.data.length;
  } else {
    document.getElementById("binary").textContent =
      "binary:" + Array.from(new Uint8Array(e.data)).join(",");
  }
  if (++got === 2) ws.send("ack");
};
</script>
<iframe src="/done"></iframe>
</body></html>
"""


class Done(resource.Resource):
    """
    Answers once the page acknowledged its echoes (or after 60 seconds),
    holding the page's load event until then.
    """

    def __init__(self):
        self.acked = defer.Deferred()

    def render(self, request):
        d = defer.Deferred()
        self.acked.addCallback(lambda _: d.callback(None) if not d.called else None)
        call = reactor.callLater(60, lambda: d.callback(None) if not d.called else None)
        d.addCallback(lambda _: call.cancel() if call.active() else None)
        return d.addCallback(lambda _: http.Response(200, None, b"done"))


class Page(resource.Resource):
    def render(self, request):
        return http.Response(
            200, {"content-type": http.MimeType("text", "html", {"charset": "utf-8"})}, PAGE)


@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed "
                    "(Debian: apt-get install chromium)")
class BrowserWebSocketTests(TestCase):
    timeout = 240

    def setUp(self):
        self.done = Done()
        self.closeCodes = []

        async def echo(handshake):
            ws = handshake.accept()
            try:
                async for message in ws:
                    if message == "ack":
                        self.done.acked.callback(None)
                        continue
                    await ws.send(message)
            finally:
                self.closeCodes.append(ws.closeCode)

        root = Page()
        root.putChild("ws", WebSocketResource(echo))
        root.putChild("done", self.done)
        self.port = reactor.listenTCP(
            0, HTTPFactory(server.Site(root, accessLogging=False)), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.base = f"http://127.0.0.1:{self.port.getHost().port}"

    @defer.inlineCallbacks
    def test_echo(self):
        dom = yield threads.deferToThread(dumpDOM, self.base + "/")
        ids = parse(dom).ids
        self.assertEqual(ids.get("text"), "text:h\u00e9llo \u2603 z:5008")
        self.assertEqual(ids.get("binary"), "binary:0,1,2,255")
        self.assertIn("permessage-deflate", ids.get("ext", ""))
        self.assertTrue(self.done.acked.called)
