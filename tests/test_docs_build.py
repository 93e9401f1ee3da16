"""
The Sphinx documentation builds without a single warning, with autodoc
importing the installed web2 distributions (as C{make docs} does).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_docsBuildWithoutWarnings(tmp_path):
    """
    C{sphinx-build -W --keep-going} succeeds: every page, literalinclude
    and automodule resolves.
    """
    pytest.importorskip("sphinx", reason="needs Sphinx (docs/requirements.txt)")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q",
         "-b", "html", "-d", tmp_path / "doctrees", ROOT / "docs", tmp_path / "html"],
        capture_output=True, text=True, timeout=150,
    )
    assert result.returncode == 0, result.stderr
    for page in ["index", "tutorial", "traversal", "resource-apis",
                 "deployment", "plugins", "performance"]:
        assert (tmp_path / "html" / f"{page}.html").is_file()
    plugins = (tmp_path / "html" / "plugins.html").read_text()
    # The hook reference was generated from web2.hookspecs, not left empty.
    assert "web2_mount_kinds" in plugins
    assert "web2_wrap_root" in plugins
