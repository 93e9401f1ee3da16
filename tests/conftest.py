"""
Test configuration of the cross-package tests.

  - The helper modules beside the tests (C{_hostile.py}) are importable
    (pytest runs with C{--import-mode=importlib}, which does not do that).
  - Tests marked C{long} (the hostile-client suite's minute-long attacks
    with the issue's strict bounds) are deselected unless they are asked
    for: C{WEB2_LONG=1} in the environment (C{make test-hostile} sets it),
    or a C{-m} expression that names C{long}.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WEB2_LONG") == "1" or "long" in (config.getoption("markexpr") or ""):
        return
    kept, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("long") else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
