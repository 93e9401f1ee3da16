"""
Test configuration of the cross-package tests.

  - The helper modules beside the tests (C{_hostile.py}) are importable
    (pytest runs with C{--import-mode=importlib}, which does not do that).
  - Tests marked C{long} (the hostile-client suite's minute-long attacks
    with the issue's strict bounds) are deselected unless they are asked
    for: C{WEB2_LONG=1} in the environment (C{make test-hostile} sets it),
    or a C{-m} expression that names C{long}; they may take
    L{LONG_TIMEOUT} seconds each.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


#: The per-test timeout of a long case (the root pyproject.toml gives every
#: test 120 s): a minute of attack, and a server that may be slow to start
#: and to stop on a loaded machine.
LONG_TIMEOUT = 300


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("long") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(LONG_TIMEOUT))
    if os.environ.get("WEB2_LONG") == "1" or "long" in (config.getoption("markexpr") or ""):
        return
    kept, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("long") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
