"""
Protocol cases in the manner of the Autobahn test suite, run locally
against L{web2.websocket}'s echo over the real channel (StringTransport):
framing at the length boundaries, pings and pongs, reserved bits and
opcodes, fragmentation with interleaved control frames, UTF-8 (valid and
invalid, split across fragments at every byte), and the close handshake
with every kind of close code and reason.  Each case sends raw frames and
reads what the server answers (an echo, a pong, or a Close with its code).
"""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("wsproto")

from test_websocket import Harness, _frame, echo  # noqa: E402
from twisted.trial.unittest import SynchronousTestCase  # noqa: E402
from wsproto.events import BytesMessage, CloseConnection, Pong, TextMessage  # noqa: E402

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def run(*frames):
    """
    Open a connection to an echo, send C{frames}, return what came back
    (wsproto events) and whether the server closed the TCP connection.
    """
    h = Harness(echo([]))
    h.upgrade()
    h.conn.send(b"".join(frames))
    return h.events(), h.transport.disconnecting


def closeFrame(code=None, reason=b""):
    return _frame(CLOSE, b"" if code is None else struct.pack("!H", code) + reason)


class CaseTests(SynchronousTestCase):
    def assertClosedWith(self, frames, code):
        events, closed = run(*frames)
        closes = [e.code for e in events if isinstance(e, CloseConnection)]
        self.assertEqual(closes, [code], events)
        self.assertTrue(closed)
        return events

    # 1.x framing

    def test_lengthBoundaries(self):
        for n in (0, 1, 125, 126, 127, 128, 65535, 65536, 100_000):
            events, _ = run(_frame(TEXT, b"*" * n), _frame(BINARY, b"\xfe" * n))
            self.assertEqual([(type(e), len(e.data)) for e in events],
                             [(TextMessage, n), (BytesMessage, n)], n)

    def test_frameInPieces(self):
        """
        A frame that arrives a byte at a time is echoed whole.
        """
        h = Harness(echo([]))
        h.upgrade()
        for byte in _frame(TEXT, "héllo".encode() * 50):
            h.conn.send(bytes([byte]))
        self.assertEqual([e.data for e in h.events()], ["héllo" * 50])

    # 2.x pings and pongs

    def test_pings(self):
        events, _ = run(_frame(PING, b""), _frame(PING, b"x" * 125), _frame(PING, b"\xff\x00"))
        self.assertEqual(events, [Pong(payload=b""), Pong(payload=b"x" * 125),
                                  Pong(payload=b"\xff\x00")])

    def test_unsolicitedPongIgnored(self):
        events, closed = run(_frame(PONG, b"unasked"), _frame(TEXT, b"after"))
        self.assertEqual([e.data for e in events], ["after"])
        self.assertFalse(closed)

    def test_pingTooLong(self):
        self.assertClosedWith([_frame(PING, b"x" * 126)], 1002)

    def test_manyPings(self):
        events, _ = run(*[_frame(PING, str(i).encode()) for i in range(10)])
        self.assertEqual([e.payload for e in events], [str(i).encode() for i in range(10)])

    # 3.x reserved bits, 4.x opcodes

    def test_reservedBits(self):
        for bits in (0x40, 0x20, 0x10, 0x70):
            frame = bytearray(_frame(TEXT, b"x"))
            frame[0] |= bits
            self.assertClosedWith([bytes(frame)], 1002)

    def test_reservedOpcodes(self):
        for opcode in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
            self.assertClosedWith([_frame(opcode, b"")], 1002)

    def test_echoBeforeAReservedOpcode(self):
        events = self.assertClosedWith([_frame(TEXT, b"first"), _frame(5, b"")], 1002)
        self.assertEqual(events[0].data, "first")

    # 5.x fragmentation

    def test_fragments(self):
        for count in (2, 3, 10):
            payload = b"0123456789" * count
            pieces = [payload[i * 10:(i + 1) * 10] for i in range(count)]
            frames = [_frame(TEXT if i == 0 else CONT, p, fin=i == count - 1)
                      for i, p in enumerate(pieces)]
            events, _ = run(*frames)
            self.assertEqual([e.data for e in events], [payload.decode()])

    def test_emptyFragments(self):
        events, _ = run(_frame(TEXT, b"", fin=False), _frame(CONT, b"", fin=False),
                        _frame(CONT, b"", fin=True))
        self.assertEqual([e.data for e in events], [""])

    def test_controlFramesBetweenFragments(self):
        events, _ = run(_frame(TEXT, b"frag", fin=False), _frame(PING, b"a"),
                        _frame(PONG, b"b"), _frame(CONT, b"ments", fin=True))
        self.assertEqual(events, [Pong(payload=b"a"), TextMessage(data="fragments")])

    def test_continuationWithoutStart(self):
        self.assertClosedWith([_frame(CONT, b"x", fin=True)], 1002)

    def test_newMessageInsideFragments(self):
        self.assertClosedWith([_frame(TEXT, b"a", fin=False), _frame(TEXT, b"b")], 1002)

    def test_fragmentedControl(self):
        self.assertClosedWith([_frame(PING, b"a", fin=False), _frame(CONT, b"b")], 1002)

    def test_closeBetweenFragments(self):
        events, closed = run(_frame(TEXT, b"part", fin=False), closeFrame(1000))
        self.assertEqual([e.code for e in events], [1000])
        self.assertTrue(closed)

    # 6.x UTF-8

    def test_validUTF8SplitEverywhere(self):
        raw = "κόσμε \U0001F600 €".encode()
        for cut in range(1, len(raw)):
            events, _ = run(_frame(TEXT, raw[:cut], fin=False), _frame(CONT, raw[cut:]))
            self.assertEqual([e.data for e in events], [raw.decode()], cut)

    def test_validUTF8InManyFragments(self):
        raw = "κόσμε \U0001F600".encode()
        frames = [_frame(TEXT if i == 0 else CONT, raw[i:i + 1], fin=i == len(raw) - 1)
                  for i in range(len(raw))]
        events, _ = run(*frames)
        self.assertEqual([e.data for e in events], [raw.decode()])

    def test_invalidUTF8(self):
        for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                    b"\x80", b"\xe0\x80\x80"):
            self.assertClosedWith([_frame(TEXT, bad)], 1007)

    def test_invalidUTF8FailsFast(self):
        """
        Invalid UTF-8 in a first fragment closes at once, without waiting
        for the rest of the message.
        """
        self.assertClosedWith([_frame(TEXT, b"ok \xf4\x90\x80\x80", fin=False)], 1007)

    def test_truncatedUTF8AtTheEnd(self):
        self.assertClosedWith(
            [_frame(TEXT, "€".encode()[:2], fin=False), _frame(CONT, b"", fin=True)], 1007)

    # 7.x close

    def test_closeWithoutCode(self):
        events, closed = run(closeFrame())
        self.assertEqual(len(events), 1)
        self.assertIsInstance(events[0], CloseConnection)
        self.assertTrue(closed)

    def test_closeCodesEchoed(self):
        for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999,
                     4000, 4999):
            events, closed = run(closeFrame(code, b"why"))
            self.assertEqual([(e.code, e.reason) for e in events], [(code, "why")], code)
            self.assertTrue(closed)

    def test_invalidCloseCodes(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
            self.assertClosedWith([closeFrame(code)], 1002)

    def test_closeOneBytePayload(self):
        self.assertClosedWith([_frame(CLOSE, b"\x03")], 1002)

    def test_closeReasonInvalidUTF8(self):
        self.assertClosedWith([closeFrame(1000, b"\xff\xfe")], 1007)

    def test_closeLongestReason(self):
        events, _ = run(closeFrame(1000, b"r" * 123))
        self.assertEqual([e.reason for e in events], ["r" * 123])

    def test_nothingAfterClose(self):
        """
        Frames after the client's Close are not answered.
        """
        events, _ = run(closeFrame(1000), _frame(TEXT, b"late"), _frame(PING, b"late"))
        self.assertEqual([type(e) for e in events], [CloseConnection])
