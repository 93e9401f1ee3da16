"""
The litmus WebDAV test suite (Debian package C{litmus}) against a real
web2 DAV server on 127.0.0.1, with the real reactor and thread pool.

Every suite must pass with no failure and no warning: basic, copymove,
props, locks and http.  The expected test counts pin the litmus version
(0.13): a different count means the suite changed and needs a look.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from twisted.internet import utils
from twisted.trial.unittest import SkipTest, TestCase

from web2 import server
from web2.dav import DAVFile
from web2.resource import Resource
from web2.testing import LiveServer

_SUMMARY = re.compile(
    r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed"
)

EXPECTED = {"basic": 16, "copymove": 13, "props": 30, "locks": 41, "http": 4}


def parseSummary(output: str) -> dict:
    """
    C{{suite: (run, passed, failed)}} from litmus's output.
    """
    return {
        m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
        for m in _SUMMARY.finditer(output)
    }


def test_parseSummary():
    sample = ("<- summary for `basic': of 16 tests run: 15 passed, 1 failed. 93.8%\n"
              "<- summary for `locks': of 41 tests run: 41 passed, 0 failed. 100.0%\n")
    assert parseSummary(sample) == {"basic": (16, 15, 1), "locks": (41, 41, 0)}


class LitmusTests(TestCase):
    timeout = 180

    def setUp(self):
        self.litmus = shutil.which("litmus")
        if self.litmus is None:
            raise SkipTest("litmus is not installed (Debian package litmus)")
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.store = os.path.join(self.tmp, "store")
        os.mkdir(self.store)
        root = Resource()
        root.putChild("dav", DAVFile(self.store))
        # LiveServer.stop also closes the connections litmus leaves behind
        # (its exit may be seen before their ends are, on a loaded machine).
        self.server = LiveServer(site=server.Site(root, accessLogging=False))
        self.addCleanup(self.server.stop)

    async def test_litmus(self):
        url = f"http://127.0.0.1:{self.server.portNumber}/dav/"
        timeout = shutil.which("timeout")
        command, args = (timeout, ["150", self.litmus, "-k", url]) if timeout else (
            self.litmus, ["-k", url])
        out, err, code = await utils.getProcessOutputAndValue(
            command, args, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, path=self.tmp,
        )
        output = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
        summary = parseSummary(output)
        results = {suite: summary.get(suite) for suite in EXPECTED}
        expected = {suite: (count, count, 0) for suite, count in EXPECTED.items()}
        self.assertEqual(results, expected, output[-4000:])
        self.assertNotIn("WARNING", output, output[-4000:])
        self.assertEqual(code, 0, output[-2000:])
