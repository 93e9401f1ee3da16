"""
Sphinx configuration of the web2 documentation.

Build with ``make docs`` (which installs Sphinx and every web2 distribution
into .venvs/docs, so autodoc can import them) or, by hand,
``sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "web2"
author = "web2 developers"
copyright = "web2 developers"

try:
    from web2._version import __version__ as release
except ImportError:  # building without web2 installed: autodoc pages will warn
    release = "unknown"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "epytext",
]

# The docstrings are epytext (see _ext/epytext.py); the default role
# renders `x` as code, as most readers expect.
default_role = "code"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
# Signatures show the names the user writes; types live in the prose.
autodoc_typehints = "none"

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []
html_theme = "alabaster"
html_static_path = []
html_title = f"web2 {release}"
html_theme_options = {
    "description": "An asynchronous, threadless HTTP/1.1 server on Twisted",
    "fixed_sidebar": True,
}
