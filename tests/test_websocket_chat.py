"""
The chat example (examples/chat/chat.py) started for real with
C{python -m web2 --mount /=class:chat.ChatRoot}: its page, and three
clients of the C{websockets} library in the room.
"""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("wsproto")
websockets = pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages/web2-core/tests"))
from _launch_helpers import Server, assertStoppedCleanly, fetch, pythonWeb2  # noqa: E402

CHAT = ROOT / "examples" / "chat"


def _recvKind(c, kind):
    while True:
        message = json.loads(c.recv(timeout=20))
        if message["kind"] == kind:
            return message


def test_chat(tmp_path):
    server = Server(
        pythonWeb2("--mount", "/=class:chat.ChatRoot",
                   "--listen", "tcp:0:interface=127.0.0.1", "--access-log", "off"),
        cwd=CHAT)
    with server:
        port = server.port
        status, headers, body = fetch(port, "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"new WebSocket(" in body
        url = f"ws://127.0.0.1:{port}/ws"
        origin = f"http://127.0.0.1:{port}"
        with connect(url, origin=origin) as alice, connect(url, origin=origin) as bob:
            alice.send(json.dumps({"name": "alice", "text": "<b>hi</b> bob"}))
            for c in (alice, bob):
                said = _recvKind(c, "say")
                assert said == {"kind": "say", "name": "alice", "text": "<b>hi</b> bob"}
            # Over the room's 4 KiB limit: 1009 for the sender only.
            bob.send(json.dumps({"name": "bob", "text": "x" * 5000}))
            with pytest.raises(websockets.exceptions.ConnectionClosedError) as caught:
                bob.recv(timeout=20)
            assert caught.value.rcvd.code == 1009
            assert "left" in _recvKind(alice, "note")["text"]
            # Not JSON: 1003.
            alice.send("plain text")
            with pytest.raises(websockets.exceptions.ConnectionClosed) as caught:
                while True:
                    alice.recv(timeout=20)
            assert caught.value.rcvd.code == 1003
        # A page of another site cannot join (cross-site WebSocket hijacking).
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            connect(url, origin="https://evil.example")
        assert refused.value.response.status_code == 403
        # A graceful stop closes the members' connections with 1001.
        with connect(url, origin=origin) as carol:
            _recvKind(carol, "note")
            result = server.stop()
            with pytest.raises(websockets.exceptions.ConnectionClosedOK) as caught:
                while True:
                    carol.recv(timeout=20)
            assert caught.value.rcvd.code == 1001
    assertStoppedCleanly(result)
