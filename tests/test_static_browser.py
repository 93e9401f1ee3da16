"""
web2-static in a real browser: headless Chromium (Debian package
C{chromium}) loads pages from a web2 site on 127.0.0.1 and we read back the
DOM it built.

  - the directory listing shows every entry as a link, with hostile names
    shown as text, never as markup, and sorts when asked;
  - a page whose script and stylesheet are static files runs the script,
    which proves the Content-Type is right (the responses carry
    C{X-Content-Type-Options: nosniff}, so Chromium refuses a script served
    with a wrong type) and that a precompressed variant is decoded.

Skipped, with the reason, only when no Chromium is installed
(C{apt-get install chromium}; CI's C{.ci/run} installs it).
"""

from __future__ import annotations

import gzip
import os
import tempfile

import pytest
from _browser import BROWSER, dumpDOM, parse
from twisted.internet import defer, reactor, threads
from twisted.trial.unittest import TestCase

from web2 import server
from web2.channel import HTTPFactory
from web2.static import File

pytestmark = pytest.mark.slow

HOSTILE = "<img src=x onerror=alert(1)>.txt"

SCRIPT = b"""
document.getElementById("out").textContent = "script ran: " +
  getComputedStyle(document.body).getPropertyValue("--marker").trim();
"""


#: The browser's window: a phone's.
PHONE = "--window-size=390,844"


@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed "
                    "(Debian: apt-get install chromium)")
class BrowserTests(TestCase):
    timeout = 240

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        files = os.path.join(self.tmp, "files")
        os.makedirs(os.path.join(files, "subdir"))
        for name, size in [("small.txt", 10), ("large.bin", 50_000),
                           ("caf\u00e9.txt", 200), (HOSTILE, 30), (".secret", 5)]:
            with open(os.path.join(files, name), "wb") as f:
                f.write(b"x" * size)
        app = os.path.join(self.tmp, "app")
        os.mkdir(app)
        with open(os.path.join(app, "index.html"), "wb") as f:
            f.write(b'<!DOCTYPE html><html><head><link rel="stylesheet" href="app.css">'
                    b'</head><body><p id="out">script did not run</p>'
                    b'<script src="app.js"></script></body></html>')
        with open(os.path.join(app, "app.css"), "wb") as f:
            f.write(b"body { --marker: css-loaded; }")
        # The browser gets the gzip variant of the script (it accepts gzip
        # over plain HTTP); the identity file says something else.
        with open(os.path.join(app, "app.js"), "wb") as f:
            f.write(b'document.getElementById("out").textContent = "identity";')
        with open(os.path.join(app, "app.js.gz"), "wb") as f:
            f.write(gzip.compress(SCRIPT))
        root = File(self.tmp, listing=True)
        self.port = reactor.listenTCP(
            0, HTTPFactory(server.Site(root, accessLogging=False)), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.base = f"http://127.0.0.1:{self.port.getHost().port}"

    @defer.inlineCallbacks
    def test_listingShowsEntries(self):
        dom = yield threads.deferToThread(dumpDOM, self.base + "/files/", PHONE)
        page = parse(dom)
        links = {href: text for href, text in page.links}
        self.assertEqual(links.get("subdir/"), "subdir/")
        self.assertEqual(links.get("small.txt"), "small.txt")
        self.assertEqual(links.get("large.bin"), "large.bin")
        self.assertEqual(links.get("caf%C3%A9.txt"), "caf\u00e9.txt")
        self.assertEqual(links.get("../"), "../")
        hostile = [text for href, text in page.links if "onerror" in text]
        self.assertEqual(hostile, [HOSTILE], "the hostile name is shown as text")
        self.assertNotIn("img", page.tags, "a file name became markup")
        self.assertNotIn(".secret", dom)
        self.assertIn("48.8 KiB", dom)

    @defer.inlineCallbacks
    def test_listingSortsBySize(self):
        dom = yield threads.deferToThread(
            dumpDOM, self.base + "/files/?sort=size&order=desc", PHONE)
        names = [text for href, text in parse(dom).links
                 if href and not href.startswith("?") and href != "../"]
        self.assertEqual(names[0], "subdir/")
        self.assertEqual(names[1:3], ["large.bin", "caf\u00e9.txt"])
        self.assertEqual(names[-1], "small.txt")

    @defer.inlineCallbacks
    def test_staticPageRunsItsScript(self):
        dom = yield threads.deferToThread(dumpDOM, self.base + "/app/", PHONE)
        self.assertEqual(parse(dom).ids.get("out"), "script ran: css-loaded")
