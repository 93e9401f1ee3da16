"""
Test configuration of web2-core: make the helper modules beside the tests
importable (pytest runs with --import-mode=importlib, which does not).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import gc  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def noCollector():
    """
    The cyclic garbage collector off for the test: what reference counting
    does not free stays, so that a test of what a connection leaves behind
    sees it.
    """
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if enabled:
        gc.enable()
