"""
Headless Chromium for the tests that need a real browser (Debian package
C{chromium}; CI's C{.ci/run} installs it): load a page, read back the DOM
it built.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

#: The browser, or C{None} when none is installed (the tests then skip).
BROWSER = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
     if shutil.which(name)),
    None,
)

#: What keeps a headless run quiet and self-contained: no GPU, no sandbox
#: (tests may run as root), nothing fetched from the network on its own.
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--no-first-run", "--disable-extensions",
          "--disable-dev-shm-usage")


def dumpDOM(url: str, *flags: str, timeout=90) -> str:
    """
    Load C{url} in headless Chromium, with a fresh profile, and return the
    serialized DOM at the load event.

    @param flags: more command-line flags (a window size,
        C{--ignore-certificate-errors}, C{--virtual-time-budget=MS}).
    @raise AssertionError: with the browser's status and output, if it
        printed no DOM.
    """
    profile = tempfile.mkdtemp(prefix="web2-chromium-")
    try:
        result = subprocess.run(
            [BROWSER, *_FLAGS, *flags, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True, timeout=timeout, check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = result.stdout.decode("utf-8", "replace")
    if not dom.strip():
        raise AssertionError(
            f"chromium printed no DOM (exit {result.returncode}): "
            f"{result.stderr.decode('utf-8', 'replace')[-2000:]}")
    return dom


class _DOM(HTMLParser):
    """
    Collects the links (href and text), every element name, and the text
    of each element with an id.
    """

    def __init__(self):
        super().__init__()
        self.links = []
        self.tags = []
        self.ids = {}
        self._href = None
        self._id = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "a":
            self._href = attrs.get("href")
            self.links.append([self._href, ""])
        self._id = attrs.get("id")

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None

    def handle_data(self, data):
        if self._href is not None:
            self.links[-1][1] += data
        if self._id:
            self.ids[self._id] = self.ids.get(self._id, "") + data


def parse(dom: str) -> _DOM:
    """
    The links, elements and texts by id of C{dom} (see L{_DOM}).
    """
    parser = _DOM()
    parser.feed(dom)
    return parser
